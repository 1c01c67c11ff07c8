"""The one contract of the shallow methods: fit(X_target, y_target) with the
labelled source rows in source=Source(X=..., y=...)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransfer import (
    CORAL,
    SelectivePseudoLabeling,
    Source,
    TransferClassifier,
    TransferSelector,
)


def distorted(n=400, seed=0):
    """An isotropic source and a linearly distorted target, same labels."""
    rng = np.random.RandomState(seed)
    stretch = np.array([[3.0, 1.0], [1.0, 0.5]])
    Xs = rng.normal(size=(n, 2))
    ys = (Xs.sum(axis=1) > 0).astype(int)
    clean = rng.normal(size=(n, 2))
    yt = (clean.sum(axis=1) > 0).astype(int)
    return Xs, ys, clean @ stretch, yt


@parametrize_with_checks(
    [CORAL(), SelectivePseudoLabeling(pca_components=4, n_components=4, n_iter=2)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_coral_learns_the_legacy_map_from_the_target_side():
    Xs, ys, Xt, _ = distorted()
    new = CORAL(regularization=0.1, source=Source(X=Xs, y=ys)).fit(Xt)
    with pytest.warns(FutureWarning, match=r"CORAL\(X_target\) .* deprecated"):
        old = CORAL(Xt, regularization=0.1).fit(Xs)
    np.testing.assert_allclose(new.A_, old.A_)
    np.testing.assert_allclose(new.offset_, old.offset_)


def test_coral_unsupervised_beats_source_only():
    Xs, ys, Xt, yt = distorted()
    raw = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    coral = CORAL(regularization=1e-6, source=Source(X=Xs, y=ys))
    all_unlabelled = coral.fit(Xt, np.full(len(Xt), -1)).score(Xt, yt)
    assert all_unlabelled > raw + 0.02
    # y=None means the same: no target label.
    assert clone(coral).fit(Xt).score(Xt, yt) == all_unlabelled
    assert isinstance(coral.estimator_, LogisticRegression)
    np.testing.assert_array_equal(coral.classes_, [0, 1])


def test_coral_trains_on_the_labelled_target_rows_too():
    Xs, ys, Xt, yt = distorted()
    y = np.full(len(Xt), -1)
    y[:50] = yt[:50]
    coral = CORAL(source=Source(X=Xs, y=ys), estimator=KNeighborsClassifier(1))
    coral.fit(Xt, y)
    # 1-NN reproduces each training row's label: the labelled target rows
    # are in its training set, as they are (not re-coloured).
    np.testing.assert_array_equal(coral.predict(Xt[:50]), yt[:50])


def test_sample_weight_two_is_a_duplicated_row_and_zero_a_dropped_one():
    Xs, ys, Xt, yt = distorted(n=120)
    source = Source(X=Xs, y=ys)
    y = yt.copy()
    weights = np.ones(len(Xt))
    weights[:10], weights[10:20] = 2.0, 0.0
    weighted = CORAL(source=source).fit(Xt, y, sample_weight=weights)
    # Same map: CORAL's covariances take every target row, weighted or not;
    # the estimator sees the duplicated rows and not the dropped ones.
    rows = np.r_[np.arange(len(Xt)), np.arange(10)]
    rows = rows[(rows < 10) | (rows >= 20)]
    estimator = LogisticRegression().fit(
        np.vstack([Xs @ weighted.A_ + weighted.offset_, Xt[rows]]),
        np.r_[ys, y[rows]],
    )
    np.testing.assert_allclose(
        weighted.estimator_.coef_, estimator.coef_, rtol=1e-4, atol=1e-6
    )


def test_sample_weight_needs_an_estimator_that_takes_it():
    Xs, ys, Xt, yt = distorted(n=60)
    coral = CORAL(source=Source(X=Xs, y=ys), estimator=KNeighborsClassifier())
    with pytest.raises(ValueError, match="takes no sample_weight"):
        coral.fit(Xt, yt, sample_weight=np.r_[np.full(30, 2.0), np.ones(30)])
    with pytest.raises(ValueError, match="finite and non-negative"):
        clone(coral).fit(Xt, yt, sample_weight=-np.ones(60))


def test_the_source_survives_clone_and_search():
    Xs, ys, Xt, yt = distorted()
    source = Source(X=Xs, y=ys)
    coral = CORAL(source=source)
    assert clone(coral).source is source
    search = GridSearchCV(coral, {"regularization": [1e-3, 1.0]}, cv=3).fit(Xt, yt)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.source is source


def test_bad_sources_and_labels_are_refused():
    Xs, ys, Xt, yt = distorted(n=50)
    with pytest.raises(TypeError, match="sktransfer.Source"):
        CORAL(source=(Xs, ys)).fit(Xt)
    with pytest.raises(ValueError, match="learns from the source rows"):
        CORAL(source=Source(weights=object())).fit(Xt)
    with pytest.raises(ValueError, match="3 features but X"):
        CORAL(source=Source(X=np.c_[Xs, Xs[:, 0]], y=ys)).fit(Xt)
    with pytest.raises(ValueError, match="Source.y contains -1"):
        CORAL(source=Source(X=Xs, y=2 * ys - 1)).fit(Xt)
    with pytest.raises(TypeError, match="takes a classifier"):
        from sklearn.linear_model import Ridge

        CORAL(source=Source(X=Xs, y=ys), estimator=Ridge()).fit(Xt)


def test_the_caller_arrays_are_not_modified():
    Xs, ys, Xt, yt = distorted(n=80)
    copies = [a.copy() for a in (Xs, ys, Xt, yt)]
    CORAL(source=Source(X=Xs, y=ys), center=True).fit(Xt, yt)
    SelectivePseudoLabeling(source=Source(X=Xs, y=ys), n_iter=2).fit(Xt)
    for before, after in zip(copies, (Xs, ys, Xt, yt), strict=True):
        np.testing.assert_array_equal(before, after)


def test_selective_pseudo_labeling_under_the_one_contract():
    Xs, ys, Xt, yt = distorted()
    spl = SelectivePseudoLabeling(source=Source(X=Xs, y=ys), n_iter=3)
    new = spl.fit(Xt).predict(Xt)
    with pytest.warns(FutureWarning, match="deprecated"):
        old = SelectivePseudoLabeling(Xt, n_iter=3).fit(Xs, ys).predict(Xt)
    # Without target labels it is the same algorithm as before.
    np.testing.assert_array_equal(new, old)
    # Labelled target rows keep their labels as pseudo-labels.
    y = np.full(len(Xt), -1)
    y[:40] = 1 - yt[:40]  # deliberately wrong: they must still be kept
    fitted = clone(spl).fit(Xt, y)
    np.testing.assert_array_equal(fitted.pseudo_labels_[:40], y[:40])


def test_selector_chooses_between_shallow_and_deep_without_labels():
    Xs, ys, Xt, yt = distorted(n=200)
    source = Source(X=Xs.astype(np.float32), y=ys)
    candidates = [
        ("source only", CORAL(source=source, regularization=1e9)),
        ("CORAL", CORAL(source=source, regularization=1e-3)),
        ("network", TransferClassifier(source=source, max_epochs=3, random_state=0)),
    ]
    selector = TransferSelector(candidates, baseline="source only").fit(
        Xt.astype(np.float32), np.full(len(Xt), -1)
    )
    assert set(selector.report_["candidate"]) == {"source only", "CORAL", "network"}
    assert selector.report_["trained"].all()
    assert np.isfinite(selector.report_["label_free_score"]).all()
    assert selector.best_name_ in {"source only", "CORAL", "network"}


def _text_like(n, d, shift, seed):
    """Sparse word counts: two classes with their own words, a shifted
    vocabulary per domain."""
    from scipy import sparse

    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    rates = np.full((2, d), 0.02)
    rates[0, :10] += 0.3
    rates[1, 10:20] += 0.3
    rates[:, shift : shift + 15] += 0.3
    return sparse.csr_matrix(rng.poisson(rates[y]).astype(float)), y


def test_coral_with_fewer_rows_than_features_is_exact():
    # The thin (Gram) route against the d x d eigen-decomposition.
    Xs, ys = _text_like(40, 120, 30, 0)
    Xt, _ = _text_like(60, 120, 60, 1)
    new = CORAL(source=Source(X=Xs, y=ys), center=True).fit(Xt)
    with pytest.warns(FutureWarning):
        old = CORAL(Xt.toarray(), center=True).fit(Xs.toarray())
    np.testing.assert_allclose(new.A_, old.A_, atol=1e-10)
    np.testing.assert_allclose(new.offset_, old.offset_, atol=1e-10)


def test_coral_takes_sparse_rows_as_they_are():
    Xs, ys = _text_like(80, 300, 30, 0)
    Xt, yt = _text_like(80, 300, 100, 1)
    sparse_fit = CORAL(source=Source(X=Xs, y=ys)).fit(Xt)
    dense_fit = CORAL(source=Source(X=Xs.toarray(), y=ys)).fit(Xt.toarray())
    np.testing.assert_allclose(
        sparse_fit.predict_proba(Xt), dense_fit.predict_proba(Xt.toarray()), atol=1e-8
    )
    assert sparse_fit.score(Xt, yt) == dense_fit.score(Xt.toarray(), yt)
    # Labelled target rows come in sparse too.
    y = np.full(80, -1)
    y[:20] = yt[:20]
    assert CORAL(source=Source(X=Xs, y=ys)).fit(Xt, y).predict(Xt).shape == (80,)


def test_coral_map_is_read_lazily_and_only_once_fitted():
    with pytest.raises(AttributeError):
        CORAL().A_  # noqa: B018
    Xs, ys, Xt, _ = distorted(n=50)
    coral = CORAL(source=Source(X=Xs, y=ys)).fit(Xt)
    assert coral.A_ is coral.A_  # computed once


@pytest.mark.parametrize(
    "make",
    [
        lambda source: CORAL(source=source),
        lambda source: SelectivePseudoLabeling(source=source, n_iter=2),
    ],
    ids=["CORAL", "SPL"],
)
def test_score_leaves_the_unlabelled_target_rows_out(make):
    Xs, ys, Xt, yt = distorted(n=120)
    y = yt.copy()
    y[60:] = -1
    fitted = make(Source(X=Xs, y=ys)).fit(Xt, y)
    expected = float(np.mean(fitted.predict(Xt[:60]) == yt[:60]))
    assert fitted.score(Xt, y) == pytest.approx(expected)
    with pytest.raises(ValueError, match="accuracy needs labels"):
        fitted.score(Xt, np.full(len(Xt), -1))
    search = GridSearchCV(make(Source(X=Xs, y=ys)), {}, cv=3).fit(Xt, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
