"""The one contract of the shallow methods: ``fit(X_target, y_target)`` with
the labelled source rows in ``source=Source(X=..., y=...)``.

:func:`fit_rows` validates what such a ``fit`` receives, once for every
shallow method: the target rows and their labels (the ``unlabelled`` marker
counts only when there are source rows to learn from, as in
:class:`~sktransfer.TransferClassifier`), the source rows and labels, and
the target rows' ``sample_weight``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .._labels import (
    check_label_kinds,
    check_marker_type,
    check_source_labels,
    marked,
    retyped,
)
from ..source import Source
from ._target_rows import column_names

__all__ = ["FitRows", "fit_rows"]


@dataclass
class FitRows:
    """What a shallow ``fit`` works on, validated."""

    X_target: np.ndarray  # every target row, float64
    labelled: np.ndarray  # mask of the target rows that carry a label
    y_target: np.ndarray  # the labels of those rows
    X_source: np.ndarray  # (0, n_features) without a source
    y_source: np.ndarray
    sample_weight: np.ndarray  # of the target rows (ones when not given)

    @property
    def y_labelled(self) -> np.ndarray:
        """Labels of :attr:`X_labelled`."""
        if not len(self.y_target):
            return self.y_source
        if not len(self.y_source):
            return self.y_target
        return np.concatenate([self.y_source, self.y_target])

    def weights_labelled(self, source_weight: np.ndarray | None = None) -> np.ndarray:
        """Weights of :attr:`X_labelled`: ``source_weight`` (ones by default)
        for the source rows, ``sample_weight`` for the labelled target rows."""
        if source_weight is None:
            source_weight = np.ones(self.X_source.shape[0])
        return np.concatenate([source_weight, self.sample_weight[self.labelled]])


def fit_rows(
    estimator, X, y=None, sample_weight=None, *, unlabelled=-1, accept_sparse=False
) -> FitRows:
    """Validate the target rows ``X`` (labels ``y``, ``None``: all unlabelled)
    and the rows of ``estimator.source`` for a shallow ``fit``.

    ``unlabelled`` marks target rows without a label when the source has
    rows; without a source every row needs a label (``-1`` is then a class).
    Sets ``n_features_in_`` (and ``feature_names_in_``) from ``X``. With
    ``accept_sparse``, CSR/CSC input (target and source rows) stays sparse.
    """
    sparse_formats = ("csr", "csc") if accept_sparse else False
    source = estimator.source
    if source is not None and not isinstance(source, Source):
        raise TypeError(
            f"source must be None or a sktransfer.Source holding the labelled "
            f"source rows, Source(X=X_source, y=y_source); got "
            f"{type(source).__name__}."
        )
    if source is not None and (source.X is None or source.y is None):
        raise ValueError(
            f"{type(estimator).__name__} learns from the source rows: give "
            "source=Source(X=X_source, y=y_source) (pretrained weights alone "
            "are for the network estimators)."
        )
    across = source is not None
    marker = unlabelled if across else None
    names = column_names(X)
    if y is None:
        if not across:
            raise ValueError(
                f"{type(estimator).__name__} requires y to be passed, but the "
                "target y is None and there is no source: give "
                "source=Source(X=X_source, y=y_source) and fit(X_target), or a "
                "label for every row of X."
            )
        X = validate_data(
            estimator, X, dtype=np.float64, ensure_min_samples=1,
            accept_sparse=sparse_formats,
        )  # fmt: skip
        y = np.full(X.shape[0], unlabelled, dtype=object)
    else:
        check_label_kinds(y, marker)
        X, y = validate_data(
            estimator, X, y, dtype=np.float64, ensure_min_samples=1,
            accept_sparse=sparse_formats,
        )  # fmt: skip
    check_marker_type(y, marker)
    unmarked = ~marked(y, marker)
    y_target = retyped(y[unmarked]) if not unmarked.all() else y
    if len(y_target):
        check_classification_targets(y_target)
    if across:
        X_source = check_array(
            source.X, dtype=np.float64, input_name="Source.X",
            accept_sparse=sparse_formats,
        )  # fmt: skip
        if X_source.shape[1] != X.shape[1]:
            raise ValueError(
                f"Source.X has {X_source.shape[1]} features but X (the target "
                f"rows) has {X.shape[1]}: both domains need the same features."
            )
        source_names = column_names(source.X)
        if names is not None and source_names is not None and names != source_names:
            raise ValueError(
                "Source.X and X (the target rows) have different column names "
                "or a different column order; give both the same columns."
            )
        check_label_kinds(source.y, marker, "Source.y")
        y_source = column_or_1d(np.asarray(source.y))
        check_source_labels(y_source, marker)
        if len(y_source) != X_source.shape[0]:
            raise ValueError(
                f"Source.X has {X_source.shape[0]} rows but Source.y has "
                f"{len(y_source)} labels."
            )
    else:
        X_source = np.empty((0, X.shape[1]))
        y_source = np.empty(0, dtype=y_target.dtype)
    return FitRows(
        X, unmarked, y_target, X_source, y_source, _weights(sample_weight, X.shape[0])
    )


def _weights(sample_weight, n: int) -> np.ndarray:
    """``sample_weight`` as ``n`` finite non-negative floats (ones if None)."""
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n, float(weights))
    if weights.shape != (n,):
        raise ValueError(
            f"sample_weight must have shape ({n},) like the target rows, got "
            f"{weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    return weights
