"""The one contract of the shallow methods, validated once for all of them:
``fit(X_target, y_target)`` with the labelled source rows in
``source=Source(X=..., y=...)``.

:func:`classification_rows`, :func:`regression_rows` and
:func:`transformer_rows` validate what such a ``fit`` receives: the target
rows and their labels, the source rows (arrays, or the paths of ``.npy``
files) and labels, and the target rows' ``sample_weight``. The marker of
unlabelled target rows (``unlabelled``, ``NaN`` for a regressor) counts only
when there is a source, as in :class:`~sktransfer.TransferClassifier`:
without one every row is a labelled row and ``-1`` is a class like any
other. With ``accept_sparse`` (scikit-learn's formats, e.g. ``"csr"``),
sparse target and source rows stay sparse; without it, ``dense_because``
says in the error why the estimator needs dense rows.

:func:`target_rows` validates the target rows of the deprecated contract,
given to the constructor (``CORAL(X_target)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import is_regressor
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .._labels import (
    check_label_kinds,
    check_marker_type,
    check_source_labels,
    labelled_rows,
    marked,
    retyped,
)
from ..source import Source, opened


@dataclass
class Rows:
    """The rows a ``fit`` works on, validated (float64 features; sparse
    only with ``accept_sparse``)."""

    X: np.ndarray  # every target row
    labelled: np.ndarray  # mask of the target rows that carry a label
    y: np.ndarray  # the labels of those rows (typed as Source.y's if none)
    sample_weight: np.ndarray  # of every target row (ones when not given)
    X_source: np.ndarray  # (0, n_features) without a source
    y_source: np.ndarray  # empty without a source

    @property
    def has_source(self) -> bool:
        return self.X_source.shape[0] > 0  # a Source has at least one row

    @property
    def X_labelled(self):
        """The source rows, then the labelled target rows."""
        return stack(self.X_source, self.X[self.labelled])

    @property
    def y_labelled(self) -> np.ndarray:
        """Labels of :attr:`X_labelled`."""
        if not len(self.y):
            return self.y_source
        if not len(self.y_source):
            return self.y
        return np.concatenate([self.y_source, self.y])

    def weights_labelled(self, source_weight=None, target_weight=1.0) -> np.ndarray:
        """Weights of :attr:`X_labelled`: ``source_weight`` (ones by default)
        for the source rows, ``target_weight`` times ``sample_weight`` for
        the labelled target rows."""
        if source_weight is None:
            source_weight = np.ones(self.X_source.shape[0])
        labelled = self.sample_weight[self.labelled]
        if target_weight != 1.0:
            labelled = target_weight * labelled
        return np.concatenate([source_weight, labelled])


def stack(*blocks):
    """The rows of ``blocks`` one after the other: sparse (CSR) when a block
    is sparse, else an ndarray. Blocks without rows are left out."""
    blocks = [b for b in blocks if b.shape[0]] or list(blocks[:1])
    if len(blocks) == 1:
        return blocks[0]
    if any(sparse.issparse(b) for b in blocks):
        return sparse.vstack(blocks, format="csr")
    return np.vstack(blocks)


def column_names(X) -> list[str] | None:
    """A DataFrame's string column names, else ``None``."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def _check_source(estimator) -> Source | None:
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


def _check_dense(estimator, name: str, value, dense_because: str | None) -> None:
    """A ``TypeError`` saying why, when ``value`` is sparse."""
    if dense_because is not None and sparse.issparse(value):
        raise TypeError(
            f"{type(estimator).__name__} takes dense rows only, but {name} is "
            f"a sparse matrix: {dense_because}. Give dense rows (X.toarray(), "
            "if they fit in memory)."
        )


def _target_X(estimator, X, accept_sparse, dense_because, min_rows):
    """The target rows ``X``, validated (sets ``n_features_in_``)."""
    _check_dense(estimator, "X", X, dense_because)
    return validate_data(
        estimator, X, dtype=np.float64, ensure_min_samples=min_rows,
        accept_sparse=accept_sparse,
    )  # fmt: skip


