"""Choosing how to transfer: scorers from estimators, and TransferSelector."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from skorch.callbacks import Callback

from sktransfer import (
    FeatureTransferTransformer,
    Source,
    TransferClassifier,
    TransferSelector,
)
from sktransfer.adaptation import DeepCORAL
from sktransfer.metrics import (
    DeepEmbeddedValidation,
    ImportanceWeightedAccuracy,
    ReverseValidation,
    TransferabilityScorer,
    ensemble_agreement,
    h_score_scorer,
    leep_scorer,
    log_me,
    log_me_scorer,
    nce_scorer,
    soft_neighborhood_density_score,
)
from sktransfer.metrics._scorers import fixed_representation, head_input, layer_output
from sktransfer.selection._selector import guarded_pick


def blobs(n=200, seed=0, shift=1.0):
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(3, size=n), rng.randint(3, size=n)
    Xs, Xt = rng.normal(size=(n, 6)), rng.normal(size=(n, 6))
    Xs[:, :3] += 3.0 * np.eye(3)[ys]
    Xt[:, :3] += 3.0 * np.eye(3)[yt]
    Xt[:, 3:] += shift
    return Xs.astype(np.float32), ys, Xt.astype(np.float32), yt


@pytest.fixture(scope="module")
def source():
    Xs, ys, _, _ = blobs()
    return TransferClassifier(max_epochs=10, random_state=0).fit(Xs, ys)


def test_fixed_representation_follows_the_frozen_blocks(source):
    _, _, Xt, yt = blobs()
    free = TransferClassifier(source=source, max_epochs=0).fit(Xt, yt)
    np.testing.assert_array_equal(fixed_representation(free, Xt), Xt)
    frozen = TransferClassifier(source=source, freeze_depth=1, max_epochs=0).fit(Xt, yt)
    hidden = fixed_representation(frozen, Xt)
    assert hidden.shape == (len(Xt), 100)  # the output of the first Linear
    pipe = make_pipeline(
        FeatureTransferTransformer(source, layer=0), LogisticRegression()
    )
    assert fixed_representation(pipe.fit(Xt, yt), Xt).shape == (len(Xt), 100)


def test_head_input_is_the_penultimate_block_whatever_is_frozen(source):
    _, _, Xt, yt = blobs()
    penultimate = layer_output(source.module_, Xt, len(source.blocks_) - 2)
    for depth in (0, 1):
        clf = TransferClassifier(source=source, freeze_depth=depth, max_epochs=0)
        np.testing.assert_allclose(head_input(clf.fit(Xt, yt), Xt), penultimate)
    # So the default scorer gives every freeze depth one score; the
    # "frozen_features" scorer tells them apart.
    frozen_scorer = TransferabilityScorer(log_me, uses="frozen_features")
    scores = {
        depth: (
            log_me_scorer(clf, Xt, yt),
            frozen_scorer(clf, Xt, yt),
        )
        for depth in (0, 1)
        for clf in [
            TransferClassifier(source=source, freeze_depth=depth, max_epochs=0).fit(
                Xt, yt
            )
        ]
    }
    assert scores[0][0] == scores[1][0]
    assert scores[0][1] != scores[1][1]
    assert scores[0][1] == log_me(Xt, yt)  # nothing frozen: the input itself
    assert repr(frozen_scorer) == "log_me_scorer(uses='frozen_features')"
    with pytest.raises(ValueError, match="uses must be one of"):
        TransferabilityScorer(log_me, uses="logits")


def test_transferability_scorers_rank_layers_in_a_grid_search(source):
    _, _, Xt, yt = blobs()
    for scorer in (log_me_scorer, h_score_scorer):
        search = GridSearchCV(
            FeatureTransferTransformer(source), {"layer": [0, 1]}, scoring=scorer, cv=2
        ).fit(Xt, yt)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    clf = TransferClassifier(source=source, max_epochs=0).fit(Xt, yt)
    assert leep_scorer(clf, Xt, yt) <= 0 and nce_scorer(clf, Xt, yt) <= 0
    with pytest.raises(ValueError, match="needs target labels"):
        log_me_scorer(clf, Xt)


def test_informative_representation_scores_higher(source):
    _, _, Xt, yt = blobs()
    good = FeatureTransferTransformer(source, layer=0).fit(Xt)
    rng = np.random.RandomState(1)
    noise = rng.normal(size=Xt.shape).astype(np.float32)
    assert log_me_scorer(good, Xt, yt) > log_me_scorer(good, noise, yt)


def test_source_validation_scorers_on_an_adapted_model():
    Xs, ys, Xt, _ = blobs(n=300)
    train, held = slice(0, 240), slice(240, 300)
    clf = TransferClassifier(
        source=Source(X=Xs[train], y=ys[train]),
        adaptation=DeepCORAL(),
        max_epochs=3,
        random_state=0,
    ).fit(Xt, np.full(len(Xt), -1))
    for scorer in (
        DeepEmbeddedValidation,
        ImportanceWeightedAccuracy,
        ReverseValidation,
    ):
        score = scorer(Xs[held], ys[held])(clf, Xt)
        assert np.isfinite(score)
    iwa = ImportanceWeightedAccuracy(Xs[held], ys[held])(clf, Xt)
    assert 0.5 < iwa <= 1.0
    assert np.isfinite(soft_neighborhood_density_score(clf, Xt))


def test_selector_with_labels_ranks_then_trains_the_top_few(source):
    _, _, Xt, yt = blobs()
    candidates = [
        (f"freeze {k}", TransferClassifier(source=source, freeze_depth=k, max_epochs=5))
        for k in (0, 1)
    ] + [
        (
            "features + LR",
            make_pipeline(
                FeatureTransferTransformer(source, layer=0), LogisticRegression()
            ),
        )
    ]
    selector = TransferSelector(candidates, top_k=2, random_state=0).fit(
        Xt[:90], yt[:90]
    )
    report = selector.report_
    assert list(report["candidate"]) == [name for name, _ in candidates]
    assert report["trained"].sum() == 2  # only the top two were trained
    assert report["selected"].sum() == 1
    assert selector.best_name_ == report.loc[report["selected"], "candidate"].item()
    assert "log_me" in selector.decided_by_
    assert selector.score(Xt[90:], yt[90:]) > 0.8
    np.testing.assert_array_equal(selector.classes_, [0, 1, 2])


def test_selector_breaks_ties_by_fewer_trainable_parameters(source):
    _, _, Xt, yt = blobs()
    candidates = [
        (f"freeze {k}", TransferClassifier(source=source, freeze_depth=k, max_epochs=3))
        for k in (0, 1)
    ]
    selector = TransferSelector(candidates, top_k=1, random_state=0).fit(
        Xt[:90], yt[:90]
    )
    report = selector.report_.set_index("candidate")
    assert report["transferability"].nunique() == 1  # one source: one score
    counts = report["trainable_parameters"]
    assert counts["freeze 0"] > counts["freeze 1"] > 0
    assert selector.best_name_ == "freeze 1"  # the tie goes to the fewest
    assert report["trained"].sum() == 0  # top_k=1: no validation fit, one refit
    assert "top_k=1" in selector.decided_by_


def test_selector_without_labels_trains_all_and_can_keep_the_source():
    Xs, ys, Xt, yt = blobs(shift=0.5)
    source = Source(X=Xs, y=ys)
    common = dict(source=source, max_epochs=3, random_state=0)
    candidates = [
        ("source only", TransferClassifier(**{**common, "max_epochs": 0})),
        ("CORAL", TransferClassifier(adaptation=DeepCORAL(), **common)),
    ]
    selector = TransferSelector(candidates).fit(Xt, np.full(len(Xt), -1))
    assert selector.report_["trained"].all()
    assert np.isfinite(selector.report_["label_free_score"]).all()
    assert "soft_neighborhood_density" in selector.decided_by_
    assert selector.predict(Xt).shape == (len(Xt),)


def test_selector_without_labels_by_ensemble_agreement():
    Xs, ys, Xt, yt = blobs(shift=0.5)
    source = Source(X=Xs, y=ys)
    common = dict(source=source, max_epochs=3, random_state=0)
    candidates = [
        ("source only", TransferClassifier(**{**common, "max_epochs": 0})),
        ("joint", TransferClassifier(**common)),
        ("CORAL", TransferClassifier(adaptation=DeepCORAL(), **common)),
    ]
    selector = TransferSelector(candidates, label_free_scoring="ensemble")
    selector.fit(Xt, np.full(len(Xt), -1))
    fitted = [clone(c).fit(Xt, np.full(len(Xt), -1)) for _, c in candidates]
    expected = ensemble_agreement([f.predict_proba(Xt) for f in fitted])
    np.testing.assert_allclose(selector.report_["label_free_score"], expected)
    assert selector.best_name_ == candidates[int(np.argmax(expected))][0]
    assert "EnsV" in selector.decided_by_
    with pytest.raises(TypeError, match="needs predict_proba"):
        TransferSelector(
            [("svm", LinearSVC()), ("lr", LogisticRegression())],
            label_free_scoring="ensemble",
        ).fit(Xt, np.full(len(Xt), -1))
    with pytest.raises(ValueError, match="label_free_scoring must be"):
        TransferSelector(candidates, label_free_scoring="SND").fit(Xt, yt)


def test_guarded_pick_keeps_the_baseline_when_the_pick_disagrees_more():
    agreement = {"source only": 0.90, "IM": 0.85, "MMD": 0.95}
    assert guarded_pick("MMD", agreement, "source only")[0] == "MMD"
    name, why = guarded_pick("IM", agreement, "source only", "IM score")
    assert name == "source only"
    assert "IM score picked 'IM'" in why and "0.850 < 0.900" in why
    assert guarded_pick("source only", agreement, "source only")[0] == "source only"


def test_selector_baseline_guards_a_fooled_score():
    Xs, ys, Xt, _ = blobs(shift=0.5)
    source = Source(X=Xs, y=ys)
    wrong = Source(X=Xs, y=(ys + 1) % 3)  # learns the wrong names for the classes
    common = dict(max_epochs=3, random_state=0)
    candidates = [
        (
            "source only",
            TransferClassifier(source=source, **{**common, "max_epochs": 0}),
        ),
        ("joint", TransferClassifier(source=source, **common)),
        ("CORAL", TransferClassifier(source=source, adaptation=DeepCORAL(), **common)),
        ("wrong", TransferClassifier(source=wrong, **common)),
    ]

    def fooled(estimator, X, y=None):  # prefers the wrong candidate
        return float(estimator.source is wrong)

    unlabelled = np.full(len(Xt), -1)
    plain = TransferSelector(candidates, label_free_scoring=fooled).fit(Xt, unlabelled)
    assert plain.best_name_ == "wrong"
    guarded = TransferSelector(
        candidates, label_free_scoring=fooled, baseline="source only"
    ).fit(Xt, unlabelled)
    assert guarded.best_name_ == "source only"
    assert "the baseline is kept" in guarded.decided_by_
    report = guarded.report_.set_index("candidate")
    assert report.loc["wrong", "ensemble_agreement"] < 0.5
    assert report.loc["source only", "ensemble_agreement"] > 0.7

    # A pick the ensemble backs stands.
    def likes_joint(estimator, X, y=None):
        return float(estimator.max_epochs == 3 and estimator.adaptation is None
                     and estimator.source is source)  # fmt: skip

    backed = TransferSelector(
        candidates, label_free_scoring=likes_joint, baseline="source only"
    ).fit(Xt, unlabelled)
    assert backed.best_name_ == "joint"
    with pytest.raises(ValueError, match="baseline='none' is not a candidate"):
        TransferSelector(candidates, baseline="none").fit(Xt, unlabelled)


def test_selector_errors():
    _, _, Xt, yt = blobs()
    with pytest.raises(ValueError, match="candidates"):
        TransferSelector([]).fit(Xt, yt)
    with pytest.raises(TypeError, match="not an estimator"):
        TransferSelector([("x", 3)]).fit(Xt, yt)
    with pytest.raises(ValueError, match="unique"):
        TransferSelector(
            [("a", TransferClassifier()), ("a", TransferClassifier())]
        ).fit(Xt, yt)
    with pytest.raises(ValueError, match="top_k"):
        TransferSelector([TransferClassifier()], top_k=0).fit(Xt, yt)


def test_selector_refuses_labels_coded_plus_minus_one():
    # The ±1 trap: the selector read the -1 rows as unlabelled and ranked by
    # a label-free score while its candidates (no source data) learnt -1 as
    # a class (issue 26). The check TransferClassifier applies to Source.y.
    _, _, Xt, yt = blobs(n=80)
    y = np.where(yt == 0, -1, 1)
    candidates = [TransferClassifier(max_epochs=1), TransferClassifier(max_epochs=2)]
    with pytest.raises(ValueError, match=r"contains -1, which marks unlabelled.*"
                       r"unlabelled=None"):  # fmt: skip
        TransferSelector(candidates).fit(Xt, y)
    selector = TransferSelector(candidates, unlabelled=None, random_state=0)
    np.testing.assert_array_equal(selector.fit(Xt, y).classes_, [-1, 1])
    assert "log_me" in selector.decided_by_  # ranked with the labels
    # Semi-supervised y, but a candidate that reads -1 as a class.
    y = yt.copy()
    y[:20] = -1
    with pytest.raises(ValueError, match=r"candidate 'lr'.*contains -1"):
        TransferSelector([("lr", LogisticRegression())]).fit(Xt, y)


def test_selector_trains_and_compares_a_plain_classifier(source):
    _, _, Xt, yt = blobs()
    candidates = [
        ("lr", LogisticRegression()),
        ("net", TransferClassifier(source=source, max_epochs=2)),
    ]
    selector = TransferSelector(candidates, top_k=1, random_state=0)
    selector.fit(Xt[:90], yt[:90])
    report = selector.report_.set_index("candidate")
    assert np.isnan(report.loc["lr", "transferability"])  # nothing to rank
    assert np.isfinite(report.loc["net", "transferability"])
    assert report["trained"].all()  # the top one, and the one not ranked
    assert np.isfinite(report["validation_accuracy"]).all()
    assert "could not be ranked" in selector.decided_by_
    assert selector.predict(Xt[90:]).shape == (len(Xt) - 90,)
    alone = TransferSelector([("lr", LogisticRegression())]).fit(Xt[:90], yt[:90])
    assert alone.best_name_ == "lr"


class _Interrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise KeyboardInterrupt


def test_an_interrupted_selector_fit_leaves_nothing_fitted():
    _, _, Xt, yt = blobs(n=60)
    interrupted = TransferClassifier(max_epochs=2, callbacks=[_Interrupt()])
    selector = TransferSelector([interrupted, clone(interrupted)], top_k=1)
    with pytest.raises(KeyboardInterrupt):
        selector.fit(Xt, yt)  # in the refit of the best-ranked candidate
    assert [k for k in vars(selector) if k.endswith("_")] == []
    with pytest.raises(NotFittedError):
        selector.predict(Xt)


def test_reverse_validation_with_held_out_rows_missing_a_class():
    Xs, ys, Xt, _ = blobs(n=300)
    clf = TransferClassifier(
        source=Source(X=Xs[:240], y=ys[:240]), max_epochs=2, random_state=0
    ).fit(Xt, np.full(len(Xt), -1))
    held = np.flatnonzero(ys[240:] != 2) + 240  # no row of class 2 held out
    assert np.isfinite(ReverseValidation(Xs[held], ys[held])(clf, Xt))
