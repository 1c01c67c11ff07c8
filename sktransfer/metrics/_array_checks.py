"""Input checks and small helpers shared by the label-free validation scores."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import entr
from sklearn.base import clone
from sklearn.utils import check_array, check_random_state

#: Rows of a probability matrix must sum to 1 within this absolute tolerance.
PROBA_SUM_ATOL = 1e-4
# Domain-classifier probabilities are kept in [eps, 1 - eps] before the ratio.
_PROBA_EPS = 1e-12
# Entries of one similarity block in soft_neighborhood_density (32 MiB).
_SND_BLOCK = 2**22


# --- input validation ---------------------------------------------------------


def _check_real(value: Any, name: str, *, low: float, allow_inf: bool = False):
    """A real number > ``low``; bools are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if not value > low:
        raise ValueError(f"{name} must be > {low:g}, got {value!r}.")
    return value


def _check_matrix(X: Any, name: str) -> np.ndarray:
    """2-D, numeric, finite, at least one row and column."""
    return check_array(X, dtype=np.float64, input_name=name)


def _check_proba(proba: Any, name: str, *, min_samples: int = 1) -> np.ndarray:
    """Rows of class probabilities: 2-D, finite, in [0, 1], summing to 1."""
    p = check_array(
        proba, dtype=np.float64, input_name=name, ensure_min_samples=min_samples
    )
    if p.shape[1] < 2:
        raise ValueError(
            f"{name} must have one column per class and at least 2 columns, got "
            f"shape {p.shape}. Pass predict_proba's output, not predict's."
        )
    if (p < 0).any() or (p > 1 + PROBA_SUM_ATOL).any():
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; found values in "
            f"[{p.min():.4g}, {p.max():.4g}]. Pass softmax outputs, not logits."
        )
    sums = p.sum(axis=1)
    bad = np.abs(sums - 1.0) > PROBA_SUM_ATOL
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Each row of {name} must sum to 1 (within {PROBA_SUM_ATOL:g}); "
            f"{int(bad.sum())} row(s) do not, e.g. row {row} sums to "
            f"{sums[row]:.6g}. Pass softmax outputs, not logits or scores."
        )
    return p / sums[:, None]


def _check_vector(x: Any, name: str, *, numeric: bool) -> np.ndarray:
    """1-D and non-empty; finite when numeric."""
    if numeric:
        arr = check_array(x, dtype=np.float64, ensure_2d=False, input_name=name)
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty.")
    if not numeric and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _check_label_kinds(**labels: np.ndarray) -> None:
    """Refuse comparing text labels with numbers: every row would mismatch."""
    kinds = {
        name: "text" if a.dtype.kind in "US" else "numeric"
        for name, a in labels.items()
        if a.dtype.kind != "O"  # object arrays may hold either: not checked
    }
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{name} is {kind}" for name, kind in kinds.items())
        raise ValueError(
            f"Labels of different kinds cannot match: {listed}. Use the same "
            "label type (e.g. the classifier's classes_) on both sides."
        )


def _check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    w = _check_vector(weights, name, numeric=True)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} entries for {n} rows.")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative; the smallest is {w.min():g}.")
    if not w.sum() > 0:
        raise ValueError(f"{name} are all zero: no row counts.")
    return w


def _check_lengths(**arrays: np.ndarray) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"Inconsistent numbers of rows: {listed}.")


def _check_estimator(estimator: Any, name: str, *, proba: bool) -> None:
    needed = ("fit", "predict_proba") if proba else ("fit", "predict")
    missing = [m for m in needed if not hasattr(estimator, m)]
    if missing:
        raise ValueError(
            f"{name} must be a scikit-learn classifier with "
            f"{' and '.join(needed)}; {estimator!r} has no {', '.join(missing)}."
        )


def _seeded_clone(estimator: Any, random_state: Any) -> Any:
    """A clone whose ``random_state`` parameters (nested ones too, e.g. in a
    Pipeline) are seeded from ``random_state`` when it is given."""
    est = clone(estimator)
    if random_state is None:
        return est
    rng = check_random_state(random_state)
    keys = sorted(
        key
        for key in est.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    )
    est.set_params(**{key: int(rng.randint(np.iinfo(np.int32).max)) for key in keys})
    return est


def _power_of_two_scale(*arrays: np.ndarray) -> int:
    """The exponent ``e`` such that ``np.ldexp(a, -e)`` has its largest
    absolute value, over all ``arrays``, in ``[0.5, 1)`` (``0`` when every
    entry is 0).

    Dividing by a power of two is exact in floating point (short of the
    subnormal range), so a metric that does not depend on the features'
    scale, or whose scale can be put back exactly, computes on the scaled
    values and squares, sums or multiplies them without overflowing (around
    1e155 a square overflows float64) or underflowing to 0 (around 1e-155).
    """
    top = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in arrays)
    if not (np.isfinite(top) and top > 0):
        return 0
    return int(np.frexp(top)[1])


def _entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row; ``0 log 0 = 0``."""
    return entr(p).sum(axis=-1)


# --- scores on the target's predicted probabilities ---------------------------
