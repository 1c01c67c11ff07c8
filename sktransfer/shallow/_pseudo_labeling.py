"""Shallow domain adaptation by selective pseudo-labelling, without a network.

:class:`SelectivePseudoLabeling` is the structured-prediction-based selective
pseudo-labelling of Wang and Breckon ("Unsupervised Domain Adaptation via
Structured Prediction Based Selective Pseudo-Labeling", AAAI 2020): a
supervised locality preserving projection learnt from the labelled source
rows and a growing set of confidently pseudo-labelled target rows, with the
target labels predicted by the nearest source class mean and by k-means
clusters of the target rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.preprocessing import LabelEncoder, normalize
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import positive_float, positive_int
from ._contract import (
    LabelledScore,
    Rows,
    classification_rows,
    column_names,
    target_rows,
)

__all__ = ["SelectivePseudoLabeling"]

_DENSE = "its PCA of both domains (step 1) centres the rows, which makes them dense"


def _unit(X: np.ndarray) -> np.ndarray:
    """Rows L2-normalised; no row (no source) stays no row."""
    return normalize(X) if len(X) else X


def _distance_probabilities(Z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``softmax(-euclidean distance)`` of each row of ``Z`` to each center."""
    return softmax(-euclidean_distances(Z, centers), axis=1)


def _lpp(Z: np.ndarray, codes: np.ndarray, n_classes: int, n_components: int,
         regularization: float) -> np.ndarray:  # fmt: skip
    """Supervised locality preserving projection (the reference code's LPP).

    The affinity is ``W_ij = 1`` when rows ``i`` and ``j`` carry the same
    (pseudo-)label, 0 otherwise (rows labelled ``-1`` are unconnected); with
    ``D = diag(W 1)`` and ``L = D - W`` the projection holds the leading
    generalised eigenvectors of ``Z^T D Z p = lambda (Z^T L Z + reg I) p``.
    ``W`` is never formed: ``Z^T W Z`` is a sum of outer products of the
    class sums.
    """
    d = Z.shape[1]
    degree = np.zeros(len(Z))
    ZWZ = np.zeros((d, d))
    for k in range(n_classes):
        mask = codes == k
        degree[mask] = mask.sum()
        total = Z[mask].sum(axis=0)
        ZWZ += np.outer(total, total)
    ZDZ = (Z * degree[:, None]).T @ Z
    ZLZ = ZDZ - ZWZ
    ZDZ = (ZDZ + ZDZ.T) / 2
    ZLZ = (ZLZ + ZLZ.T) / 2 + regularization * np.eye(d)
    _, vectors = linalg.eigh(ZDZ, ZLZ)
    P = vectors[:, ::-1][:, :n_components]
    # The reference code's sign convention: a non-negative first entry.
    return P * np.where(P[0] < 0, -1.0, 1.0)


def _most_confident(
    predicted: np.ndarray, confidence: np.ndarray, fraction: float
) -> np.ndarray:
    """Step d: within each predicted class, the rows whose confidence is above
    the ``floor((1 - fraction) * n_class)``-th lowest (the reference code's
    rule)."""
    selected = np.zeros(len(predicted), dtype=bool)
    for c in np.unique(predicted):
        mask = predicted == c
        ranked = np.sort(confidence[mask])
        threshold = ranked[int(np.floor(mask.sum() * (1.0 - fraction)))]
        selected |= mask & (confidence > threshold)
    return selected


@dataclass(frozen=True)
class _Codes:
    """The labels as class codes ``0 .. n_classes - 1``."""

    classes: np.ndarray
    source: np.ndarray  # of the source rows
    known: np.ndarray  # of the target rows, -1 where unlabelled
    labelled: np.ndarray  # mask of the labelled target rows

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def of(cls, rows: Rows) -> _Codes:
        """Encode the labels; at least 2 classes and a target row per class
        (the target rows are clustered into one cluster per class)."""
        y_source, y_target = rows.y_source, rows.y
        encoder = LabelEncoder().fit(np.concatenate([y_source, y_target])
                                     if len(y_target) else y_source)  # fmt: skip
        n_classes = len(encoder.classes_)
        if n_classes < 2:
            raise ValueError(
                f"y needs samples of at least 2 classes, got 1 class: "
                f"{encoder.classes_.tolist()!r}."
            )
        if len(rows.X) < n_classes:
            raise ValueError(
                f"X_target has {len(rows.X)} rows but there are {n_classes} "
                "classes: the target rows are clustered into one cluster per "
                "class, so at least as many rows as classes are needed."
            )
        known = np.full(len(rows.X), -1)
        known[rows.labelled] = encoder.transform(y_target)
        source = encoder.transform(y_source)
        return cls(encoder.classes_, source, known, rows.labelled)