def _source_X(estimator, source: Source, X, names, accept_sparse, dense_because):
    """``Source.X`` as float64 rows with the features of the target rows
    ``X`` (whose column names were ``names``). Not copied when float64."""
    _check_dense(estimator, "Source.X", source.X, dense_because)
    X_source = check_array(
        opened(source.X, "Source.X"), dtype=np.float64, input_name="Source.X",
        accept_sparse=accept_sparse,
    )  # fmt: skip
    _check_same_columns(
        ("Source.X", X_source, source.X), ("X (the target rows)", X, names)
    )
    return X_source


def _check_same_columns(other, fitted) -> None:
    """The rows of the other domain, ``(name, validated, as given)``, have
    the features of the rows ``fit`` received, ``(name, validated, their
    column names)``: as many, and the same names in the same order."""
    name, rows, given = other
    fit_name, fit_rows, names = fitted
    if rows.shape[1] != fit_rows.shape[1]:
        raise ValueError(
            f"{name} has {rows.shape[1]} features but {fit_name} has "
            f"{fit_rows.shape[1]}: both domains need the same features."
        )
    other_names = column_names(given)
    if names is not None and other_names is not None and names != other_names:
        raise ValueError(
            f"{name} and {fit_name} have different column names or a different "
            "column order; give both the same columns."
        )


def _source_y(source: Source, n_rows: int) -> np.ndarray:
    if source.y is None:
        raise ValueError(
            "Source.y is None: this estimator learns from labelled source rows, "
            "Source(X=X_source, y=y_source)."
        )
    y_source = column_or_1d(np.asarray(opened(source.y, "Source.y")))
    if len(y_source) != n_rows:
        raise ValueError(
            f"Source.X has {n_rows} rows but Source.y has {len(y_source)} labels."
        )
    return y_source


def sample_weights(sample_weight, n: int) -> np.ndarray:
    """``sample_weight`` as ``n`` finite non-negative floats, not all zero
    (ones if None; a number: that weight for every row)."""
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
    if n and not weights.any():
        raise ValueError(
            "sample_weight is zero for every target row: at least one weight "
            "must be non-zero."
        )
    return weights


def classification_rows(
    estimator, X, y=None, sample_weight=None, *, unlabelled=-1,
    accept_sparse=False, dense_because=None, min_rows=1,
) -> Rows:  # fmt: skip
    """Validate ``fit(X, y, sample_weight)`` of a classifier and its source.

    ``y=None`` (with a source) means every target row is unlabelled; rows of
    ``y`` equal to ``unlabelled`` are unlabelled when there is a source.
    Without a source every row needs a label. Sets ``n_features_in_`` (and
    ``feature_names_in_``) from ``X``, and the marker :class:`LabelledScore`
    leaves out.
    """
    source = _check_source(estimator)
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
        if marker is None:
            raise ValueError(
                "y is None (no target label) but unlabelled=None says every row "
                "is labelled; give y, or keep unlabelled=-1."
            )
        X = _target_X(estimator, X, accept_sparse, dense_because, min_rows)
        y = np.full(X.shape[0], marker, dtype=object)
    else:
        # Before validate_data, which turns [0, "a"] into the strings "0", "a".
        check_label_kinds(y, marker)
        _check_dense(estimator, "X", X, dense_because)
        X, y = validate_data(
            estimator, X, y, dtype=np.float64, ensure_min_samples=min_rows,
            accept_sparse=accept_sparse,
        )  # fmt: skip
    check_marker_type(y, marker)
    unmarked = ~marked(y, marker)
    y_labelled = retyped(y[unmarked]) if not unmarked.all() else y
    if len(y_labelled):
        check_classification_targets(y_labelled)
    if not across:
        X_source, y_source = np.empty((0, X.shape[1])), y_labelled[:0]
    else:
        X_source = _source_X(estimator, source, X, names, accept_sparse, dense_because)
        check_label_kinds(source.y, marker, "Source.y")
        y_source = _source_y(source, X_source.shape[0])
        check_source_labels(y_source, marker)
        if not len(y_labelled):  # typed as the source's, for concatenation
            y_labelled = y_source[:0]
        if len(y_labelled) and _is_text(y_labelled) != _is_text(y_source):
            raise ValueError(
                "y and Source.y hold labels of different types (strings in one, "
                "numbers in the other): as one array the numbers would become "
                "strings. Give both the same type of label."
            )
    weights = sample_weights(sample_weight, X.shape[0])
    estimator._marker = marker  # what LabelledScore leaves out
    return Rows(X, unmarked, y_labelled, weights, X_source, y_source)


