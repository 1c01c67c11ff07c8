"""Domain-gap metrics: proxy A-distance, MMD and CORAL distance."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from sktransfer import metrics
from sktransfer.metrics import coral_distance, mmd, proxy_a_distance

METRICS = {
    "proxy_a_distance": lambda Xs, Xt: proxy_a_distance(Xs, Xt, random_state=0),
    "mmd": mmd,
    "coral_distance": coral_distance,
}


def gaussian(n, d=4, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


# --- API ----------------------------------------------------------------------


def test_public_names_are_exported():
    for name in ("coral_distance", "mmd", "proxy_a_distance"):
        assert name in metrics.__all__
        assert callable(getattr(metrics, name))


@pytest.mark.parametrize("name", list(METRICS))
def test_returns_a_finite_python_float(name):
    value = METRICS[name](gaussian(40), gaussian(30, seed=1) + 0.5)
    assert type(value) is float
    assert np.isfinite(value)


# --- identical vs shifted domains -----------------------------------------------


def test_proxy_a_distance_small_for_identical_larger_for_shifted():
    Xs, Xt = gaussian(200), gaussian(200, seed=1)
    same = proxy_a_distance(Xs, Xt, random_state=0)
    shifted = proxy_a_distance(Xs, Xt + 1.0, random_state=0)
    assert same < 0.3
    assert shifted > same + 0.8


def test_proxy_a_distance_is_two_for_separable_domains():
    Xs, Xt = gaussian(100), gaussian(100, seed=1) + 10.0
    assert proxy_a_distance(Xs, Xt, random_state=0) == pytest.approx(2.0, abs=1e-9)


def test_proxy_a_distance_uses_a_clone_of_the_given_estimator():
    Xs, Xt = gaussian(60), gaussian(60, seed=1) + 10.0
    estimator = LogisticRegression()
    assert proxy_a_distance(Xs, Xt, estimator=estimator, cv=3) == pytest.approx(2.0)
    assert not hasattr(estimator, "coef_")  # the caller's estimator is not fitted


def test_proxy_a_distance_is_reproducible_with_random_state():
    Xs, Xt = gaussian(80), gaussian(80, seed=1) + 0.3
    first = proxy_a_distance(Xs, Xt, random_state=3)
    assert proxy_a_distance(Xs, Xt, random_state=3) == first


def test_mmd_near_zero_for_identical_and_grows_with_the_shift():
    Xs, Xt = gaussian(150), gaussian(150, seed=1)
    same = mmd(Xs, Xt)
    assert abs(same) < 0.02
    values = [mmd(Xs, Xt + shift) for shift in (0.5, 1.0, 2.0)]
    assert values[0] > same + 0.05
    assert values[0] < values[1] < values[2]


def test_coral_near_zero_for_identical_and_grows_with_the_scale():
    # CORAL compares covariances, so the target is rescaled, not translated.
    Xs, Xt = gaussian(500), gaussian(500, seed=1)
    same = coral_distance(Xs, Xt)
    assert same < 0.005
    values = [coral_distance(Xs, Xt * scale) for scale in (1.5, 2.0, 3.0)]
    assert values[0] > 10 * same
    assert values[0] < values[1] < values[2]


# --- formulas ---------------------------------------------------------------------


def naive_mmd(Xs, Xt, gamma):
    def k(a, b):
        return np.exp(-gamma * np.sum((a - b) ** 2))

    m, n = len(Xs), len(Xt)
    ss = sum(k(Xs[i], Xs[j]) for i in range(m) for j in range(m) if i != j)
    tt = sum(k(Xt[i], Xt[j]) for i in range(n) for j in range(n) if i != j)
    st = sum(k(Xs[i], Xt[j]) for i in range(m) for j in range(n))
    return ss / (m * (m - 1)) + tt / (n * (n - 1)) - 2 * st / (m * n)


def test_mmd_matches_the_direct_unbiased_estimator():
    Xs, Xt = gaussian(7, d=3), gaussian(9, d=3, seed=1) + 0.7
    for gamma in (0.1, 0.5, 2.0):
        assert mmd(Xs, Xt, gamma=gamma) == pytest.approx(
            naive_mmd(Xs, Xt, gamma), rel=1e-10, abs=1e-12
        )


def test_mmd_median_heuristic_matches_the_direct_computation():
    Xs, Xt = gaussian(6, d=3), gaussian(5, d=3, seed=1) + 0.5
    Z = np.vstack([Xs, Xt])
    sq = [
        np.sum((Z[i] - Z[j]) ** 2) for i in range(len(Z)) for j in range(i + 1, len(Z))
    ]
    gamma = 1.0 / np.median(sq)
    assert mmd(Xs, Xt) == pytest.approx(naive_mmd(Xs, Xt, gamma), rel=1e-10)


def test_coral_distance_matches_a_direct_computation():
    Xs, Xt = gaussian(30, d=5), gaussian(20, d=5, seed=1) * 1.7
    Cs, Ct = np.cov(Xs, rowvar=False), np.cov(Xt, rowvar=False)
    expected = np.sum((Cs - Ct) ** 2) / (4 * 5**2)
    assert coral_distance(Xs, Xt) == pytest.approx(expected, rel=1e-12)


def test_mmd_is_symmetric():
    Xs, Xt = gaussian(40), gaussian(25, seed=1) + 0.4
    assert mmd(Xs, Xt) == pytest.approx(mmd(Xt, Xs), rel=1e-10)
    assert mmd(Xs, Xt, gamma=0.3) == pytest.approx(mmd(Xt, Xs, gamma=0.3), rel=1e-10)


def test_coral_distance_is_invariant_to_a_common_shift():
    Xs, Xt = gaussian(50), gaussian(40, seed=1) * 2.0
    shift = np.array([3.0, -1.0, 10.0, 0.5])
    base = coral_distance(Xs, Xt)
    assert base > 0.1
    assert coral_distance(Xs + shift, Xt + shift) == pytest.approx(base, rel=1e-9)


def test_mmd_subsamples_large_domains_reproducibly():
    Xs, Xt = gaussian(300), gaussian(250, seed=1) + 0.5
    sub = mmd(Xs, Xt, max_rows=100, random_state=0)
    assert sub == mmd(Xs, Xt, max_rows=100, random_state=0)
    assert sub != mmd(Xs, Xt, max_rows=100, random_state=1)
    full = mmd(Xs, Xt, max_rows=None)
    assert sub == pytest.approx(full, abs=0.1)
    # A cap above both sizes uses every row.
    assert mmd(Xs, Xt, max_rows=300) == pytest.approx(full, rel=1e-12)


# --- bad inputs ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(METRICS))
def test_mismatched_feature_counts_are_refused(name):
    with pytest.raises(ValueError, match="X_source has 4, X_target has 3"):
        METRICS[name](gaussian(20), gaussian(20, d=3))


@pytest.mark.parametrize("name", list(METRICS))
def test_nan_is_refused_naming_the_input(name):
    Xt = gaussian(20)
    Xt[3, 1] = np.nan
    with pytest.raises(ValueError, match="X_target contains NaN"):
        METRICS[name](gaussian(20), Xt)
    Xs = gaussian(20)
    Xs[0, 0] = np.inf
    with pytest.raises(ValueError, match="X_source contains infinity"):
        METRICS[name](Xs, gaussian(20))


@pytest.mark.parametrize(
    "name, min_rows", [("proxy_a_distance", 5), ("mmd", 2), ("coral_distance", 2)]
)
def test_too_few_rows_are_refused(name, min_rows):
    few = gaussian(min_rows - 1)
    with pytest.raises(ValueError, match=f"X_target has {min_rows - 1} row.*at least"):
        METRICS[name](gaussian(20), few)
    with pytest.raises(ValueError, match=f"X_source has {min_rows - 1} row.*at least"):
        METRICS[name](few, gaussian(20))


def test_proxy_a_distance_needs_cv_rows_per_domain():
    with pytest.raises(ValueError, match="at least 8 rows"):
        proxy_a_distance(gaussian(20), gaussian(7), cv=8)
    with pytest.raises(ValueError, match="cv must be >= 2"):
        proxy_a_distance(gaussian(20), gaussian(20), cv=1)


@pytest.mark.parametrize("name", list(METRICS))
def test_sparse_input_is_refused(name):
    with pytest.raises(TypeError, match="X_source is a sparse matrix"):
        METRICS[name](sp.csr_matrix(gaussian(20)), gaussian(20))


@pytest.mark.parametrize("name", list(METRICS))
def test_one_dimensional_input_is_refused(name):
    with pytest.raises(ValueError, match="X_target.*Expected 2D array, got 1D"):
        METRICS[name](gaussian(20), np.arange(20.0))


@pytest.mark.parametrize("name", list(METRICS))
def test_non_numeric_input_is_refused(name):
    words = np.array([["a", "b"]] * 10, dtype=object)
    with pytest.raises(ValueError, match="X_source"):
        METRICS[name](words, gaussian(10, d=2))


def test_zero_features_are_refused():
    with pytest.raises(ValueError, match="X_source has no features"):
        coral_distance(np.empty((5, 0)), np.empty((5, 0)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 0.0}, "gamma must be positive"),
        ({"gamma": np.nan}, "gamma must be positive"),
        ({"gamma": "auto"}, "gamma must be a positive number"),
        ({"max_rows": 1}, "max_rows must be >= 2"),
        ({"max_rows": 2.5}, "max_rows must be an integer"),
    ],
)
def test_mmd_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mmd(gaussian(10), gaussian(10), **kwargs)


# --- caller's arrays and image-shaped rows ----------------------------------


@pytest.mark.parametrize("name", list(METRICS))
def test_callers_arrays_are_unchanged(name):
    Xs, Xt = gaussian(30), gaussian(30, seed=1) + 1.0
    Xs_copy, Xt_copy = Xs.copy(), Xt.copy()
    METRICS[name](Xs, Xt)
    np.testing.assert_array_equal(Xs, Xs_copy)
    np.testing.assert_array_equal(Xt, Xt_copy)


def test_callers_arrays_are_unchanged_when_mmd_subsamples():
    Xs, Xt = gaussian(60), gaussian(50, seed=1)
    Xs_copy, Xt_copy = Xs.copy(), Xt.copy()
    mmd(Xs, Xt, max_rows=20, random_state=0)
    np.testing.assert_array_equal(Xs, Xs_copy)
    np.testing.assert_array_equal(Xt, Xt_copy)


@pytest.mark.parametrize("name", list(METRICS))
def test_image_shaped_rows_equal_the_flattened_result(name):
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(30, 1, 4, 4))
    Xt = rng.normal(size=(25, 1, 4, 4)) * 1.5 + 0.5
    Xs_copy = Xs.copy()
    images = METRICS[name](Xs, Xt)
    flat = METRICS[name](Xs.reshape(30, -1), Xt.reshape(25, -1))
    assert images == pytest.approx(flat, rel=1e-12)
    assert Xs.shape == (30, 1, 4, 4)
    np.testing.assert_array_equal(Xs, Xs_copy)
