"""Metrics at extreme magnitudes and non-finite plot points (issue 26): the
right number, or a clear error, never NaN or a wrong number."""

from __future__ import annotations

import numpy as np
import pytest

from sktransfer.metrics import coral_distance, h_score, log_me, mmd


def _features(seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(60) % 3
    F = rng.normal(size=(60, 5))
    F[:, 0] += y
    return F, y, rng.normal(size=(50, 5)) + 0.5


SCALES = [1e-160, 1e-100, 1e100, 1e155, 1e160, 1e300]


@pytest.mark.parametrize("scale", SCALES)
def test_h_score_is_scale_invariant_at_any_magnitude(scale):
    F, y, _ = _features()
    assert h_score(F * scale, y) == pytest.approx(h_score(F, y), rel=1e-9)


@pytest.mark.parametrize("scale", SCALES)
def test_log_me_is_scale_invariant_at_any_magnitude(scale):
    F, y, _ = _features()
    assert log_me(F * scale, y) == pytest.approx(log_me(F, y), rel=1e-6)


@pytest.mark.parametrize("scale", SCALES)
def test_mmd_with_the_median_heuristic_is_scale_invariant(scale):
    F, _, G = _features()
    assert mmd(F * scale, G * scale) == pytest.approx(mmd(F, G), rel=1e-9)


@pytest.mark.parametrize("scale", [1e-100, 1e100, 1e155])
def test_mmd_with_a_given_gamma_keeps_its_kernel(scale):
    F, _, G = _features()
    gamma = 0.1 / scale / scale  # the same kernel for the scaled rows
    assert mmd(F * scale, G * scale, gamma=gamma) == pytest.approx(
        mmd(F, G, gamma=0.1), rel=1e-9
    )


def test_mmd_with_a_gamma_too_large_for_the_rows_is_the_limit_not_nan():
    F, _, G = _features()
    # Every distinct pair's kernel underflows to 0; equal rows give 1 (where
    # euclidean_distances finds them at distance exactly 0).
    value = mmd(F * 1e155, np.vstack([G, F[:2]]) * 1e155, gamma=1.0)
    assert -2 * 2 / (60 * 52) <= value < 0


@pytest.mark.parametrize("scale", [1e-60, 1e60])
def test_coral_distance_puts_its_scale_back_exactly(scale):
    F, _, G = _features()
    assert coral_distance(F * scale, G * scale) == pytest.approx(
        coral_distance(F, G) * scale**4, rel=1e-9
    )


@pytest.mark.parametrize("scale", [1e155, 1e160])
def test_coral_distance_beyond_float64_is_refused(scale):
    F, _, G = _features()
    with pytest.raises(ValueError, match="beyond the range of float64"):
        coral_distance(F * scale, G * scale)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_transfer_curve_refuses_a_non_finite_score(bad):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sktransfer.plotting import TransferCurveDisplay

    with pytest.raises(ValueError, match=r"results\['a'\]\[1\] holds 1 score"):
        TransferCurveDisplay.from_results({"a": {1: [0.5, bad], 5: [0.7]}})
    with pytest.raises(ValueError, match="not finite"):
        TransferCurveDisplay.from_results({"a": {1: bad, 5: 0.7}})
