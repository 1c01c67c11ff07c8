"""Shallow domain adaptation of tabular features, without a network.

:class:`CORAL` re-colours source rows so that their covariance matches the
target's ("Return of Frustratingly Easy Domain Adaptation", Sun, Feng and
Saenko, AAAI 2016); any scikit-learn model trained on the re-coloured source
rows then predicts target rows as they are.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..metrics._domain_gap import _covariance
from ._target_rows import check_regularization, column_names, target_rows

__all__ = ["CORAL"]

_FLOATS = (np.float64, np.float32)


def _regularized_powers(
    cov: np.ndarray, regularization: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(cov + regularization * I)`` to the powers ``1/2`` and ``-1/2``.

    Symmetric square roots from one eigen-decomposition. A covariance is
    positive semi-definite: eigenvalues below zero are rounding errors and
    are clipped to zero before the regularisation is added, so every
    eigenvalue is at least ``regularization`` and both results are real.
    """
    eigenvalues, eigenvectors = linalg.eigh(cov)
    eigenvalues = np.clip(eigenvalues, 0.0, None) + regularization
    root = np.sqrt(eigenvalues)
    sqrt = (eigenvectors * root) @ eigenvectors.T
    inv_sqrt = (eigenvectors / root) @ eigenvectors.T
    return (sqrt + sqrt.T) / 2, (inv_sqrt + inv_sqrt.T) / 2


