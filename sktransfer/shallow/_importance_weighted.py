"""Instance-based transfer: the source rows re-weighted by the density ratio,
then any scikit-learn model fitted with ``sample_weight``.

:class:`ImportanceWeightedClassifier` and :class:`ImportanceWeightedRegressor`
estimate the importance weights of the source rows from the target rows
(``_importance.py``: KMM, KLIEP or a domain classifier), then fit
``estimator`` on the weighted source rows and the labelled target rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._contract import LabelledScore, Rows, classification_rows, regression_rows
from ._importance import WEIGHTING_PARAMETERS, Weighting, fit_weighted

__all__ = ["ImportanceWeightedClassifier", "ImportanceWeightedRegressor"]


def _estimator_has(attr: str):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self._estimator(), attr)

    return check


class _ImportanceWeighted(MetaEstimatorMixin, BaseEstimator):
    """What the classifier and the regressor share: weights, then the fit."""

    def _estimator(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def _fit(self, rows: Rows):
        weighting = Weighting.of(self)
        rng = check_random_state(self.random_state)
        estimator = clone(self._estimator())
        self.bandwidth_ = None
        self.weights_ = np.empty(0)
        if rows.has_source:
            self.bandwidth_ = weighting.kernel_width(rows, rng)
            self.weights_ = weighting.source_weights(rows, self.bandwidth_, rng)
        X_fit, y_fit = rows.X_labelled, rows.y_labelled
        sw = rows.weights_labelled(self.weights_, weighting.target_weight)
        if not X_fit.shape[0]:
            raise ValueError("There is no labelled row to fit estimator on.")
        self.estimator_ = fit_weighted(estimator, X_fit, y_fit, sw, "estimator")
        return self

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the fitted ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit`` (target rows).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            ``estimator_.predict(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.predict(self._check_X(X))

    def _check_X(self, X):
        return validate_data(
            self, X, dtype=np.float64, reset=False, accept_sparse="csr"
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Sparse rows stay sparse (the kernels come from row products): they
        # are taken when the models fitted on them take them.
        models = [self._estimator()]
        if self.weighting == "discriminator" and self.domain_classifier is not None:
            models.append(self.domain_classifier)
        tags.input_tags.sparse = all(
            get_tags(model).input_tags.sparse
            for model in models
            if hasattr(model, "__sklearn_tags__")
        )
        return tags


class ImportanceWeightedClassifier(LabelledScore, ClassifierMixin, _ImportanceWeighted):
    __doc__ = (
        """Source rows re-weighted by the density ratio, then any classifier.

    Covariate shift correction: ``fit(X_target, y_target)`` estimates the
    density ratio ``w(x) = p_target(x) / p_source(x)`` on the labelled source
    rows of ``source=Source(X=X_source, y=y_source)`` from the target rows,
    then fits ``estimator`` on the source rows with ``sample_weight=w``
    (``weights_``) together with the labelled target rows (weight
    ``target_weight``). ``-1`` in ``y_target`` marks unlabelled target rows
    (all ``-1``, or ``y=None``: unsupervised domain adaptation); every target
    row, labelled or not, counts in the density ratio. ``predict`` classifies
    target rows as they are.

    Without a source (``source=None``) there is nothing to re-weight:
    ``estimator`` is fitted on the rows of ``X`` (every label then counts,
    ``-1`` included).

    Parameters
    ----------
    estimator : classifier, default=None
        Fitted on the weighted rows; it must take ``sample_weight`` in ``fit``
        (a ``Pipeline`` whose last step does is fine). ``None`` means
        ``LogisticRegression()``. Cloned in ``fit``.
    source : Source, default=None
        The labelled source rows, ``Source(X=X_source, y=y_source)``, with
        the target's features in the same order and labels from the same
        classes. Kept by reference through ``clone``, never modified.