class SelectivePseudoLabeling(LabelledScore, ClassifierMixin, BaseEstimator):
    """Selective pseudo-labelling with structured prediction (SPL).

    The unsupervised domain adaptation method of Wang and Breckon,
    "Unsupervised Domain Adaptation via Structured Prediction Based
    Selective Pseudo-Labeling", AAAI 2020. Like every estimator here, ``fit``
    is about the target: ``fit(X_target, y_target)`` with ``-1`` for
    unlabelled target rows (all ``-1``, or ``y=None``: unsupervised, the
    paper's setting), the labelled source rows in
    ``source=Source(X=X_source, y=y_source)``. Labelled target rows count as
    labelled rows from the start and keep their labels. The steps, as in the
    authors' reference code:

    1. Rows of both domains are L2-normalised, projected on the first
       ``pca_components`` principal components of both domains together, and
       L2-normalised again.
    2. For ``n_iter`` iterations:

       a. a supervised locality preserving projection (LPP) to
          ``n_components`` dimensions is learnt from the rows labelled so far
          (all source rows and labelled target rows, and the selected
          pseudo-labelled target rows):
          rows of the same class are pulled together, across domains too;
       b. projected rows are centred on the mean of both domains and
          L2-normalised;
       c. each target row gets two class distributions, ``softmax(-distance)``
          to the (L2-normalised) class means of the labelled rows, and to the
          centres of a
          k-means clustering of the target rows started from those means (the
          "structured prediction"); its pseudo-label is the class of the
          larger of the two, its confidence that probability;
       d. within each predicted class, the most confident fraction
          ``min(t / (n_iter - 1), 1)`` of the target rows (``t`` the iteration, from
          1) is selected for the next projection: the rows whose confidence
          is above the ``floor((1 - fraction) * n_class)``-th lowest, as in the
          reference code.

    The pseudo-labels of the last iteration are the predictions for the
    target rows (``pseudo_labels_``); :meth:`predict` applies the same last
    projection and class/cluster centres to any rows. Defaults follow the
    authors' reference code for Office-Caltech10 (Wang and Breckon's
    ``domain-adaptation-capls`` repository).

    Parameters
    ----------
    X_target : array-like of shape (n_target_samples, n_features), default=None
        Deprecated: the old contract, where the unlabelled target rows came in
        here and ``fit(X_source, y_source)`` took the source rows. It still
        works, with a ``FutureWarning``, for one release; use ``source=`` and
        ``fit(X_target)`` instead.
    pca_components : int, default=128
        Principal components kept in step 1 (the reference code's 128). Capped at the
        number of features and of rows of both domains.
    n_components : int, default=128
        Dimension of the LPP projection (the reference code's 128). Capped at the
        number of principal components kept.
    n_iter : int, default=11
        Iterations (projection, pseudo-labelling, selection); the selected
        fraction grows by ``1 / (n_iter - 1)`` per iteration (the reference
        code's 11). With 1, the target rows are labelled once, from the
        source rows only.
    regularization : float, default=1.0
        Added to the diagonal of the LPP constraint matrix (the reference
        code's ``alpha = 1``). Must be positive.
    source : Source, default=None
        The labelled source rows, ``Source(X=X_source, y=y_source)``, with
        the target's features in the same order; kept by reference through
        ``clone``. Without a source, every row of ``X`` with a label is a
        labelled row (``-1`` is then a label like any other).
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled target row (when there are
        source rows).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, from the source's and the target's labels.
    pseudo_labels_ : ndarray of shape (n_target_samples,)
        The predicted labels of the target rows (last iteration).
    selected_ : ndarray of bool of shape (n_target_samples,)
        The target rows selected at the last iteration (from ``n_iter=2``
        on, all but the least confident row of each predicted class).
    n_selected_ : ndarray of int of shape (n_iter,)
        The number of target rows selected at each iteration.
    pca_ : sklearn.decomposition.PCA
        The principal components of step 1.
    projection_ : ndarray of shape (n_pca_components, n_lpp_components)
        The last LPP projection.
    mean_ : ndarray of shape (n_lpp_components,)
        The mean of both domains' projected rows, subtracted in step b.
    class_means_ : ndarray of shape (n_classes, n_lpp_components)
        The L2-normalised class means of the labelled rows, in the last
        projection.
    cluster_centers_ : ndarray of shape (n_classes, n_lpp_components)
        The L2-normalised k-means centres of the target rows, cluster ``k``
        started from class ``k``'s mean.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    sktransfer.CORAL : Re-colours the source rows with the target covariance.

    Notes
    -----
    The method is transductive: it is fitted for the target rows given to
    ``fit``, and ``pseudo_labels_`` equals ``predict(X_target)`` (for
    labelled target rows: their label).
    Nothing in it is random (the k-means clustering starts from the class
    means), so there is no ``random_state``.

    Preprocessing matters on bag-of-words features (the reference code
    L2-normalises deep features; SURF benchmarks often z-score each domain
    with its own statistics first); give the target rows in the representation
    of the source rows. Scoring on held-out *source* rows does not measure the
    adaptation; choose settings without target labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer import SelectivePseudoLabeling, Source
    >>> rng = np.random.RandomState(0)
    >>> centers = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0]])
    >>> y_source = rng.randint(3, size=300)
    >>> X_source = centers[y_source] + rng.normal(size=(300, 2))
    >>> rotate = np.array([[np.cos(0.8), np.sin(0.8)], [-np.sin(0.8), np.cos(0.8)]])
    >>> y_target = rng.randint(3, size=300)  # the same classes, rotated 46 degrees
    >>> X_target = (centers[y_target] + rng.normal(size=(300, 2))) @ rotate
    >>> spl = SelectivePseudoLabeling(source=Source(X=X_source, y=y_source))
    >>> spl = spl.fit(X_target)  # no target label
    >>> raw = LogisticRegression().fit(X_source, y_source)
    >>> print(f"{raw.score(X_target, y_target):.2f} -> "
    ...       f"{spl.score(X_target, y_target):.2f}")
    0.60 -> 0.86
    >>> bool((spl.pseudo_labels_ == spl.predict(X_target)).all())
    True
    """

    def __init__(
        self,
        X_target=None,
        pca_components=128,
        n_components=128,
        n_iter=11,
        regularization=1.0,
        *,
        source=None,
        unlabelled=-1,
    ):
        self.X_target = X_target
        self.pca_components = pca_components
        self.n_components = n_components
        self.n_iter = n_iter
        self.regularization = regularization
        self.source = source
        self.unlabelled = unlabelled

    def _embed(self, X: np.ndarray) -> np.ndarray:
        """Steps 1 and b: rows in the last projection, on the unit sphere."""
        Z = normalize(self.pca_.transform(normalize(X)))
        return normalize(Z @ self.projection_ - self.mean_)

    def _probabilities(self, E: np.ndarray) -> np.ndarray:
        """The larger of the class-mean and cluster distributions (step c)."""
        return np.maximum(
            _distance_probabilities(E, self.class_means_),
            _distance_probabilities(E, self.cluster_centers_),
        )

    def fit(self, X, y=None):
        """Fit on the target rows ``X`` and the labelled source rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows (with the deprecated ``X_target``: the source rows).
        y : array-like of shape (n_samples,), default=None
            Target labels, ``unlabelled`` (``-1``) for rows without one;
            ``None``: no target label (needs a source). With the deprecated
            ``X_target``: the source labels.

        Returns
        -------
        self : SelectivePseudoLabeling
            The fitted classifier.
        """
        pca_components, n_components, n_iter, reg = self._checked_params()
        rows = self._fit_rows(X, y)
        codes = _Codes.of(rows)
        self.classes_ = codes.classes
        Z = self._fit_pca(rows, pca_components)  # step 1
        n_source, n_lpp = len(rows.X_source), min(n_components, Z.shape[1])
        codes_target = codes.known.copy()
        n_selected = []
        for iteration in range(1, n_iter + 1):  # step 2
            codes_all = np.r_[codes.source, codes_target]
            self.projection_ = _lpp(Z, codes_all, codes.n_classes, n_lpp, reg)  # a
            Es, Et = self._centred_projection(Z, n_source)  # b
            proba = self._fit_centres(Es, Et, codes)  # c
            predicted, confidence = proba.argmax(axis=1), proba.max(axis=1)
            fraction = min(iteration / max(n_iter - 1, 1), 1.0)
            selected = _most_confident(predicted, confidence, fraction)  # d
            codes_target = np.where(
                codes.labelled, codes.known, np.where(selected, predicted, -1)
            )
            n_selected.append(int(selected.sum()))
        predicted = np.where(codes.labelled, codes.known, predicted)
        self.pseudo_labels_ = self.classes_[predicted]
        self.selected_ = selected
        self.n_selected_ = np.array(n_selected)
        return self

    def _checked_params(self) -> tuple[int, int, int, float]:
        """``(pca_components, n_components, n_iter, regularization)``."""
        return (
            positive_int(self.pca_components, "pca_components"),
            positive_int(self.n_components, "n_components"),
            positive_int(self.n_iter, "n_iter"),
            positive_float(self.regularization, "regularization"),
        )

    def _fit_rows(self, X, y) -> Rows:
        """The rows of either contract; the deprecated one has no labelled
        target row."""
        if self.X_target is None:
            return classification_rows(
                self, X, y, unlabelled=self.unlabelled, dense_because=_DENSE
            )
        X_source, y_source, X_target = self._legacy_rows(X, y)
        n = len(X_target)
        none = np.zeros(n, dtype=bool)
        return Rows(X_target, none, y_source[:0], np.ones(n), X_source, y_source)

    def _fit_pca(self, rows: Rows, pca_components: int) -> np.ndarray:
        """Step 1: L2 -> PCA of both domains -> L2; the source rows, then
        the target rows."""
        source = _unit(rows.X_source)
        target = normalize(rows.X)
        both = np.vstack([source, target])
        k = min(pca_components, both.shape[0], both.shape[1])
        self.pca_ = PCA(n_components=k, svd_solver="full").fit(both)
        Zs = _unit(self.pca_.transform(source)) if len(source) else source[:, :k]
        Zt = normalize(self.pca_.transform(target))
        return np.vstack([Zs, Zt])

    def _centred_projection(
        self, Z: np.ndarray, n_source: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Step b: the projected source and target rows, centred on the mean
        of both domains, on the unit sphere."""
        projected = Z @ self.projection_
        self.mean_ = projected.mean(axis=0)
        Es = _unit(projected[:n_source] - self.mean_)
        Et = normalize(projected[n_source:] - self.mean_)
        return Es, Et

    def _fit_centres(self, Es: np.ndarray, Et: np.ndarray, codes: _Codes) -> np.ndarray:
        """Step c: the class means of the labelled rows, the k-means centres
        of the target rows started from them; the target rows' probabilities."""
        E_known = np.vstack([Es, Et[codes.labelled]])
        codes_known = np.r_[codes.source, codes.known[codes.labelled]]
        self.class_means_ = normalize(
            np.vstack(
                [E_known[codes_known == c].mean(axis=0) for c in range(codes.n_classes)]
            )
        )
        kmeans = KMeans(
            n_clusters=codes.n_classes, init=self.class_means_, n_init=1, random_state=0
        ).fit(Et)
        self.cluster_centers_ = normalize(kmeans.cluster_centers_)
        return self._probabilities(Et)

    def _legacy_rows(self, X, y):
        """The deprecated contract: ``X, y`` are the source rows."""
        self._marker = None  # every scored row is labelled
        warnings.warn(
            "SelectivePseudoLabeling(X_target) with the source rows in fit is "
            "deprecated and will be removed in the next release: pass "
            "source=Source(X=X_source, y=y_source) and call fit(X_target), "
            "like every sktransfer estimator.",
            FutureWarning,
            stacklevel=3,
        )
        names = column_names(X)
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        return X, y, target_rows(self, X, names)

    def predict_proba(self, X):
        """Class probabilities: the larger of the two distance distributions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For each class, the larger of ``softmax(-distance)`` to the
            source class means and to the target cluster centres, divided by
            the row's sum so that rows sum to 1 (the argmax is unchanged).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        proba = self._probabilities(self._embed(X))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of the largest probability of :meth:`predict_proba`.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