def _is_text(labels: np.ndarray) -> bool:
    labels = np.asarray(labels)
    if labels.dtype.kind in "US":
        return True
    return labels.dtype.kind == "O" and any(isinstance(v, str) for v in labels)


def regression_rows(
    estimator, X, y=None, sample_weight=None, *, accept_sparse=False, min_rows=1
) -> Rows:
    """Validate ``fit(X, y, sample_weight)`` of a regressor and its source.

    With a source, ``NaN`` in ``y`` marks an unlabelled target row and
    ``y=None`` means every target row is unlabelled; without one, ``y`` is
    validated as scikit-learn does (no ``NaN``).
    """
    source = _check_source(estimator)
    if source is None:
        X, y = validate_data(
            estimator, X, y, dtype=np.float64, y_numeric=True,
            ensure_min_samples=min_rows, accept_sparse=accept_sparse,
        )  # fmt: skip
        labelled = np.ones(len(y), dtype=bool)
        X_source, y_source = np.empty((0, X.shape[1])), np.empty(0)
    else:
        names = column_names(X)
        X = _target_X(estimator, X, accept_sparse, None, min_rows)
        if y is None:
            y = np.full(X.shape[0], np.nan)
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan",
            input_name="y",
        )  # fmt: skip
        y = column_or_1d(y)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} values.")
        labelled = ~np.isnan(y)
        X_source = _source_X(estimator, source, X, names, accept_sparse, None)
        y_source = check_array(
            _source_y(source, X_source.shape[0]), ensure_2d=False,
            dtype=np.float64, input_name="Source.y",
        )  # fmt: skip
    weights = sample_weights(sample_weight, X.shape[0])
    estimator._marker = None if source is None else np.nan  # for LabelledScore
    return Rows(X, labelled, y[labelled], weights, X_source, y_source)


def transformer_rows(
    estimator, X, *, accept_sparse=False, dense_because=None, min_rows=2
):
    """Validate ``fit(X)`` of a transformer: ``(X_target, X_source or None)``.
    ``Source.y`` is not needed (nor read)."""
    source = _check_source(estimator)
    names = column_names(X)
    X = _target_X(estimator, X, accept_sparse, dense_because, min_rows)
    if source is None:
        return X, None
    X_source = _source_X(estimator, source, X, names, accept_sparse, dense_because)
    if X_source.shape[0] < min_rows:
        raise ValueError(
            f"Source.X has {X_source.shape[0]} rows; at least {min_rows} are needed."
        )
    return X, X_source


def target_rows(
    estimator, X: np.ndarray, names: list[str] | None = None, min_rows: int = 1
) -> np.ndarray:
    """The deprecated contract: ``estimator.X_target`` as float64 rows with
    the features of the validated source rows ``X`` (whose column names were
    ``names``)."""
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
    _check_same_columns(
        ("X_target", X_target, estimator.X_target), ("X (the source rows)", X, names)
    )
    return X_target


class LabelledScore:
    """``score`` on the labelled rows: after a fit with a source, rows of
    ``y`` carrying the unlabelled marker (``NaN`` for a regressor) are left
    out, so that a search over partly labelled target rows ranks its
    candidates on the labelled ones; a ``ValueError`` when every row is
    marked. Put it before scikit-learn's ``ClassifierMixin``/``RegressorMixin``.
    """

    def score(self, X, y, sample_weight=None):
        """The score of the estimator's mixin on the labelled rows of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Target rows.
        y : array-like of shape (n_samples,)
            True labels (values); after a fit with a source, rows marked
            unlabelled are left out.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy for a classifier, R² for a regressor (greater is better).
        """
        needs = (
            "R² needs target values" if is_regressor(self) else "accuracy needs labels"
        )
        marker = getattr(self, "_marker", None)
        X, y, sample_weight = labelled_rows(X, y, sample_weight, marker, needs)
        return super().score(X, y, sample_weight=sample_weight)
