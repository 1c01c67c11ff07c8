"""What the estimators of the one contract read in ``fit``: the target rows
(``fit(X_target, y_target)``, unlabelled rows marked) and the labelled source
rows of ``source=Source(X=..., y=...)``, validated once for all of them.

Used by the instance-based (:mod:`._importance`, :mod:`._tradaboost`) and
subspace (:mod:`._subspace`) estimators. The marker of unlabelled target rows
counts only when the source has rows, as in
:class:`~sktransfer.TransferClassifier`: without a source every row is a
labelled row and ``-1`` is a class like any other.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._labels import (
    check_label_kinds,
    check_marker_type,
    check_source_labels,
    marked,
    retyped,
)
from ..source import Source, _opened
from ._target_rows import column_names


@dataclass
class Rows:
    """The rows a ``fit`` works on, validated (float64 features)."""

    X: np.ndarray  # every target row
    labelled: np.ndarray  # mask of the target rows that carry a label
    y: np.ndarray  # the labels of those rows
    sample_weight: np.ndarray  # of every target row (ones when not given)
    X_source: np.ndarray | None  # None without a source
    y_source: np.ndarray | None


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def positive_float(value, name: str, *, zero: bool = False) -> float:
    """A finite number above 0 (at least 0 with ``zero``), or a ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number, got {value!r}.")
    return float(value)


def bandwidth_value(value) -> float | None:
    """``bandwidth`` checked: ``None`` for ``"median"``, else a positive float."""
    if isinstance(value, str):
        if value == "median":
            return None
        raise ValueError(
            f"bandwidth must be 'median' or a positive number, got {value!r}."
        )
    return positive_float(value, "bandwidth")


def median_bandwidth(*blocks: np.ndarray, rng, max_rows: int = 1000) -> float:
    """The median heuristic: the median Euclidean distance between distinct
    rows of the stacked ``blocks``, on at most ``max_rows`` rows drawn with
    ``rng``. 1.0 when every row is the same."""
    Z = np.vstack(blocks)
    if len(Z) > max_rows:
        Z = Z[np.sort(rng.choice(len(Z), max_rows, replace=False))]
    sq = np.einsum("ij,ij->i", Z, Z)
    d2 = sq[:, None] + sq[None, :] - 2 * Z @ Z.T
    d2 = d2[np.triu_indices(len(Z), k=1)]
    d2 = d2[d2 > 1e-12 * max(float(sq.max()), 1.0)]
    return float(np.sqrt(np.median(d2))) if len(d2) else 1.0


