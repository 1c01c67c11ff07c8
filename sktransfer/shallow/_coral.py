"""Shallow domain adaptation of tabular features, without a network.

:class:`CORAL` re-colours source rows so that their covariance matches the
target's ("Return of Frustratingly Easy Domain Adaptation", Sun, Feng and
Saenko, AAAI 2016); a scikit-learn model trained on the re-coloured source
rows then predicts target rows as they are.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    OneToOneFeatureMixin,
    clone,
    is_regressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._checks import positive_float
from ._contract import (
    LabelledScore,
    Rows,
    classification_rows,
    column_names,
    target_rows,
)
from ._spectrum import spectrum

__all__ = ["CORAL"]

_FLOATS = (np.float64, np.float32)


class CORAL(LabelledScore, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """CORrelation ALignment: re-colour the source rows with the target covariance.

    Like every estimator here, ``fit`` is about the target: ``fit(X_target,
    y_target)``, with ``-1`` for unlabelled target rows (all ``-1``, or
    ``y=None``: unsupervised), and the labelled source rows in
    ``source=Source(X=X_source, y=y_source)``. The source rows are whitened
    with the source covariance and re-coloured with the target's (Sun, Feng and
    Saenko, "Return of Frustratingly Easy Domain Adaptation", AAAI 2016)::

        C_s = cov(X_source) + regularization * I
        C_t = cov(X_target) + regularization * I     # every target row
        A_ = C_s^(-1/2) @ C_t^(1/2)                  # symmetric square roots
        X_source' = X_source @ A_

    and ``estimator`` (a classifier; ``LogisticRegression()`` by default) is
    fitted on the re-coloured source rows and the labelled target rows as they
    are; ``predict(X)`` classifies target rows as they are. Without a source
    (``source=None``) there is nothing to re-colour: ``estimator`` is fitted on
    the labelled rows of ``X`` (every label then counts, ``-1`` included).

    Parameters
    ----------
    X_target : array-like of shape (n_target_samples, n_features), default=None
        Deprecated: the old contract, where the target rows came in here and
        ``fit`` took the source rows, ``CORAL(X_target).fit_transform(X_source)``
        returning them re-coloured (a transformer for a ``Pipeline``). It still
        works, with a ``FutureWarning``, for one release; use ``source=`` and
        ``fit(X_target, y_target)`` instead.
    regularization : float, default=1.0
        Added to the diagonal of both covariance matrices (the paper's
        ``eye(d)``), which keeps the whitening stable when the source covariance
        is singular. Must be positive. The paper's value of 1 is meant for
        standardised features; on features of another scale choose it relative
        to their variance.
    center : bool, default=False
        If True, also move the source mean to the target mean:
        ``X_source' = (X_source - mean_source) @ A_ + mean_target``. The paper
        aligns second-order statistics only.
    source : Source, default=None
        The labelled source rows, ``Source(X=X_source, y=y_source)``, with the
        target's features in the same order. Kept by reference through
        ``clone``.
    estimator : classifier, default=None
        The model fitted on the re-coloured source rows (and the labelled target
        rows); ``None`` means ``LogisticRegression()``. Cloned in ``fit``.
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled target row (when there are
        source rows). With labels coded ``{-1, 1}`` pass another marker.

    Attributes
    ----------
    A_ : ndarray of shape (n_features, n_features)
        The linear map applied to the source rows, ``C_s^(-1/2) @ C_t^(1/2)``
        (the identity without source rows).
    offset_ : ndarray of shape (n_features,)
        Added after the map: ``mean_target - mean_source @ A_`` when
        ``center=True``, zeros otherwise.
    estimator_ : classifier
        The fitted ``estimator`` (not with the deprecated ``X_target``).
    classes_ : ndarray
        The class labels (not with the deprecated ``X_target``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sktransfer.adaptation.DeepCORAL : The same alignment as a loss on a
        network's features, trained end to end.
    sktransfer.metrics.coral_distance : The covariance gap between two domains.

    Notes
    -----
    ``sample_weight`` in ``fit`` weighs the labelled target rows in the
    estimator's loss (it must accept ``sample_weight``); source rows weigh 1.

    With the deprecated ``X_target``, ``fit_transform(X_source)`` returns the
    re-coloured source rows but ``transform(X)`` returns ``X`` unchanged: rows a
    fitted ``Pipeline`` predicts are target rows, already in the target's
    colours.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer import CORAL, Source
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(500, 2))
    >>> y_source = (X_source.sum(axis=1) > 0).astype(int)
    >>> stretch = np.array([[3.0, 1.0], [1.0, 0.5]])  # the target's distortion
    >>> X_target_clean = rng.normal(size=(500, 2))
    >>> y_target = (X_target_clean.sum(axis=1) > 0).astype(int)
    >>> X_target = X_target_clean @ stretch
    >>> coral = CORAL(regularization=1e-6, source=Source(X=X_source, y=y_source))
    >>> coral = coral.fit(X_target)  # unsupervised: no target label
    >>> coral.A_.round(1)  # an isotropic source: the map finds the distortion
    array([[3. , 1. ],
           [1. , 0.5]])
    >>> raw = LogisticRegression().fit(X_source, y_source)
    >>> print(f"{raw.score(X_target, y_target):.2f} -> "
    ...       f"{coral.score(X_target, y_target):.2f}")
    0.87 -> 0.91
    """

    def __init__(
        self,
        X_target=None,
        regularization=1.0,
        center=False,
        *,
        source=None,
        estimator=None,
        unlabelled=-1,
    ):
        self.X_target = X_target
        self.regularization = regularization
        self.center = center
        self.source = source
        self.estimator = estimator
        self.unlabelled = unlabelled

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.X_target is None  # CSR/CSC rows
        if self.X_target is not None:  # the deprecated transformer
            from sklearn.utils import TransformerTags

            tags.estimator_type = None
            tags.classifier_tags = None
            tags.transformer_tags = TransformerTags(
                preserves_dtype=["float64", "float32"]
            )
        return tags

    def _legacy(self) -> bool:
        return self.X_target is not None

    def _transforming(self) -> bool:
        return self._legacy()

    def _predicting(self) -> bool:
        return not self._legacy()

    def _fit_spectra(self, source, target, names) -> None:
        """Learn the map from thin eigen-decompositions of both covariances
        (exact; no ``d x d`` matrix when a domain has fewer rows than
        features, and sparse rows stay sparse); ``names``: how messages call
        the two domains."""
        reg = positive_float(self.regularization, "regularization")
        if not isinstance(self.center, bool | np.bool_):
            raise ValueError(f"center must be True or False, got {self.center!r}.")
        spectra = spectrum(source), spectrum(target)
        for name, spec in zip(names, spectra, strict=True):
            if not np.isfinite(spec.values).all():
                raise ValueError(
                    f"The covariance of {name} overflows float64: its values "
                    "are too large; rescale the features (e.g. with a "
                    "StandardScaler) before CORAL."
                )
        self._spectra = (*spectra, reg)
        d = source.shape[1]
        self.offset_ = np.zeros(d)
        if self.center:
            mean_s, mean_t = spectra[0].mean, spectra[1].mean
            self.offset_ = mean_t - self._recolour(mean_s[None, :])[0]

    def _recolour(self, X) -> np.ndarray:
        """``X @ A_ + offset_``, through the thin factors."""
        source, target, reg = self._spectra
        whitened = source.power_rows(X, reg, -0.5)
        return target.power_rows(whitened, reg, 0.5) + self.offset_

    @property
    def A_(self) -> np.ndarray:  # noqa: N802 (scikit-learn's fitted-attribute style)
        """The linear map applied to the source rows (computed when first
        read from the fitted factors; ``n_features`` squared floats)."""
        if getattr(self, "_A", None) is None:
            if getattr(self, "_spectra", None) is None:
                raise AttributeError("'CORAL' object has no attribute 'A_'")
            source, target, reg = self._spectra
            d = source.mean.shape[0]
            self._A = target.power_rows(
                source.power_rows(np.eye(d), reg, -0.5), reg, 0.5
            )
        return self._A

    def _fit_legacy(self, X) -> np.ndarray:
        """The deprecated contract: ``X`` are the source rows."""
        self._marker = None  # no scoring in this contract
        warnings.warn(
            "CORAL(X_target) with the source rows in fit is deprecated and will "
            "be removed in the next release: pass the source as "
            "CORAL(source=Source(X=X_source, y=y_source), estimator=...) and "
            "call fit(X_target, y_target), like every sktransfer estimator.",
            FutureWarning,
            stacklevel=3,
        )
        names = column_names(X)
        X = validate_data(self, X, dtype=_FLOATS, ensure_min_samples=2)
        X_target = target_rows(self, X, names, min_rows=2)
        self._A = None
        self._fit_spectra(
            X.astype(np.float64, copy=False),
            X_target,
            ("X (the source rows)", "X_target"),
        )
        return X

    def fit(self, X, y=None, sample_weight=None):
        """Re-colour the source rows for the target rows ``X``, then fit
        ``estimator`` on them and the labelled target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows (with the deprecated ``X_target``: the source rows).
        y : array-like of shape (n_samples,), default=None
            Target labels, ``unlabelled`` (``-1``) for rows without one;
            ``None``: no target label (needs a source).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the target rows in the estimator's loss.

        Returns
        -------
        self : CORAL
            The fitted estimator.
        """
        if self._legacy():
            self._fit_legacy(X)
            return self
        self._check_is_classifier()
        rows = classification_rows(
            self, X, y, sample_weight, unlabelled=self.unlabelled,
            accept_sparse=("csr", "csc"),
        )  # fmt: skip
        self._A = None
        recoloured = self._fit_map(rows)
        X_train, y_train, weights = _training_rows(rows, recoloured)
        estimator = clone(self.estimator or LogisticRegression())
        self.estimator_ = _fit_estimator(estimator, X_train, y_train, weights)
        self.classes_ = self.estimator_.classes_
        return self

    def _check_is_classifier(self) -> None:
        if self.estimator is not None and is_regressor(self.estimator):
            raise TypeError(
                "CORAL(estimator=...) takes a classifier; regression under "
                "this contract is not supported yet."
            )

    def _fit_map(self, rows: Rows) -> np.ndarray:
        """Learn the map from the source rows to the target's colours; the
        source rows, re-coloured (none without a source)."""
        X_target, d = rows.X, rows.X.shape[1]
        if not rows.has_source:  # nothing to re-colour: the identity
            self._spectra = None
            self._A, self.offset_ = np.eye(d), np.zeros(d)
            return np.empty((0, d))
        if rows.X_source.shape[0] < 2 or X_target.shape[0] < 2:
            raise ValueError(
                "CORAL needs at least 2 source rows and 2 target rows to "
                "estimate their covariances."
            )
        self._fit_spectra(rows.X_source, X_target, ("Source.X", "X (the target rows)"))
        return self._recolour(rows.X_source)

    def _rows(self, X):
        """New target rows, validated (CSR/CSC stays sparse)."""
        return validate_data(
            self, X, dtype=np.float64, reset=False, accept_sparse=("csr", "csc")
        )

    @available_if(_predicting)
    def predict(self, X):
        """Predict the classes of target rows ``X`` (taken as they are)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(self._rows(X))

    @available_if(_predicting)
    def predict_proba(self, X):
        """Class probabilities of target rows ``X``, from ``estimator_``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(self._rows(X))

    @available_if(_predicting)
    def decision_function(self, X):
        """``estimator_``'s decision function on target rows ``X``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(self._rows(X))

    @available_if(_predicting)
    def score(self, X, y, sample_weight=None):
        return super().score(X, y, sample_weight)

    score.__doc__ = LabelledScore.score.__doc__

    @available_if(_transforming)
    def fit_transform(self, X, y=None, **fit_params):
        """Deprecated contract: fit on the source rows ``X`` and return them
        re-coloured, ``X @ A_ + offset_`` (of the dtype of ``X``)."""
        index = getattr(X, "index", None)
        X = self._fit_legacy(X)
        out = self._recolour(X.astype(np.float64, copy=False))
        return self._output(out.astype(X.dtype, copy=False), index)

    @available_if(_transforming)
    def transform(self, X):
        """Deprecated contract: return new rows unchanged (after validation);
        they are target rows, already in the target's colours."""
        check_is_fitted(self)
        index = getattr(X, "index", None)
        return self._output(validate_data(self, X, dtype=_FLOATS, reset=False), index)

    @available_if(_transforming)
    def set_output(self, *, transform=None):
        """Deprecated contract: ``"pandas"`` makes ``transform`` and
        ``fit_transform`` return DataFrames (``"default"``/``None``: arrays)."""
        if transform not in (None, "default", "pandas"):
            raise ValueError(
                f"transform must be 'default', 'pandas' or None, got {transform!r}."
            )
        self._output_pandas = transform == "pandas"
        return self

    def _output(self, out: np.ndarray, index):
        if not getattr(self, "_output_pandas", False):
            return out
        import pandas as pd

        return pd.DataFrame(out, columns=self.get_feature_names_out(), index=index)

    @available_if(_transforming)
    def get_feature_names_out(self, input_features=None):
        """Deprecated contract: the input feature names, unchanged."""
        return OneToOneFeatureMixin.get_feature_names_out(self, input_features)


def _training_rows(
    rows: Rows, recoloured: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``estimator`` is fitted on: the re-coloured source rows, then the
    labelled target rows as they are (dense: the re-coloured rows are), their
    labels and weights."""
    labelled = rows.X[rows.labelled]
    if sparse.issparse(labelled):
        labelled = labelled.toarray()
    X_train = np.vstack([recoloured, labelled])
    y_train, weights = rows.y_labelled, rows.weights_labelled()
    if not len(y_train):
        raise ValueError("There is no labelled row: give source rows or labels.")
    return X_train, y_train, weights


def _fit_estimator(estimator, X: np.ndarray, y: np.ndarray, weights: np.ndarray):
    """``estimator`` fitted on ``X, y``; with ``weights`` only when they are
    not all 1, so that an estimator without ``sample_weight`` still works."""
    if np.all(weights == 1.0):
        estimator.fit(X, y)
    elif has_fit_parameter(estimator, "sample_weight"):
        estimator.fit(X, y, sample_weight=weights)
    else:
        raise ValueError(
            f"sample_weight was given but {type(estimator).__name__}.fit "
            "takes no sample_weight."
        )
    return estimator
