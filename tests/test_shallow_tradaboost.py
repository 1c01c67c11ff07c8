"""TrAdaBoostClassifier: boosting over source rows and a few labelled target rows."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from sktransfer import Source, TrAdaBoostClassifier


def _tilted(seed, n_classes=2, n_few=30, tilt=0.8):
    """A source concept tilted against the target's: same features, related
    but different boundaries; ``n_few`` labelled target rows."""
    rng = np.random.RandomState(seed)
    W_source = rng.normal(size=(10, n_classes))
    W_target = W_source + rng.normal(scale=tilt, size=(10, n_classes))

    def labels(X, W):
        scores = X @ W
        return (scores[:, 0] > 0).astype(int) if n_classes == 2 else scores.argmax(1)

    X_source = rng.normal(size=(1000, 10))
    X_target = rng.normal(size=(n_few + 2000, 10))
    y_source, y_target = labels(X_source, W_source), labels(X_target, W_target)
    return (
        X_source,
        y_source,
        X_target[:n_few],
        y_target[:n_few],
        X_target[n_few:],
        y_target[n_few:],
    )


def _scores(n_classes, tilt, seeds):
    """Mean target accuracy of target only, pooled and TrAdaBoost (LR each)."""
    scores = []
    for seed in seeds:
        Xs, ys, Xf, yf, Xe, ye = _tilted(seed, n_classes, 20 * n_classes, tilt)
        few = LogisticRegression().fit(Xf, yf).score(Xe, ye)
        both = LogisticRegression().fit(np.vstack([Xs, Xf]), np.r_[ys, yf])
        boost = TrAdaBoostClassifier(source=Source(X=Xs, y=ys), random_state=0)
        boost.fit(Xf, yf)
        scores.append((few, both.score(Xe, ye), boost.score(Xe, ye)))
    return np.mean(scores, axis=0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_related_source_helps_a_few_target_labels(n_classes):
    few, both, boost = _scores(n_classes, tilt=0.4, seeds=range(5))
    assert boost > max(few, both) + 0.01, (few, both, boost)


def test_a_distant_source_hurts_tradaboost_less_than_pooling():
    # The source rows that contradict the target fade out; pooled, they stay.
    few, both, boost = _scores(2, tilt=1.0, seeds=range(3))
    assert boost > both + 0.05, (few, both, boost)


def test_binary_votes_are_dai_et_al_s():
    Xs, ys, Xf, yf, _, _ = _tilted(0)
    model = TrAdaBoostClassifier(source=Source(X=Xs, y=ys), n_estimators=6)
    model.fit(Xf, yf)
    errors = np.clip(model.estimator_errors_, 1e-10, 0.5 * (1 - 1e-3))
    # log(1 / beta_t), beta_t = e_t / (1 - e_t): no log(K - 1) term for K = 2.
    np.testing.assert_allclose(model.estimator_weights_, np.log((1 - errors) / errors))
    assert len(model.estimators_) == 6
    # The vote is the second half's (rounds ceil(N/2)..N, here 3..6).
    X = Xf[:50]
    votes = np.zeros((len(X), 2))
    for est, a in zip(model.estimators_[2:], model.estimator_weights_[2:], strict=True):
        votes[np.arange(len(X)), est.predict(X)] += a
    np.testing.assert_allclose(model.predict_proba(X), votes / votes.sum(1)[:, None])
    np.testing.assert_array_equal(model.predict(X), votes.argmax(1))


def test_source_rows_that_contradict_the_target_lose_weight():
    rng = np.random.RandomState(0)
    X_source = rng.normal(size=(600, 2))
    y_source = (X_source[:, 0] > 0).astype(int)
    flipped = rng.rand(600) < 0.3
    y_source[flipped] = 1 - y_source[flipped]
    X_target = rng.normal(size=(40, 2))
    y_target = (X_target[:, 0] > 0).astype(int)
    model = TrAdaBoostClassifier(source=Source(X=X_source, y=y_source))
    model.fit(X_target, y_target)
    weights = model.source_weights_
    assert weights.shape == (600,)
    assert weights[flipped].mean() < 0.5 * weights[~flipped].mean()


def test_unlabelled_target_rows_are_left_out():
    Xs, ys, Xf, yf, Xe, _ = _tilted(1)
    make = TrAdaBoostClassifier(source=Source(X=Xs, y=ys), random_state=0)
    labelled = clone(make).fit(Xf, yf)
    both = clone(make).fit(np.vstack([Xf, Xe[:100]]), np.r_[yf, np.full(100, -1)])
    np.testing.assert_array_equal(labelled.predict(Xe), both.predict(Xe))


def test_needs_labelled_target_rows():
    Xs, ys, Xf, _, _, _ = _tilted(0)
    model = TrAdaBoostClassifier(source=Source(X=Xs, y=ys))
    with pytest.raises(ValueError, match="needs labelled target rows"):
        model.fit(Xf, np.full(len(Xf), -1))


def test_sample_weight_sets_the_target_rows_initial_weights():
    Xs, ys, Xf, yf, Xe, _ = _tilted(2)
    make = TrAdaBoostClassifier(source=Source(X=Xs, y=ys), n_estimators=4)
    weight = np.ones(len(Xf))
    weight[:5] = 2
    repeated = np.r_[np.arange(len(Xf)), np.arange(5)]
    weighted = clone(make).fit(Xf, yf, sample_weight=weight)
    duplicated = clone(make).fit(Xf[repeated], yf[repeated])
    np.testing.assert_allclose(
        weighted.estimator_errors_, duplicated.estimator_errors_, rtol=1e-4
    )
    np.testing.assert_allclose(weighted.predict_proba(Xe), duplicated.predict_proba(Xe))


def test_random_state_reproduces_a_random_base_estimator():
    Xs, ys, Xf, yf, Xe, _ = _tilted(0)
    make = TrAdaBoostClassifier(
        SGDClassifier(loss="log_loss", max_iter=20, tol=None),
        source=Source(X=Xs, y=ys),
        n_estimators=4,
    )
    a = clone(make).set_params(random_state=0).fit(Xf, yf).predict_proba(Xe)
    b = clone(make).set_params(random_state=0).fit(Xf, yf).predict_proba(Xe)
    c = clone(make).set_params(random_state=1).fit(Xf, yf).predict_proba(Xe)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_clone_keeps_the_source_and_nothing_is_modified():
    Xs, ys, Xf, yf, _, _ = _tilted(0)
    copies = [a.copy() for a in (Xs, ys, Xf, yf)]
    source = Source(X=Xs, y=ys)
    model = TrAdaBoostClassifier(source=source, n_estimators=3)
    assert clone(model).source is source
    clone(model).fit(Xf, yf)
    for before, after in zip(copies, (Xs, ys, Xf, yf), strict=True):
        np.testing.assert_array_equal(before, after)


def test_string_labels():
    Xs, ys, Xf, yf, Xe, _ = _tilted(0)
    names = np.array(["cat", "dog"])
    model = TrAdaBoostClassifier(source=Source(X=Xs, y=names[ys]), n_estimators=3)
    model.fit(Xf, names[yf])
    assert list(model.classes_) == ["cat", "dog"]
    assert set(model.predict(Xe)) <= {"cat", "dog"}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_estimators": 0}, "n_estimators must be a positive integer"),
        ({"estimator": KNeighborsClassifier()}, "does not take sample_weight"),
    ],
)
def test_bad_parameters_are_refused_clearly(params, match):
    Xs, ys, Xf, yf, _, _ = _tilted(0)
    with pytest.raises(ValueError, match=match):
        TrAdaBoostClassifier(source=Source(X=Xs, y=ys), **params).fit(Xf, yf)


def test_score_leaves_out_unlabelled_rows():
    Xs, ys, Xf, yf, Xe, ye = _tilted(0)
    model = TrAdaBoostClassifier(source=Source(X=Xs, y=ys), n_estimators=3)
    model.fit(Xf, yf)
    y = np.where(np.arange(len(ye)) % 2 == 0, ye, -1)
    assert model.score(Xe, y) == model.score(Xe[::2], ye[::2])
