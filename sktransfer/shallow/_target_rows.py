"""The target rows a shallow method takes in its constructor, checked against
the source rows it is fitted on."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_array


def check_regularization(value) -> float:
    """A positive finite number, or a clear ``ValueError``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"regularization must be a positive finite number, got {value!r}."
        )
    return float(value)


def column_names(X) -> list[str] | None:
    """A DataFrame's string column names, else ``None``."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def target_rows(
    estimator, X: np.ndarray, names: list[str] | None = None, min_rows: int = 1
) -> np.ndarray:
    """``estimator.X_target`` as float64 rows with the features of the
    validated source rows ``X`` (whose column names were ``names``)."""
    if estimator.X_target is None:
        raise ValueError(
            f"X_target is None: pass the target rows, {type(estimator).__name__}"
            "(X_target), an array-like of shape (n_target_samples, n_features)."
        )
    X_target = check_array(
        estimator.X_target,
        dtype=np.float64,
        ensure_min_samples=min_rows,
        input_name="X_target",
    )
    if X_target.shape[1] != X.shape[1]:
        raise ValueError(
            f"X_target has {X_target.shape[1]} features but X (the source "
            f"rows) has {X.shape[1]}: both domains need the same features."
        )
    target_names = column_names(estimator.X_target)
    if names is not None and target_names is not None and names != target_names:
        raise ValueError(
            "X_target and X (the source rows) have different column names "
            "or a different column order; give both the same columns."
        )
    return X_target