class CORAL(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """CORrelation ALignment: re-colour source rows with the target covariance.

    ``fit_transform(X_source)`` whitens the source rows with the source
    covariance and re-colours them with the target covariance (Sun, Feng and
    Saenko, "Return of Frustratingly Easy Domain Adaptation", AAAI 2016)::

        C_s = cov(X_source) + regularization * I
        C_t = cov(X_target) + regularization * I
        A_ = C_s^(-1/2) @ C_t^(1/2)          # symmetric matrix square roots
        X_source' = X_source @ A_

    so that a classifier trained on the re-coloured source rows fits the
    target's feature correlations. The target rows (labels are not needed)
    come in through the constructor, like the source rows of
    :class:`~sktransfer.Source`; the rows given to ``fit`` are the *source*
    rows. In a :class:`~sklearn.pipeline.Pipeline`::

        make_pipeline(CORAL(X_target), LogisticRegression()).fit(X_source, y_source)

    trains the classifier on re-coloured source rows, and ``predict(X_target)``
    classifies the target rows as they are (see Notes).

    Parameters
    ----------
    X_target : array-like of shape (n_target_samples, n_features)
        Target rows, at least 2, with the features of the source rows in the
        same order. Kept as given: it is neither copied nor modified (only
        ``clone`` copies it, like any array parameter).
    regularization : float, default=1.0
        Added to the diagonal of both covariance matrices (the paper's
        ``eye(d)``), which keeps the whitening stable when the source
        covariance is singular. Must be positive. The paper's value of 1 is
        meant for standardised features; on features of another scale choose
        it relative to their variance. With a tiny value the re-coloured
        source covariance matches the target's almost exactly.
    center : bool, default=False
        If True, also move the source mean to the target mean:
        ``X_source' = (X_source - mean_source) @ A_ + mean_target``. The paper
        aligns second-order statistics only (its features are standardised per
        domain); centring is an option beyond it.

    Attributes
    ----------
    A_ : ndarray of shape (n_features, n_features)
        The linear map applied to the source rows, ``C_s^(-1/2) @ C_t^(1/2)``.
    offset_ : ndarray of shape (n_features,)
        Added after the map: ``mean_target - mean_source @ A_`` when
        ``center=True``, zeros otherwise. ``fit_transform(X)`` returns
        ``X @ A_ + offset_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    sktransfer.adaptation.DeepCORAL : The same alignment as a loss on a
        network's features, trained end to end.
    sktransfer.metrics.coral_distance : The covariance gap between two domains.

    Notes
    -----
    **fit_transform(X) is not fit(X).transform(X).** CORAL changes the source
    rows only, so:

    - ``fit_transform(X_source)`` (what ``Pipeline.fit`` calls on the training
      rows) returns the *re-coloured* source rows;
    - ``transform(X)`` (what ``Pipeline.predict``, ``score`` and
      ``predict_proba`` call on new rows) returns ``X`` *unchanged*: the rows
      a fitted model predicts are target rows, which are already in the
      target's colours.

    Consequences: to get re-coloured source rows, call ``fit_transform`` (or
    compute ``X @ coral.A_ + coral.offset_``), not ``transform``. Scoring
    such a pipeline on held-out *source* rows (``cross_val_score`` over
    source data, ``GridSearchCV`` on source folds) compares a model trained on
    re-coloured rows with raw source rows, which measures neither domain;
    evaluate on target rows, or choose the settings without target labels.
    :class:`~sklearn.preprocessing.TargetEncoder` also treats its training
    rows (in ``fit_transform``) differently from new rows (in ``transform``).
    scikit-learn's generic check that ``fit_transform`` and ``transform``
    agree therefore does not apply to this estimator.

    ``X_target`` does not pass through the ``Pipeline`` steps before CORAL:
    give it in the representation CORAL receives (put CORAL first in the
    pipeline, or apply the earlier steps to the target rows yourself).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sktransfer import CORAL
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(500, 2))
    >>> y_source = (X_source.sum(axis=1) > 0).astype(int)
    >>> stretch = np.array([[3.0, 1.0], [1.0, 0.5]])  # the target's distortion
    >>> X_target_clean = rng.normal(size=(500, 2))
    >>> y_target = (X_target_clean.sum(axis=1) > 0).astype(int)
    >>> X_target = X_target_clean @ stretch
    >>> coral = CORAL(X_target, regularization=1e-6)
    >>> X_recoloured = coral.fit_transform(X_source)  # the source, re-coloured
    >>> bool(np.allclose(np.cov(X_recoloured, rowvar=False),
    ...                  np.cov(X_target, rowvar=False), atol=1e-4))
    True
    >>> coral.A_.round(1)  # an isotropic source: the map finds the distortion
    array([[3. , 1. ],
           [1. , 0.5]])
    >>> coral.transform(X_target) is X_target  # new rows pass unchanged
    True
    >>> raw = LogisticRegression().fit(X_source, y_source)
    >>> adapted = make_pipeline(coral, LogisticRegression()).fit(X_source, y_source)
    >>> print(f"{raw.score(X_target, y_target):.2f} -> "
    ...       f"{adapted.score(X_target, y_target):.2f}")
    0.87 -> 0.91
    """

    def __init__(self, X_target, regularization=1.0, center=False):
        self.X_target = X_target
        self.regularization = regularization
        self.center = center

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _fit(self, X) -> np.ndarray:
        """Validate, learn ``A_`` and ``offset_``; return the validated ``X``."""
        reg = check_regularization(self.regularization)
        if not isinstance(self.center, bool | np.bool_):
            raise ValueError(f"center must be True or False, got {self.center!r}.")
        names = column_names(X)
        X = validate_data(self, X, dtype=_FLOATS, ensure_min_samples=2)
        X_target = target_rows(self, X, names, min_rows=2)
        source = X.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            cov_source, cov_target = _covariance(source), _covariance(X_target)
        for name, cov in (
            ("X (the source rows)", cov_source),
            ("X_target", cov_target),
        ):
            if not np.isfinite(cov).all():
                raise ValueError(
                    f"The covariance of {name} overflows float64: its values "
                    "are too large; rescale the features (e.g. with a "
                    "StandardScaler) before CORAL."
                )
        _, inv_sqrt_source = _regularized_powers(cov_source, reg)
        sqrt_target, _ = _regularized_powers(cov_target, reg)
        self.A_ = inv_sqrt_source @ sqrt_target
        if self.center:
            self.offset_ = X_target.mean(axis=0) - source.mean(axis=0) @ self.A_
        else:
            self.offset_ = np.zeros(X.shape[1])
        return X

    def fit(self, X, y=None):
        """Learn the map from the source rows ``X`` to the target's colours.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source rows, at least 2.
        y : None
            Ignored; present for the ``Pipeline`` API.

        Returns
        -------
        self : CORAL
            The fitted transformer.
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit on the source rows ``X`` and return them re-coloured.

        Unlike ``fit(X).transform(X)``, which returns ``X`` unchanged (see the
        class Notes), this returns ``X @ A_ + offset_``. ``Pipeline.fit``
        calls it on the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source rows, at least 2.
        y : None
            Ignored; present for the ``Pipeline`` API.
        **fit_params : dict
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The re-coloured source rows, of the dtype of ``X`` (float32 stays
            float32, anything else becomes float64).
        """
        X = self._fit(X)
        out = X.astype(np.float64, copy=False) @ self.A_ + self.offset_
        return out.astype(X.dtype, copy=False)

    def transform(self, X):
        """Return new rows unchanged (after validation).

        CORAL changes the source rows only; those are re-coloured by
        :meth:`fit_transform`. Rows given to ``transform``, such as the target
        rows a fitted ``Pipeline`` predicts, are already in the target's
        colours and pass through as they are (see the class Notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features)
            ``X`` as a float array with the same values; a float64 or float32
            ndarray is returned as is, not copied.
        """
        check_is_fitted(self)
        return validate_data(self, X, dtype=_FLOATS, reset=False)