def rbf_kernel(A: np.ndarray, B: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-||a - b||^2 / (2 sigma^2))`` for every row pair."""
    d2 = (
        np.einsum("ij,ij->i", A, A)[:, None]
        + np.einsum("ij,ij->i", B, B)[None, :]
        - 2 * A @ B.T
    )
    np.maximum(d2, 0.0, out=d2)
    d2 *= -0.5 / sigma**2
    return np.exp(d2, out=d2)


def _check_source_type(estimator) -> Source | None:
    source = estimator.source
    if source is None:
        return None
    if not isinstance(source, Source):
        raise TypeError(
            f"source must be None or a sktransfer.Source holding the source "
            f"rows, Source(X=X_source, y=y_source); got {type(source).__name__}."
        )
    if source.X is None:
        raise ValueError(
            f"{type(estimator).__name__} learns from the source rows: give "
            "source=Source(X=X_source, y=y_source) (pretrained weights alone "
            "are for the network estimators)."
        )
    return source


def source_X(estimator, source: Source, X: np.ndarray, names) -> np.ndarray:
    """``Source.X`` as float64 rows with the features of the target rows ``X``
    (whose column names were ``names``). Not copied when it is float64."""
    X_source = check_array(
        _opened(source.X, "Source.X"), dtype=np.float64, input_name="Source.X"
    )
    if X_source.shape[1] != X.shape[1]:
        raise ValueError(
            f"Source.X has {X_source.shape[1]} features but X (the target rows) "
            f"has {X.shape[1]}: both domains need the same features."
        )
    source_names = column_names(source.X)
    if names is not None and source_names is not None and names != source_names:
        raise ValueError(
            "Source.X and X (the target rows) have different column names or a "
            "different column order; give both the same columns."
        )
    return X_source


def _source_y(source: Source, X_source: np.ndarray) -> np.ndarray:
    if source.y is None:
        raise ValueError(
            "Source.y is None: this estimator learns from labelled source rows, "
            "Source(X=X_source, y=y_source)."
        )
    y_source = column_or_1d(np.asarray(_opened(source.y, "Source.y")))
    if len(y_source) != len(X_source):
        raise ValueError(
            f"Source.X has {len(X_source)} rows but Source.y has "
            f"{len(y_source)} labels."
        )
    return y_source


def classification_rows(
    estimator, X, y, sample_weight, marker, min_rows: int = 1
) -> Rows:
    """Validate ``fit(X, y, sample_weight)`` of a classifier and its source.

    ``y=None`` (with a source) means every target row is unlabelled; rows of
    ``y`` equal to ``marker`` are unlabelled when the source has rows.
    """
    source = _check_source_type(estimator)
    across = source is not None
    marker = marker if across else None
    names = column_names(X)
    if y is None and across:
        if marker is None:
            raise ValueError(
                "y is None (no target label) but unlabelled=None says every row "
                "is labelled; give y, or keep unlabelled=-1."
            )
        X = validate_data(estimator, X, dtype=np.float64, ensure_min_samples=min_rows)
        y = np.full(len(X), marker, dtype=object)
    else:
        # Before validate_data, which turns [0, "a"] into the strings "0", "a".
        if y is not None:
            check_label_kinds(y, marker)
        X, y = validate_data(
            estimator, X, y, dtype=np.float64, ensure_min_samples=min_rows
        )
    check_marker_type(y, marker)
    unlabelled = marked(y, marker)
    y_labelled = retyped(y[~unlabelled]) if unlabelled.any() else y
    if len(y_labelled):
        check_classification_targets(y_labelled)
    X_source = y_source = None
    if across:
        X_source = source_X(estimator, source, X, names)
        check_label_kinds(source.y, marker, "Source.y")
        y_source = _source_y(source, X_source)
        check_source_labels(y_source, marker)
        if not len(y_labelled):  # typed as the source's, for concatenation
            y_labelled = y_source[:0]
        if len(y_labelled) and _is_text(y_labelled) != _is_text(y_source):
            raise ValueError(
                "y and Source.y hold labels of different types (strings in one, "
                "numbers in the other): as one array the numbers would become "
                "strings. Give both the same type of label."
            )
    weights = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    return Rows(X, ~unlabelled, y_labelled, weights, X_source, y_source)


def _is_text(labels: np.ndarray) -> bool:
    labels = np.asarray(labels)
    if labels.dtype.kind in "US":
        return True
    return labels.dtype.kind == "O" and any(isinstance(v, str) for v in labels)


def regression_rows(estimator, X, y, sample_weight, min_rows: int = 1) -> Rows:
    """Validate ``fit(X, y, sample_weight)`` of a regressor and its source.

    With a source, ``NaN`` in ``y`` marks an unlabelled target row and
    ``y=None`` means every target row is unlabelled; without one, ``y`` is
    validated as scikit-learn does (no ``NaN``).
    """
    source = _check_source_type(estimator)
    X_source = y_source = None
    if source is None:
        X, y = validate_data(
            estimator, X, y, dtype=np.float64, y_numeric=True,
            ensure_min_samples=min_rows,
        )  # fmt: skip
        labelled = np.ones(len(y), dtype=bool)
    else:
        names = column_names(X)
        X = validate_data(estimator, X, dtype=np.float64, ensure_min_samples=min_rows)
        if y is None:
            y = np.full(len(X), np.nan)
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan",
            input_name="y",
        )  # fmt: skip
        y = column_or_1d(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} values.")
        labelled = ~np.isnan(y)
        X_source = source_X(estimator, source, X, names)
        y_source = check_array(
            _source_y(source, X_source), ensure_2d=False, dtype=np.float64,
            input_name="Source.y",
        )  # fmt: skip
    weights = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    return Rows(X, labelled, y[labelled], weights, X_source, y_source)


def transformer_rows(estimator, X, min_rows: int = 2):
    """Validate ``fit(X)`` of a transformer: ``(X_target, X_source or None)``.
    ``Source.y`` is not needed (nor read)."""
    source = _check_source_type(estimator)
    names = column_names(X)
    X = validate_data(estimator, X, dtype=np.float64, ensure_min_samples=min_rows)
    if source is None:
        return X, None
    X_source = source_X(estimator, source, X, names)
    if len(X_source) < min_rows:
        raise ValueError(
            f"Source.X has {len(X_source)} rows; at least {min_rows} are needed."
        )
    return X, X_source
