"""PreprocessingEnsemble: the Office-Caltech10 recipe as an estimator (#29 item 7)."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import estimator_checks

from sktransfer import (
    CORAL,
    PreprocessingEnsemble,
    SelectivePseudoLabeling,
    Source,
    load_office_caltech10,
)


def _counts(seed=0, n_source=200, n_target=150, shift=1):
    """Bag-of-words-like counts: class 1 raises the rate of the first 5
    words; the target adds ``shift`` to every rate."""
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(0, 2, n_source), rng.randint(0, 2, n_target)
    words = np.arange(20) < 5
    Xs = rng.poisson(1 + 3 * ys[:, None] * words, (n_source, 20)).astype(float)
    Xt = rng.poisson(1 + shift + 3 * yt[:, None] * words, (n_target, 20)).astype(float)
    return Xs, ys, Xt, yt


def test_the_members_come_from_source_labels_alone():
    Xs, ys, Xt, yt = _counts()
    ens = PreprocessingEnsemble(source=Source(X=Xs, y=ys)).fit(Xt)
    assert set(ens.source_scores_) == {
        "z-score", "counts", "histogram then z-score", "square root",
    }  # fmt: skip
    assert ens.members_ and set(ens.members_) <= set(ens.source_scores_)
    # Target labels given to fit change neither the scores nor the members.
    y = np.full(len(Xt), -1)
    y[:10] = yt[:10]
    labelled = PreprocessingEnsemble(source=Source(X=Xs, y=ys)).fit(Xt, y)
    assert labelled.source_scores_ == ens.source_scores_
    assert labelled.members_ == ens.members_
    assert ens.score(Xt, yt) > 0.8


def test_member_rules():
    Xs, ys, Xt, _ = _counts()
    source = Source(X=Xs, y=ys)
    fits = {rule: PreprocessingEnsemble(source=source, members=rule).fit(Xt)
            for rule in ("one_se", "best", "all")}  # fmt: skip
    scores = fits["all"].source_scores_
    assert fits["all"].members_ == list(scores)
    assert fits["best"].members_ == [max(scores, key=scores.get)]
    best = max(scores.values())
    se = np.sqrt(best * (1 - best) / len(Xs))
    assert fits["one_se"].members_ == [n for n, s in scores.items() if s >= best - se]


def test_predict_proba_is_the_mean_of_the_members():
    Xs, ys, Xt, _ = _counts()
    ens = PreprocessingEnsemble(source=Source(X=Xs, y=ys), members="all").fit(Xt)
    members = [
        ens.estimators_[n].predict_proba(ens.preprocessors_[n].transform(Xt))
        for n in ens.members_
    ]
    np.testing.assert_allclose(ens.predict_proba(Xt), np.mean(members, axis=0))
    np.testing.assert_array_equal(
        ens.predict(Xt), ens.classes_[ens.predict_proba(Xt).argmax(1)]
    )


def test_each_domain_is_preprocessed_with_its_own_statistics():
    Xs, ys, Xt, _ = _counts(shift=5)
    ens = PreprocessingEnsemble(
        source=Source(X=Xs, y=ys), preprocessings={"z": StandardScaler()}
    ).fit(Xt)
    np.testing.assert_allclose(ens.preprocessors_["z"].mean_, Xt.mean(axis=0))
    np.testing.assert_allclose(
        ens.estimators_["z"].source.X.mean(axis=0), 0, atol=1e-12
    )


def test_any_shallow_estimator_and_scorer():
    Xs, ys, Xt, yt = _counts()
    ens = PreprocessingEnsemble(
        CORAL(estimator=LogisticRegression()),
        {"z": StandardScaler(), "log": FunctionTransformer(np.log1p)},
        source=Source(X=Xs, y=ys), source_scorer=LogisticRegression(), cv=3,
    ).fit(Xt)  # fmt: skip
    assert all(isinstance(m, CORAL) for m in ens.estimators_.values())
    assert ens.score(Xt, yt) > 0.8
    # The estimator given is a template: never fitted itself.
    assert not hasattr(ens.estimator, "n_features_in_")


def test_the_callers_arrays_are_not_changed_and_clone_keeps_the_source():
    Xs, ys, Xt, _ = _counts()
    copies = Xs.copy(), Xt.copy()
    ens = PreprocessingEnsemble(source=Source(X=Xs, y=ys))
    ens.fit(Xt)
    np.testing.assert_array_equal(Xs, copies[0])
    np.testing.assert_array_equal(Xt, copies[1])
    assert clone(ens).source is ens.source


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"source": None}, ValueError, "requires y to be passed"),
        ({"members": "top"}, ValueError, "members must be one of"),
        ({"cv": 1}, ValueError, "cv must be an int of at least 2"),
        ({"preprocessings": {}}, TypeError, "non-empty dict"),
        ({"preprocessings": {"x": 3}}, TypeError, r"preprocessings\['x'\] must be"),
        ({"estimator": LogisticRegression()}, TypeError, "has no source parameter"),
    ],
)
def test_bad_parameters_are_refused_clearly(kwargs, error, match):
    Xs, ys, Xt, _ = _counts()
    params = {"source": Source(X=Xs, y=ys), **kwargs}
    with pytest.raises(error, match=match):
        PreprocessingEnsemble(**params).fit(Xt)


def test_labelled_rows_without_a_source_are_refused():
    _, _, Xt, yt = _counts()
    with pytest.raises(ValueError, match="scores each preprocessing on the source"):
        PreprocessingEnsemble().fit(Xt, yt)


def test_predict_checks_the_width():
    Xs, ys, Xt, _ = _counts()
    ens = PreprocessingEnsemble(source=Source(X=Xs, y=ys), members="best").fit(Xt)
    with pytest.raises(ValueError, match="features"):
        ens.predict(Xt[:, :5])


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    ],
    ids=lambda check: check.__name__,
)
def test_sklearn_parameter_checks(check):
    # The data-dependent checks give no source rows, which every member
    # preprocessing is scored on (as for CORAL and SPL).
    check("PreprocessingEnsemble", PreprocessingEnsemble(SelectivePseudoLabeling()))


RESULTS = Path(__file__).parents[1] / "benchmarks" / "results" / "shallow.json"


@pytest.mark.slow
def test_it_reproduces_the_benchmarks_spl_ensemble():
    # benchmarks/shallow.py's primary ensemble row on webcam -> dslr, the
    # recipe written out there, now one estimator.
    try:
        Xs, ys, Xt, yt = (
            array
            for domain in ("webcam", "dslr")
            for array in load_office_caltech10(
                domain, download_if_missing=False, return_X_y=True
            )
        )
    except (FileNotFoundError, OSError) as error:
        pytest.skip(f"Office-Caltech10 SURF data not available: {error}")
    ens = PreprocessingEnsemble(source=Source(X=Xs, y=ys)).fit(Xt)
    recorded = json.loads(RESULTS.read_text())
    row = next(r for r in recorded["rows"] if r["setting"] == "webcam -> dslr"
               and r["method"] == "SPL ensemble (source CV within 1 SE)")  # fmt: skip
    assert ens.members_ == recorded["spl_ensemble_members"]["webcam"]
    assert 100 * ens.score(Xt, yt) == pytest.approx(row["mean"], abs=1e-9)
