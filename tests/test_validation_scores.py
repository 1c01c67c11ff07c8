"""Validation scores for unsupervised domain adaptation (numpy arrays in, float out)."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from sktransfer import metrics as vs
from sktransfer.metrics import (
    deep_embedded_validation,
    importance_weighted_accuracy,
    importance_weights,
    mutual_information,
    neg_entropy,
    reverse_validation_score,
    soft_neighborhood_density,
)


def one_hot(labels, n_classes):
    return np.eye(n_classes)[labels]


def confident_clusters(n=60, n_classes=3, seed=0):
    """Confident predictions, balanced over the classes, with a little noise."""
    rng = np.random.RandomState(seed)
    p = one_hot(np.arange(n) % n_classes, n_classes) * 0.9 + 0.1 / n_classes
    p = p + rng.uniform(0, 0.02, size=p.shape)
    return p / p.sum(axis=1, keepdims=True)


def shifted_blobs(n_source=120, n_target=120, shift=(0.0, 3.0), seed=0):
    """Two classes split along feature 0; the target is moved by ``shift``.

    The default shift runs parallel to the class boundary: the domains differ
    but the class structure stays aligned.
    """
    rng = np.random.RandomState(seed)
    ys, yt = np.arange(n_source) % 2, np.arange(n_target) % 2
    Xs = rng.normal(size=(n_source, 2)) + np.c_[4.0 * ys, np.zeros(n_source)]
    Xt = rng.normal(size=(n_target, 2)) + np.c_[4.0 * yt, np.zeros(n_target)]
    return Xs, ys, Xt + np.asarray(shift), yt


def naive_snd(p, temperature=0.05):
    f = p / np.linalg.norm(p, axis=1, keepdims=True)
    s = f @ f.T / temperature
    np.fill_diagonal(s, -np.inf)
    q = np.exp(s - s.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    logq = np.log(np.where(q > 0, q, 1.0))
    return float(-(q * logq).sum(axis=1).mean())


# --- every score: a finite float ----------------------------------------------


def _all_scores():
    rng = np.random.RandomState(0)
    p = rng.dirichlet(np.ones(3), size=20)
    Xs, ys, Xt, yt = shifted_blobs(40, 40)
    loss = rng.uniform(0, 2, size=20)

    def weights():
        return importance_weights(Xs[20:], Xt, random_state=0, normalize=False)

    return {
        "snd": lambda: soft_neighborhood_density(p),
        "mi": lambda: mutual_information(p),
        "neg_entropy": lambda: neg_entropy(p),
        "iwa": lambda: importance_weighted_accuracy(ys[20:], ys[::-1][:20], weights()),
        "dev": lambda: deep_embedded_validation(loss, weights()),
        "reverse": lambda: reverse_validation_score(
            Xs[:20], ys[:20], Xs[20:], ys[20:], Xt, yt, random_state=0
        ),
    }


@pytest.mark.parametrize("name", list(_all_scores()))
def test_every_score_returns_a_finite_python_float(name):
    score = _all_scores()[name]()
    assert type(score) is float
    assert np.isfinite(score)


def test_public_names_are_exported():
    assert set(vs.__all__) >= {
        "soft_neighborhood_density",
        "importance_weights",
        "importance_weighted_accuracy",
        "deep_embedded_validation",
        "mutual_information",
        "neg_entropy",
        "reverse_validation_score",
    }
    for name in vs.__all__:
        assert callable(getattr(vs, name))


# --- soft neighborhood density ------------------------------------------------


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_snd_is_higher_for_clustered_confident_than_for_scattered_predictions():
    rng = np.random.RandomState(0)
    y = np.eye(5)[np.arange(60) % 5]
    clustered = soft_neighborhood_density(softmax(8 * y + rng.normal(0, 0.3, y.shape)))
    scattered = softmax(rng.normal(0, 2.0, y.shape))  # random, no cluster structure
    noisy = softmax(3 * y + rng.normal(0, 1.5, y.shape))  # loose, overlapping
    assert clustered > soft_neighborhood_density(scattered) + 0.15
    assert clustered > soft_neighborhood_density(noisy) + 0.15
    # Dense clusters of 12: close to log(11), the entropy of 11 equal neighbours.
    assert clustered == pytest.approx(np.log(11), abs=0.05)


def test_snd_matches_the_formula_and_is_computed_in_blocks(monkeypatch):
    p = np.random.RandomState(1).dirichlet(np.ones(4) * 0.3, size=25)
    expected = naive_snd(p, temperature=0.1)
    assert soft_neighborhood_density(p, temperature=0.1) == pytest.approx(expected)
    from sktransfer.metrics import _prediction_scores

    monkeypatch.setattr(_prediction_scores, "_SND_BLOCK", 60)  # blocks of 2 rows
    assert soft_neighborhood_density(p, temperature=0.1) == pytest.approx(expected)


def test_snd_cannot_see_collapse_or_uniform_predictions():
    # Documented limitation: every row predicted alike scores log(n - 1), the
    # maximum, and uniform predictions (identical rows) score above clusters.
    uniform = np.full((10, 3), 1 / 3)
    assert soft_neighborhood_density(uniform) == pytest.approx(np.log(9))
    assert soft_neighborhood_density(one_hot(np.zeros(10, int), 3)) == pytest.approx(
        np.log(9)
    )
    assert soft_neighborhood_density(uniform) > soft_neighborhood_density(
        confident_clusters(10, 3)
    )
    assert soft_neighborhood_density(np.array([[0.2, 0.8], [0.6, 0.4]])) == 0.0


def test_snd_accepts_float32_rows_that_sum_to_one_within_rounding():
    p = confident_clusters(12, 3).astype(np.float32)
    assert np.isfinite(soft_neighborhood_density(p))


# --- information maximisation scores ------------------------------------------


def test_mutual_information_is_zero_for_identical_rows():
    assert mutual_information(np.tile([0.2, 0.5, 0.3], (7, 1))) == pytest.approx(0.0)
    assert mutual_information(np.tile([1.0, 0.0], (5, 1))) == 0.0


def test_mutual_information_is_log_k_for_confident_balanced_predictions():
    p = one_hot(np.arange(12) % 4, 4)
    assert mutual_information(p) == pytest.approx(np.log(4))


def test_mutual_information_lies_between_zero_and_log_k():
    p = np.random.RandomState(0).dirichlet(np.ones(5) * 0.5, size=30)
    assert 0.0 < mutual_information(p) < np.log(5)


def test_neg_entropy_is_zero_when_certain_and_minus_log_k_when_uniform():
    assert neg_entropy(one_hot([0, 2, 1], 3)) == 0.0
    assert neg_entropy(np.full((4, 3), 1 / 3)) == pytest.approx(-np.log(3))
    # Rewards collapse: all rows in one class score as well as balanced ones.
    assert neg_entropy(one_hot([0, 0, 0], 3)) == neg_entropy(one_hot([0, 1, 2], 3))


# --- importance weights -------------------------------------------------------


def test_importance_weights_are_about_one_without_shift():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(200, 3)), rng.normal(size=(150, 3))
    w = importance_weights(Xs, Xt, random_state=0)
    assert w.shape == (200,)
    assert w.mean() == pytest.approx(1.0)
    assert np.median(np.abs(w - 1)) < 0.2
    assert w.std() < 0.3


def test_importance_weights_favour_source_rows_that_look_like_the_target():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(200, 2)), rng.normal(size=(150, 2)) + [1.5, 0.0]
    w = importance_weights(Xs, Xt, random_state=0)
    assert w.mean() == pytest.approx(1.0)
    assert (w >= 0).all()
    toward = Xs[:, 0] > 1.0
    assert w[toward].mean() > 3 * w[~toward].mean()
    # The true ratio grows as exp(1.5 x0): the weights rise with x0.
    assert np.corrcoef(Xs[:, 0], np.log(w))[0, 1] > 0.9


def test_importance_weights_are_reproducible_with_random_state():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(80, 2)), rng.normal(size=(60, 2)) + 0.5
    a = importance_weights(Xs, Xt, random_state=3)
    np.testing.assert_array_equal(a, importance_weights(Xs, Xt, random_state=3))
    assert not np.array_equal(a, importance_weights(Xs, Xt, random_state=4))
    forest = RandomForestClassifier(n_estimators=5, max_depth=3)
    b = importance_weights(Xs, Xt, estimator=forest, random_state=3)
    c = importance_weights(Xs, Xt, estimator=forest, random_state=3)
    np.testing.assert_array_equal(b, c)
    assert forest.get_params()["random_state"] is None  # the caller's is untouched
    piped = make_pipeline(StandardScaler(), forest)  # nested random_state seeded
    d = importance_weights(Xs, Xt, estimator=piped, random_state=3)
    np.testing.assert_array_equal(
        d, importance_weights(Xs, Xt, estimator=piped, random_state=3)
    )


class _RefusesSeenRows(ClassifierMixin, BaseEstimator):
    """Fails if asked to predict a row it was fitted on (column 0 is a row id)."""

    def fit(self, X, y):
        self.seen_ = set(X[:, 0])
        self.classes_ = np.unique(y)
        self.prior_ = np.bincount(y) / len(y)
        return self

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_proba(self, X):
        assert not self.seen_ & set(X[:, 0]), "predicted a row it was fitted on"
        return np.tile(self.prior_, (len(X), 1))


def test_importance_weights_are_cross_fitted():
    rng = np.random.RandomState(0)
    Xs = np.c_[np.arange(30), rng.normal(size=30)]
    Xt = np.c_[np.arange(30, 50), rng.normal(size=20)]
    w = importance_weights(Xs, Xt, estimator=_RefusesSeenRows(), random_state=0)
    np.testing.assert_allclose(w, 1.0)  # the prior ratio, undone by n_s / n_t
    raw = importance_weights(
        Xs, Xt, estimator=_RefusesSeenRows(), random_state=0, normalize=False
    )
    np.testing.assert_allclose(raw, 1.0, rtol=0.1)


def test_importance_weights_raw_are_clipped_and_cv_splitters_accepted():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [3.0, 0.0]
    raw = importance_weights(Xs, Xt, random_state=0, max_weight=3.0, normalize=False)
    assert raw.max() <= 3.0
    assert raw.min() >= 0.0
    assert raw.mean() != pytest.approx(1.0)
    split = KFold(4, shuffle=True, random_state=0)
    w = importance_weights(Xs, Xt, cv=split, max_weight=np.inf)
    assert w.mean() == pytest.approx(1.0)


# --- importance-weighted accuracy ---------------------------------------------


def test_iwa_with_uniform_weights_is_plain_accuracy():
    rng = np.random.RandomState(0)
    y, pred = rng.randint(3, size=50), rng.randint(3, size=50)
    for c in (1.0, 0.3, 7.0):
        assert importance_weighted_accuracy(pred, y, np.full(50, c)) == pytest.approx(
            np.mean(pred == y)
        )


def test_iwa_follows_the_weights_and_takes_any_labels():
    pred, y = np.array(["a", "b", "b", "a"]), np.array(["a", "b", "a", "b"])
    assert importance_weighted_accuracy(pred, y, [1, 1, 0, 0]) == 1.0
    assert importance_weighted_accuracy(pred, y, [0, 0, 1, 1]) == 0.0
    assert importance_weighted_accuracy(pred, y, [3, 0, 1, 0]) == 0.75


# --- deep embedded validation -------------------------------------------------


def test_dev_with_constant_weights_is_the_negative_mean_loss():
    loss = np.random.RandomState(0).uniform(0, 3, size=40)
    assert deep_embedded_validation(loss, np.ones(40)) == pytest.approx(-loss.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Var(w) = 0: no division by zero
        score = deep_embedded_validation(loss, np.full(40, 0.1))
    assert score == pytest.approx(-0.1 * loss.mean())


def test_dev_applies_the_control_variate():
    rng = np.random.RandomState(0)
    loss, w = rng.uniform(0, 2, size=30), rng.uniform(0.2, 3.0, size=30)
    weighted = w * loss
    eta = -np.cov(weighted, w)[0, 1] / np.var(w, ddof=1)
    expected = weighted.mean() + eta * w.mean() - eta
    assert deep_embedded_validation(loss, w) == pytest.approx(-expected)
    # Weights averaging exactly 1: the correction vanishes (documented).
    w1 = w / w.mean()
    assert deep_embedded_validation(loss, w1) == pytest.approx(-np.mean(w1 * loss))


def test_dev_prefers_the_lower_loss():
    rng = np.random.RandomState(0)
    loss, w = rng.uniform(0, 1, size=30), rng.uniform(0.5, 1.5, size=30)
    assert deep_embedded_validation(loss, w) > deep_embedded_validation(loss + 1, w)


# --- reverse validation -------------------------------------------------------


def test_reverse_validation_is_high_with_correct_pseudo_labels():
    Xs, ys, Xt, yt = shifted_blobs()
    score = reverse_validation_score(
        Xs[:60], ys[:60], Xs[60:], ys[60:], Xt, yt, random_state=0
    )
    assert score > 0.9


def test_reverse_validation_is_about_chance_with_shuffled_pseudo_labels():
    # One shuffle can land near 0 or 1 (a chance correlation picks a side);
    # over shuffles the reverse classifier is right half the time.
    Xs, ys, Xt, yt = shifted_blobs()
    rng = np.random.RandomState(0)
    scores = [
        reverse_validation_score(
            Xs[:60], ys[:60], Xs[60:], ys[60:], Xt, rng.permutation(yt)
        )
        for _ in range(20)
    ]
    assert 0.35 < np.mean(scores) < 0.65
    correct = reverse_validation_score(Xs[:60], ys[:60], Xs[60:], ys[60:], Xt, yt)
    assert correct > np.mean(scores) + 0.3


def test_reverse_validation_with_collapsed_pseudo_labels_predicts_that_class():
    Xs, ys, Xt, _ = shifted_blobs()
    labels = np.where(ys == 1, "dog", "cat")
    score = reverse_validation_score(
        Xs[:60], labels[:60], Xs[60:], labels[60:], Xt, np.full(len(Xt), "dog")
    )
    assert score == pytest.approx(np.mean(labels[60:] == "dog"))


def test_reverse_validation_is_reproducible_and_leaves_the_estimator_unfitted():
    Xs, ys, Xt, yt = shifted_blobs(shift=(1.0, 2.0))
    tree = DecisionTreeClassifier(max_features=1)
    args = (Xs[:60], ys[:60], Xs[60:], ys[60:], Xt, yt)
    a = reverse_validation_score(*args, estimator=tree, random_state=0)
    assert a == reverse_validation_score(*args, estimator=tree, random_state=0)
    assert not hasattr(tree, "tree_")


# --- errors -------------------------------------------------------------------

_P = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
_X = np.random.RandomState(0).normal(size=(10, 2))
_Y = np.arange(10) % 2


def _rv(**changes):
    args = dict(
        source_X_train=_X,
        source_y_train=_Y,
        source_X_val=_X,
        source_y_val=_Y,
        target_X=_X,
        target_pseudo_labels=_Y,
    )
    args.update(changes)
    return lambda: reverse_validation_score(**args)


_ERRORS = {
    # probabilities (shared by SND, MI and neg_entropy)
    "proba 1-D": (lambda: mutual_information([0.5, 0.5]), "Expected 2D array"),
    "proba NaN": (lambda: neg_entropy([[np.nan, 1.0]]), "NaN"),
    "proba inf": (lambda: soft_neighborhood_density([[np.inf, 0], [1, 0]]), "inf"),
    "proba empty": (lambda: mutual_information(np.empty((0, 2))), "0 sample"),
    "proba one column": (lambda: neg_entropy([[1.0], [1.0]]), "at least 2 columns"),
    "proba logits": (lambda: mutual_information([[2.0, -1.0]]), r"in \[0, 1\]"),
    "proba negative": (lambda: neg_entropy([[-0.1, 1.1]]), r"in \[0, 1\]"),
    "proba sum": (lambda: mutual_information([[0.3, 0.3], [0.5, 0.5]]), "sum to 1"),
    "snd one row": (lambda: soft_neighborhood_density([[0.5, 0.5]]), "1 sample"),
    "snd temperature 0": (
        lambda: soft_neighborhood_density(_P, temperature=0),
        "temperature must be > 0",
    ),
    "snd temperature nan": (
        lambda: soft_neighborhood_density(_P, temperature=np.nan),
        "temperature must be finite",
    ),
    "snd temperature str": (
        lambda: soft_neighborhood_density(_P, temperature="0.05"),
        "temperature must be a real number",
    ),
    "snd temperature bool": (
        lambda: soft_neighborhood_density(_P, temperature=True),
        "temperature must be a real number",
    ),
    # importance weights
    "iw features": (
        lambda: importance_weights(_X, _X[:, :1]),
        "same feature space",
    ),
    "iw NaN": (
        lambda: importance_weights(np.where(_X > 1, np.nan, _X), _X),
        "source_features contains NaN",
    ),
    "iw 1-D": (lambda: importance_weights(_X[:, 0], _X), "Expected 2D array"),
    "iw cv 1": (lambda: importance_weights(_X, _X, cv=1), "at least 2 folds"),
    "iw cv rows": (lambda: importance_weights(_X, _X[:3], cv=5), "at least 5 rows"),
    "iw cv bad": (lambda: importance_weights(_X, _X, cv="5"), "cv must be"),
    "iw no proba": (
        lambda: importance_weights(_X, _X, estimator=LinearSVC()),
        "predict_proba",
    ),
    "iw max_weight": (
        lambda: importance_weights(_X, _X, max_weight=1.0),
        "max_weight must be > 1",
    ),
    "iw max_weight nan": (
        lambda: importance_weights(_X, _X, max_weight=np.nan),
        "max_weight must be finite",
    ),
    # importance-weighted accuracy
    "iwa lengths": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1, 1], [1, 1]),
        "Inconsistent numbers of rows",
    ),
    "iwa 2-D pred": (
        lambda: importance_weighted_accuracy([[0, 1]], [0, 1], [1, 1]),
        "must be 1-D",
    ),
    "iwa empty": (lambda: importance_weighted_accuracy([], [], []), "is empty"),
    "iwa NaN label": (
        lambda: importance_weighted_accuracy([0.0, 1.0], [0.0, np.nan], [1, 1]),
        "source_val_y contains NaN",
    ),
    "iwa weights length": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1], [1, 1, 1]),
        "3 entries for 2 rows",
    ),
    "iwa weights negative": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1], [1, -1]),
        "non-negative",
    ),
    "iwa weights NaN": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1], [1, np.nan]),
        "weights contains NaN",
    ),
    "iwa weights zero": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1], [0, 0]),
        "all zero",
    ),
    "iwa weights 2-D": (
        lambda: importance_weighted_accuracy([0, 1], [0, 1], [[1, 1]]),
        "weights must be 1-D",
    ),
    "iwa label kinds": (
        lambda: importance_weighted_accuracy(["0", "1"], [0, 1], [1, 1]),
        "different kinds",
    ),
    # deep embedded validation
    "dev one row": (lambda: deep_embedded_validation([0.5], [1.0]), "at least 2"),
    "dev loss NaN": (
        lambda: deep_embedded_validation([0.5, np.nan], [1, 1]),
        "source_val_loss contains NaN",
    ),
    "dev loss inf": (
        lambda: deep_embedded_validation([0.5, np.inf], [1, 1]),
        "source_val_loss contains inf",
    ),
    "dev lengths": (
        lambda: deep_embedded_validation([0.5, 0.2], [1, 1, 1]),
        "3 entries for 2 rows",
    ),
    "dev weights negative": (
        lambda: deep_embedded_validation([0.5, 0.2], [1, -1]),
        "non-negative",
    ),
    # reverse validation
    "rv train lengths": (_rv(source_y_train=_Y[:5]), "source_y_train has 5"),
    "rv val lengths": (_rv(source_y_val=_Y[:5]), "source_y_val has 5"),
    "rv target lengths": (_rv(target_pseudo_labels=_Y[:5]), "target_pseudo_labels"),
    "rv features": (_rv(target_X=_X[:, :1]), "same number of features"),
    "rv NaN": (_rv(target_X=np.where(_X > 1, np.nan, _X)), "target_X contains NaN"),
    "rv unknown class": (_rv(target_pseudo_labels=_Y + 1), r"contains \[2\]"),
    "rv label kinds": (_rv(source_y_val=_Y.astype(str)), "different kinds"),
    "rv 2-D labels": (_rv(source_y_val=_Y[:, None]), "source_y_val must be 1-D"),
    "rv estimator": (
        lambda: reverse_validation_score(_X, _Y, _X, _Y, _X, _Y, estimator=object()),
        "fit and predict",
    ),
}


@pytest.mark.parametrize("case", list(_ERRORS))
def test_documented_errors_are_raised(case):
    call, match = _ERRORS[case]
    with pytest.raises(ValueError, match=match):
        call()


def test_reverse_validation_accepts_a_custom_estimator():
    Xs, ys, Xt, yt = shifted_blobs()
    score = reverse_validation_score(
        Xs[:60],
        ys[:60],
        Xs[60:],
        ys[60:],
        Xt,
        yt,
        estimator=LogisticRegression(C=0.1, max_iter=200),
    )
    assert score > 0.9


# --- ensemble agreement (EnsV) ----------------------------------------------------


def test_ensemble_agreement_is_the_match_rate_with_the_mean_vote():
    rng = np.random.RandomState(0)
    probas = [rng.dirichlet(np.ones(4), size=50) for _ in range(5)]
    vote = np.mean(probas, axis=0).argmax(1)
    expected = [np.mean(p.argmax(1) == vote) for p in probas]
    np.testing.assert_allclose(vs.ensemble_agreement(probas), expected)


def test_ensemble_agreement_ranks_the_outlier_last_and_twins_first():
    labels = np.arange(60) % 3
    good = confident_clusters()
    twin = confident_clusters(seed=1)
    wrong = one_hot((labels + 1) % 3, 3) * 0.9 + 0.1 / 3
    scores = vs.ensemble_agreement([good, twin, wrong])
    assert scores[0] == scores[1] == 1.0
    assert scores[2] == 0.0


@pytest.mark.parametrize(
    "probas, match",
    [
        ([], "empty"),
        (np.full((4, 2), 0.5), "one probability matrix per candidate"),
        ([np.full((4, 2), 0.5), np.full((5, 2), 0.5)], "same shape"),
        ([np.full((4, 2), 0.5), np.full((4, 2), 2.0)], r"candidate_probas\[1\]"),
    ],
)
def test_ensemble_agreement_refuses_bad_input(probas, match):
    with pytest.raises(ValueError, match=match):
        vs.ensemble_agreement(probas)