"""
        + WEIGHTING_PARAMETERS
        + """
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled target row when there is a
        source. ``None``: every row is labelled. With labels coded ``{-1,
        1}`` pass another marker.
    random_state : int, RandomState instance or None, default=None
        Draws the rows of the median heuristic and KLIEP's centres.

    Attributes
    ----------
    weights_ : ndarray of shape (n_source_samples,)
        The weights of the source rows (empty without a source).
    bandwidth_ : float or None
        The kernel width used (``"kmm"``, ``"kliep"``), else ``None``.
    estimator_ : classifier
        The fitted ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        The class labels, from the source and the labelled target rows.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    ImportanceWeightedRegressor : The same for regression.
    TrAdaBoostClassifier : Re-weights source rows by boosting, with target labels.

    Notes
    -----
    Re-weighting corrects covariate shift, where only ``p(x)`` differs: it
    cannot help when the domains barely overlap (the weights then pile on
    a few source rows; ``max_weight`` limits that) or when ``p(y | x)``
    differs. Nothing here uses a target label to choose a weight, so the
    settings can be chosen without target labels (e.g. with an
    importance-weighted validation score on held-out source rows).

    Sparse (CSR) rows stay sparse, for every ``weighting`` (the kernels come
    from row products; only the kernel matrices are dense), when
    ``estimator`` (and ``domain_classifier``) take them; the same holds for
    :class:`ImportanceWeightedRegressor`.

    Examples
    --------
    A linear model trained on a wide source cannot fit a curved boundary
    everywhere; weighted towards where the target rows lie, it fits it there:

    >>> import numpy as np
    >>> from sktransfer import ImportanceWeightedClassifier, Source
    >>> rng = np.random.RandomState(0)
    >>> def label(X):
    ...     return (X[:, 1] > X[:, 0] ** 2 - 1).astype(int)
    >>> X_source = rng.normal(scale=1.5, size=(600, 2))
    >>> X_target = rng.normal(loc=[1.5, 1.0], scale=0.4, size=(300, 2))
    >>> source = Source(X=X_source, y=label(X_source))
    >>> unlabelled = np.full(len(X_target), -1)  # no target label
    >>> plain = ImportanceWeightedClassifier(source=source, weighting="uniform")
    >>> kmm = ImportanceWeightedClassifier(source=source, weighting="kmm",
    ...                                    random_state=0)
    >>> for model in (plain, kmm):
    ...     _ = model.fit(X_target, unlabelled)
    >>> print(f"{plain.score(X_target, label(X_target)):.2f} -> "
    ...       f"{kmm.score(X_target, label(X_target)):.2f}")
    0.47 -> 0.94
    >>> kmm.weights_.shape, round(float(kmm.weights_.mean()), 6)
    ((600,), 1.0)
    """
    )

    _default_estimator = LogisticRegression

    def __init__(
        self,
        estimator=None,
        *,
        source=None,
        weighting="discriminator",
        bandwidth="median",
        max_weight=100.0,
        target_weight=1.0,
        n_centers=100,
        eps=None,
        domain_classifier=None,
        max_steps=1000,
        tol=1e-6,
        unlabelled=-1,
        random_state=None,
    ):
        self.estimator = estimator
        self.source = source
        self.weighting = weighting
        self.bandwidth = bandwidth
        self.max_weight = max_weight
        self.target_weight = target_weight
        self.n_centers = n_centers
        self.eps = eps
        self.domain_classifier = domain_classifier
        self.max_steps = max_steps
        self.tol = tol
        self.unlabelled = unlabelled
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Estimate ``weights_`` and fit ``estimator`` on the weighted rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows.
        y : array-like of shape (n_samples,) or None, default=None
            Target labels; ``unlabelled`` (``-1``) marks the rows without one
            when there is a source. ``None`` (with a source): no target label.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the target rows: in the target distribution the density
            ratio is estimated for, and (times ``target_weight``) in the fit.

        Returns
        -------
        self : ImportanceWeightedClassifier
            The fitted estimator.
        """
        rows = classification_rows(
            self, X, y, sample_weight, unlabelled=self.unlabelled, accept_sparse="csr"
        )
        self._fit(rows)
        self.classes_ = self.estimator_.classes_
        return self

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_proba(X)``, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._check_X(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``estimator_.decision_function(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(self._check_X(X))


class ImportanceWeightedRegressor(LabelledScore, RegressorMixin, _ImportanceWeighted):
    __doc__ = (
        """Source rows re-weighted by the density ratio, then any regressor.

    The regression counterpart of :class:`ImportanceWeightedClassifier`:
    ``fit(X_target, y_target)`` estimates the density ratio on the source rows
    of ``source=Source(X=X_source, y=y_source)`` from the target rows, then
    fits ``estimator`` on the source rows with ``sample_weight=weights_`` and
    the labelled target rows. With a source, ``NaN`` in ``y_target`` marks an
    unlabelled target row (``y=None``: none is labelled); without one,
    ``estimator`` is fitted on the rows of ``X`` and ``y`` must be finite.

    Parameters
    ----------
    estimator : regressor, default=None
        Fitted on the weighted rows; it must take ``sample_weight`` in ``fit``.
        ``None`` means ``Ridge()``. Cloned in ``fit``.
    source : Source, default=None
        The labelled source rows, ``Source(X=X_source, y=y_source)`` (one
        target value per row).
"""
        + WEIGHTING_PARAMETERS
        + """
    random_state : int, RandomState instance or None, default=None
        Draws the rows of the median heuristic and KLIEP's centres.

    Attributes
    ----------
    weights_ : ndarray of shape (n_source_samples,)
        The weights of the source rows (empty without a source).
    bandwidth_ : float or None
        The kernel width used (``"kmm"``, ``"kliep"``), else ``None``.
    estimator_ : regressor
        The fitted ``estimator``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    ImportanceWeightedClassifier : The same for classification (and the Notes).

    Examples
    --------
    Shimodaira's example: a straight line fitted to ``y = -x + x^3`` where the
    target rows lie, not where most source rows do:

    >>> import numpy as np
    >>> from sktransfer import ImportanceWeightedRegressor, Source
    >>> rng = np.random.RandomState(0)
    >>> def f(x):
    ...     return -x[:, 0] + x[:, 0] ** 3 + rng.normal(scale=0.3, size=len(x))
    >>> X_source = rng.normal(0.5, 0.5, size=(300, 1))
    >>> X_target = rng.normal(0.0, 0.3, size=(300, 1))
    >>> source = Source(X=X_source, y=f(X_source))
    >>> y_target = f(X_target)
    >>> plain = ImportanceWeightedRegressor(source=source, weighting="uniform")
    >>> kmm = ImportanceWeightedRegressor(source=source, weighting="kmm")
    >>> for model in (plain, kmm):
    ...     _ = model.fit(X_target)  # no target label
    >>> print(f"{plain.score(X_target, y_target):.2f} -> "
    ...       f"{kmm.score(X_target, y_target):.2f}")
    -1.64 -> 0.26
    """
    )

    _default_estimator = Ridge

    def __init__(
        self,
        estimator=None,
        *,
        source=None,
        weighting="discriminator",
        bandwidth="median",
        max_weight=100.0,
        target_weight=1.0,
        n_centers=100,
        eps=None,
        domain_classifier=None,
        max_steps=1000,
        tol=1e-6,
        random_state=None,
    ):
        self.estimator = estimator
        self.source = source
        self.weighting = weighting
        self.bandwidth = bandwidth
        self.max_weight = max_weight
        self.target_weight = target_weight
        self.n_centers = n_centers
        self.eps = eps
        self.domain_classifier = domain_classifier
        self.max_steps = max_steps
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Estimate ``weights_`` and fit ``estimator`` on the weighted rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows.
        y : array-like of shape (n_samples,) or None, default=None
            Target values; with a source, ``NaN`` marks the rows without one
            and ``None`` means no target value.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the target rows: in the target distribution the density
            ratio is estimated for, and (times ``target_weight``) in the fit.

        Returns
        -------
        self : ImportanceWeightedRegressor
            The fitted estimator.
        """
        rows = regression_rows(self, X, y, sample_weight, accept_sparse="csr")
        self._fit(rows)
        return self
