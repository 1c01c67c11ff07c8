"""Transferability scores: LogME, LEEP, H-score, NCE (small seeded data)."""

import itertools

import numpy as np
import pytest

from sktransfer import metrics as tr
from sktransfer.metrics import h_score, leep, log_me, nce


def blobs(n=60, n_features=4, n_classes=3, separation=3.0, seed=0):
    """Gaussian blobs whose class means are ``separation`` apart per axis."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    centers = rng.normal(size=(n_classes, n_features))
    centers *= separation / np.linalg.norm(centers, axis=1, keepdims=True)
    return rng.normal(size=(n, n_features)) + centers[y], y


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def source_predictions(y, informative, n_source=5, seed=0):
    """Source-class probabilities that follow y (or ignore it)."""
    rng = np.random.RandomState(seed)
    logits = rng.normal(size=(len(y), n_source))
    if informative:
        logits[np.arange(len(y)), y] += 4.0  # target class c -> source class c
    return softmax(logits)


def test_all_four_are_exported():
    assert {"h_score", "leep", "log_me", "nce"} <= set(tr.__all__)


@pytest.mark.parametrize(
    "score, make_input",
    [
        (log_me, lambda y: blobs()[0]),
        (h_score, lambda y: blobs()[0]),
        (leep, lambda y: source_predictions(y, informative=True)),
        (nce, lambda y: source_predictions(y, informative=True).argmax(axis=1)),
    ],
)
def test_each_returns_a_finite_python_float(score, make_input):
    _, y = blobs()
    value = score(make_input(y), y)
    assert type(value) is float
    assert np.isfinite(value)


def test_informative_features_score_higher_than_random_ones():
    X, y = blobs()
    noise = np.random.RandomState(1).normal(size=X.shape)
    assert log_me(X, y) > log_me(noise, y)
    assert h_score(X, y) > h_score(noise, y)


def test_informative_source_predictions_score_higher_than_random_ones():
    _, y = blobs()
    good = source_predictions(y, informative=True)
    bad = source_predictions(y, informative=False)
    assert leep(good, y) > leep(bad, y)
    assert nce(good.argmax(axis=1), y) > nce(bad.argmax(axis=1), y)


def test_nce_is_zero_when_y_is_a_function_of_z():
    z = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3])
    y = np.array(["a", "a", "b", "c"])[z]  # several z map to the same y
    assert nce(z, y) == pytest.approx(0.0, abs=1e-12)


def test_nce_is_minus_the_entropy_of_y_when_independent():
    # every (z, y) pair equally often: Z and Y independent under the joint
    z, y = np.array(list(itertools.product([0, 1, 2], [0, 1, 1, 2]))).T
    p_y = np.array([1, 2, 1]) / 4
    assert nce(z, y) == pytest.approx(np.sum(p_y * np.log(p_y)))


def test_nce_is_at_most_zero_and_at_least_minus_log_classes():
    rng = np.random.RandomState(0)
    z, y = rng.randint(0, 4, 30), rng.randint(0, 3, 30)
    assert -np.log(3) - 1e-12 <= nce(z, y) <= 0


def test_leep_matches_a_brute_force_evaluation_of_its_formula():
    theta = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.1, 0.3]]
    )
    y = np.array([1, 0, 0, 1])
    n, n_source = theta.shape
    joint = {
        (c, z): sum(theta[i, z] for i in range(n) if y[i] == c) / n
        for c in (0, 1)
        for z in range(n_source)
    }
    total = 0.0
    for i in range(n):
        inner = 0.0
        for z in range(n_source):
            p_z = joint[0, z] + joint[1, z]
            inner += joint[y[i], z] / p_z * theta[i, z]
        total += np.log(inner)
    assert leep(theta, y) == pytest.approx(total / n, rel=1e-12)


def test_leep_ignores_a_source_class_that_no_row_predicts():
    theta = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    y = ["x", "y", "y"]
    padded = np.hstack([theta, np.zeros((3, 1))])
    assert leep(padded, y) == pytest.approx(leep(theta, y))
    assert leep(theta, y) <= 0


def test_h_score_is_invariant_to_an_invertible_linear_transform():
    X, y = blobs(n_features=5)
    rng = np.random.RandomState(2)
    A = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    assert np.linalg.cond(A) < 1e3
    assert h_score(X @ A + 7.0, y) == pytest.approx(h_score(X, y), rel=1e-6)


def test_h_score_lies_between_zero_and_classes_minus_one():
    X, y = blobs(n_classes=3, separation=50.0)
    assert 0 <= h_score(X, y) <= 2 + 1e-9
    assert h_score(X, y) > 1.9  # nearly all variance between classes


def test_h_score_handles_redundant_and_constant_columns():
    X, y = blobs(n_features=3)
    redundant = np.hstack([X, X[:, :1] * 2.0, np.ones((len(X), 1))])
    assert h_score(redundant, y) == pytest.approx(h_score(X, y), rel=1e-6)
    assert h_score(np.ones((len(X), 2)), y) == 0.0


def test_log_me_is_invariant_to_permuting_the_class_labels():
    X, y = blobs()
    permuted = np.array([2, 0, 1])[y]
    assert log_me(X, permuted) == pytest.approx(log_me(X, y), rel=1e-12)
    names = np.array(["zebra", "ant", "moose"])
    assert log_me(X, names[y]) == pytest.approx(log_me(X, y), rel=1e-12)


def test_log_me_grows_as_class_separation_grows():
    scores = [log_me(*blobs(separation=s)) for s in (0.0, 1.0, 3.0, 10.0)]
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)


def test_log_me_matches_a_direct_evaluation_of_the_evidence():
    """At the returned alpha, beta the direct formula gives the same evidence."""
    X, y = blobs(n=30, n_features=3, n_classes=2)
    n, d = X.shape
    evidences = []
    for c in (0, 1):
        t = (y == c).astype(float)
        # maximise the closed-form evidence over a grid in log alpha, log beta
        best = -np.inf
        for log_a in np.linspace(-6, 6, 61):
            for log_b in np.linspace(-4, 4, 41):
                a, b = np.exp(log_a), np.exp(log_b)
                A = a * np.eye(d) + b * X.T @ X
                m = b * np.linalg.solve(A, X.T @ t)
                ev = (
                    n / 2 * np.log(b)
                    + d / 2 * np.log(a)
                    - n / 2 * np.log(2 * np.pi)
                    - b / 2 * np.sum((X @ m - t) ** 2)
                    - a / 2 * m @ m
                    - np.linalg.slogdet(A)[1] / 2
                )
                best = max(best, ev)
        evidences.append(best / n)
    # the fixed point is the maximum: at least the grid's best, and close to it
    assert log_me(X, y) >= np.mean(evidences) - 1e-3
    assert log_me(X, y) == pytest.approx(np.mean(evidences), abs=2e-2)


def test_log_me_stays_finite_in_degenerate_cases():
    _, y = blobs(n=10)
    assert np.isfinite(log_me(np.zeros((10, 3)), y))
    wide = np.random.RandomState(0).normal(size=(10, 20))  # fits y exactly
    assert np.isfinite(log_me(wide, y))


def test_string_labels_work_everywhere():
    X, y = blobs()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    proba = source_predictions(y, informative=True)
    z = np.array(["s0", "s1", "s2", "s3", "s4"])[proba.argmax(axis=1)]
    assert log_me(X, names) == pytest.approx(log_me(X, y))
    assert h_score(X, list(names)) == pytest.approx(h_score(X, y))
    assert leep(proba, names) == pytest.approx(leep(proba, y))
    assert nce(z, names) == pytest.approx(nce(proba.argmax(axis=1), y))


FEATURES = np.random.RandomState(0).normal(size=(6, 2))
PROBA = softmax(np.random.RandomState(1).normal(size=(6, 3)))
Y = np.array([0, 1, 0, 1, 0, 1])
MIXED = np.array([0, "a", 1, "b", 0, 1], dtype=object)  # cannot be sorted


@pytest.mark.parametrize("score", [log_me, h_score])
@pytest.mark.parametrize(
    "features, y, match",
    [
        (FEATURES[:, 0], Y, r"features must be a 2-D array.*got shape \(6,\)"),
        (FEATURES[None], Y, r"features must be a 2-D array"),
        (np.empty((6, 0)), Y, r"features must have at least one column"),
        ([["a", "b"]] * 6, Y, r"features must be a numeric array"),
        (
            np.where(np.eye(6, 2) > 0, np.nan, FEATURES),
            Y,
            "features contains NaN or inf",
        ),
        (
            np.where(np.eye(6, 2) > 0, np.inf, FEATURES),
            Y,
            "features contains NaN or inf",
        ),
        (FEATURES, Y[:, None], r"y must be a 1-D array of labels"),
        (FEATURES, np.zeros(6), r"y must contain at least 2 classes, got 1"),
        (FEATURES, np.r_[0.0, 1, np.nan, 0, 1, 0], "y contains NaN or infinity"),
        (FEATURES, MIXED, "y mixes strings and numbers"),
        (FEATURES, Y[:5], r"features has 6 rows, y has 5"),
    ],
)
def test_feature_scores_refuse_bad_input(score, features, y, match):
    with pytest.raises(ValueError, match=match):
        score(features, y)


@pytest.mark.parametrize(
    "proba, y, match",
    [
        (PROBA[:, 0], Y, r"source_proba must be a 2-D array"),
        (
            np.where(np.eye(6, 3) > 0, np.nan, PROBA),
            Y,
            "source_proba contains NaN or inf",
        ),
        (PROBA - PROBA.mean(), Y, "source_proba must be non-negative"),
        (PROBA * 1.01, Y, r"rows must sum to 1 \(within 0.0001\): row 0 sums to"),
        (PROBA, np.ones(6), r"y must contain at least 2 classes, got 1"),
        (PROBA, Y[1:], r"source_proba has 6 rows, y has 5"),
    ],
)
def test_leep_refuses_bad_input(proba, y, match):
    with pytest.raises(ValueError, match=match):
        leep(proba, y)


def test_leep_accepts_rows_summing_to_one_within_tolerance():
    assert np.isfinite(leep(PROBA * (1 + 1e-6), Y))


@pytest.mark.parametrize(
    "z, y, match",
    [
        (np.zeros((6, 1)), Y, r"source_labels must be a 1-D array of labels"),
        (np.r_[0.0, 1, np.inf, 0, 1, 0], Y, "source_labels contains NaN"),
        (np.zeros(6), np.array(["a"] * 6), "y must contain at least 2 classes"),
        (np.zeros(5), Y, r"source_labels has 5 rows, y has 6"),
        (np.zeros(6), [], r"y must contain at least 2 classes, got 0"),
    ],
)
def test_nce_refuses_bad_input(z, y, match):
    with pytest.raises(ValueError, match=match):
        nce(z, y)


def test_nce_accepts_a_single_source_label():
    assert nce(np.zeros(4), [0, 0, 0, 1]) == pytest.approx(
        0.75 * np.log(0.75) + 0.25 * np.log(0.25)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ({"max_iter": 2.5}, "max_iter must be a positive integer"),
        ({"tol": 0.0}, "tol must be a positive finite number"),
        ({"tol": np.nan}, "tol must be a positive finite number"),
    ],
)
def test_log_me_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        log_me(FEATURES, Y, **kwargs)
