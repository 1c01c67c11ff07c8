"""Subspace transfer: both domains mapped into a space where they agree.

:class:`SubspaceAlignment` (Fernando, Habrard, Sebban and Tuytelaars,
"Unsupervised Visual Domain Adaptation Using Subspace Alignment", ICCV 2013)
aligns the source's principal subspace to the target's;
:class:`TransferComponentAnalysis` (Pan, Tsang, Kwok and Yang, "Domain
Adaptation via Transfer Component Analysis", IEEE TNN 2011) learns one
kernel embedding of both domains whose means agree. Both are transformers
under the one contract: ``fit(X_target)`` learns from the target rows and the
source rows of ``source=Source(X=...)``, ``transform`` maps target rows and
``transform_source`` the source rows, on which any model can be trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import positive_float, positive_int
from ._contract import stack, transformer_rows
from ._kernels import bandwidth_value, median_bandwidth, products, rbf_kernel

__all__ = ["SubspaceAlignment", "TransferComponentAnalysis"]


_SA_DENSE = (
    "the PCA of each domain centres its rows on their mean, which makes them dense"
)


def _no_source(estimator) -> ValueError:
    return ValueError(
        f"{type(estimator).__name__} was fitted without a source: there are no "
        "source rows to map. Give source=Source(X=X_source, y=y_source) and "
        "fit again."
    )


class SubspaceAlignment(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Subspace alignment (Fernando et al., 2013): PCA bases aligned across domains.

    ``fit(X_target)`` computes the ``n_components`` leading principal
    directions of the target rows, ``P_t``, and of the source rows of
    ``source=Source(X=X_source, ...)``, ``P_s`` (columns; each domain centred
    on its own mean), and the alignment ``M = P_s^T P_t``. Then

    - ``transform(X)`` maps target-domain rows to ``(X - mean_t) P_t``;
    - ``transform_source()`` gives the source rows as ``(X_s - mean_s) P_s M``
      (also ``source_embedding_``): the source subspace's coordinates carried
      into the target basis, ``P_s M`` being the closest map of the source
      basis onto the target's (in Frobenius norm).

    A model trained on ``transform_source()`` and the source labels then
    predicts ``transform(X_target)``. Source labels are not used (``Source.y``
    may be ``None``); nor are target labels: ``y`` is ignored.

    Without a source (``source=None``) this is the PCA of the target rows:
    ``transform`` as above, and ``transform_source`` raises. Rows must be
    dense (a ``TypeError`` for sparse ones): centring them on their mean
    would make them dense anyway.

    Parameters
    ----------
    n_components : int, default=20
        The subspace dimension ``d``, capped at the number of features and of
        rows of each domain.
    source : Source, default=None
        The source rows, ``Source(X=X_source, y=...)``, with the target's
        features in the same order. Kept by reference through ``clone``.

    Attributes
    ----------
    n_components_ : int
        The subspace dimension used.
    components_target_ : ndarray of shape (``n_components_``, n_features)
        The target's principal directions (rows; ``P_t`` transposed).
    mean_target_ : ndarray of shape (n_features,)
        The target rows' mean.
    components_source_ : ndarray of shape (``n_components_``, n_features) or None
        The source's principal directions (``P_s`` transposed).
    mean_source_ : ndarray of shape (n_features,) or None
        The source rows' mean.
    M_ : ndarray of shape (``n_components_``, ``n_components_``) or None
        The alignment ``P_s^T P_t``.
    source_embedding_ : ndarray of shape (n_source_samples, ``n_components_``) or None
        The source rows, mapped: ``transform_source()``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    TransferComponentAnalysis : One kernel embedding of both domains.
    sktransfer.CORAL : Re-colours the source rows with the target covariance.

    Notes
    -----
    Subspace alignment assumes that the features mean the same in both
    domains and that the domains differ in the subspaces their rows occupy.
    It does not undo a rotation of the target rows: for ``X_t = X_s R^T``
    each domain's own PCA coordinates already agree (``X_t P_t = X_s P_s``),
    and ``M`` moves the source away from them. Centring each domain on its own
    mean, as here (and in skada), also removes a shift of the mean.

    Examples
    --------
    A class signal along the first feature in both domains, and noisy
    directions of large variance that differ between them (and a shifted
    target mean):

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer import Source, SubspaceAlignment
    >>> rng = np.random.RandomState(0)
    >>> def domain(n, noisy, shift):
    ...     y = rng.randint(2, size=n)
    ...     X = rng.normal(scale=0.3, size=(n, 12)) + shift
    ...     X[:, 0] += 2.0 * y - 1.0
    ...     X[:, noisy] += rng.normal(scale=3.0, size=(n, len(noisy)))
    ...     return X, y
    >>> X_source, y_source = domain(500, [1, 2, 3], 0.0)
    >>> X_target, y_target = domain(500, [4, 5, 6], 2.0)
    >>> raw = LogisticRegression().fit(X_source, y_source)
    >>> sa = SubspaceAlignment(n_components=4, source=Source(X=X_source))
    >>> Z_target = sa.fit_transform(X_target)  # no target label
    >>> model = LogisticRegression().fit(sa.transform_source(), y_source)
    >>> print(f"{raw.score(X_target, y_target):.2f} -> "
    ...       f"{model.score(Z_target, y_target):.2f}")
    0.46 -> 1.00
    """

    def __init__(self, n_components=20, *, source=None):
        self.n_components = n_components
        self.source = source

    def fit(self, X, y=None):
        """Learn both principal subspaces and their alignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows, at least 2.
        y : None
            Ignored (no target label is used).

        Returns
        -------
        self : SubspaceAlignment
            The fitted transformer.
        """
        n_components = positive_int(self.n_components, "n_components")
        X_target, X_source = transformer_rows(self, X, dense_because=_SA_DENSE)
        limits = [n_components, X_target.shape[1], len(X_target)]
        if X_source is not None:
            limits.append(len(X_source))
        k = self.n_components_ = min(limits)
        target = PCA(k, svd_solver="full").fit(X_target)
        self.components_target_, self.mean_target_ = target.components_, target.mean_
        if X_source is None:
            self.components_source_ = self.mean_source_ = self.M_ = None
            self.source_embedding_ = None
            return self
        source = PCA(k, svd_solver="full").fit(X_source)
        self.components_source_, self.mean_source_ = source.components_, source.mean_
        self.M_ = self.components_source_ @ self.components_target_.T
        self.source_embedding_ = self._map_source(X_source)
        return self

    def _map_source(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_source_) @ self.components_source_.T @ self.M_

    def transform(self, X):
        """Map target-domain rows to the target subspace.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target-domain rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            ``(X - mean_target_) @ components_target_.T``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_target_) @ self.components_target_.T

    def transform_source(self, X=None):
        """Map source-domain rows into the target subspace, aligned.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Source-domain rows; ``None``: the source rows seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            ``(X - mean_source_) @ components_source_.T @ M_``
            (``source_embedding_`` for ``X=None``).
        """
        check_is_fitted(self)
        if self.M_ is None:
            raise _no_source(self)
        if X is None:
            return self.source_embedding_
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._map_source(X)

    @property
    def _n_features_out(self):
        return self.n_components_


_KERNELS = ("linear", "rbf")


class TransferComponentAnalysis(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Transfer component analysis (Pan et al., 2011), unsupervised.

    ``fit(X_target)`` learns one embedding of the target rows and of the
    source rows of ``source=Source(X=X_source, ...)`` (``n = n_s + n_t``
    rows, source first; ``K`` their kernel matrix, ``H = I - 11^T / n`` the
    centring matrix, ``L = e e^T`` with ``e_i = 1 / n_s`` on the source rows and
    ``-1 / n_t`` on the target rows, so that ``tr(W^T K L K W)`` is the squared
    maximum mean discrepancy between the embedded domains). The paper's
    problem::

        min_W  tr(W^T W) + mu * tr(W^T K L K W)   s.t.  W^T K H K W = I

    is solved by the ``n_components`` leading eigenvectors of ``(I + mu K L
    K)^-1 K H K``; here ``W`` is scaled so that each embedded component has
    variance 1 over the ``n`` rows (the constraint, times ``n``). A row ``x``
    is embedded as ``k(x, rows) W``, so that

    - ``transform(X)`` maps target-domain rows (and any rows: the embedding
      is shared by both domains);
    - ``transform_source()`` gives the source rows' embedding (also
      ``source_embedding_``), on which any model can be trained with the
      source labels.

    No label is used (``y`` is ignored; ``Source.y`` may be ``None``). Without a
    source, ``L = 0``: kernel PCA of the target rows, whitened.

    Parameters
    ----------
    n_components : int, default=20
        The embedding's dimension, capped at ``n - 1`` and at the number of
        components of non-zero variance (at most the number of features with
        the linear kernel).
    kernel : {"linear", "rbf"}, default="linear"
        ``"linear"``: ``k(x, x') = x . x'``; ``"rbf"``: ``exp(-||x -
        x'||^2 / (2 bandwidth^2))``.
    mu : float, default=1.0
        The weight of the mean discrepancy against ``tr(W^T W)``, ``>= 0``
        (``0``: kernel PCA of both domains). As ``L`` has rank 1, a large
        ``mu`` removes one direction, that of the mean difference; the
        embedding changes little beyond ``mu * ||K e||^2 >> 1``.
    bandwidth : "median" or float, default="median"
        The width of the ``"rbf"`` kernel; ``"median"``: the median distance
        between rows of both domains (the median heuristic).
    max_samples : int, default=5000
        The most rows the kernel matrix is built on: ``K`` takes ``O(n^2)``
        memory (``8 n^2`` bytes, 200 MB at 5000 rows) and the eigenvectors
        ``O(n^2)`` time per iteration. Above it, a random subset of
        ``max_samples`` rows (drawn with ``random_state``, each domain in
        proportion to its size, at least one row each) defines the embedding;
        every row, kept or not, is then mapped through it. Sparse (CSR) rows
        stay sparse: only ``K`` is dense.
    source : Source, default=None
        The source rows, ``Source(X=X_source, y=...)``, with the target's
        features in the same order. Kept by reference through ``clone``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset above ``max_samples``, the rows of the median
        heuristic and the start of the iterative eigensolver (above 500 rows).

    Attributes
    ----------
    n_components_ : int
        The embedding's dimension.
    eigenvalues_ : ndarray of shape (``n_components_``,)
        The leading eigenvalues, in decreasing order.
    eigenvectors_ : ndarray of shape (n_rows, ``n_components_``)
        ``W``, scaled as above.
    X_fit_ : ndarray or CSR matrix of shape (n_rows, n_features)
        The rows the kernel is taken against: the (kept) source rows, then
        the (kept) target rows.
    bandwidth_ : float or None
        The ``"rbf"`` kernel's width, else ``None``.
    source_embedding_ : ndarray of shape (n_source_samples, ``n_components_``) or None
        Every source row, embedded: ``transform_source()``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    SubspaceAlignment : Aligns the domains' principal subspaces.

    Examples
    --------
    Two features carry the class; the second is shifted in the target. The
    embedding leaves out the direction of the shift:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer import Source, TransferComponentAnalysis
    >>> rng = np.random.RandomState(0)
    >>> def domain(n, shift):
    ...     y = rng.randint(2, size=n)
    ...     X = rng.normal(size=(n, 5))
    ...     X[:, 0] += 2.0 * y - 1.0
    ...     X[:, 1] += 2.0 * y - 1.0 + shift
    ...     return X, y
    >>> X_source, y_source = domain(400, 0.0)
    >>> X_target, y_target = domain(400, 3.0)
    >>> raw = LogisticRegression().fit(X_source, y_source)
    >>> tca = TransferComponentAnalysis(n_components=2, source=Source(X=X_source))
    >>> Z_target = tca.fit_transform(X_target)  # no target label
    >>> model = LogisticRegression().fit(tca.transform_source(), y_source)
    >>> print(f"{raw.score(X_target, y_target):.2f} -> "
    ...       f"{model.score(Z_target, y_target):.2f}")
    0.60 -> 0.87
    """

    def __init__(
        self,
        n_components=20,
        *,
        kernel="linear",
        mu=1.0,
        bandwidth="median",
        max_samples=5000,
        source=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.mu = mu
        self.bandwidth = bandwidth
        self.max_samples = max_samples
        self.source = source
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR rows stay sparse
        return tags

    def _kernel(self, A, B) -> np.ndarray:
        if self.kernel == "linear":
            return products(A, B)
        return rbf_kernel(A, B, self.bandwidth_)

    def fit(self, X, y=None):
        """Learn the embedding of both domains.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows, at least 2.
        y : None
            Ignored (no target label is used).

        Returns
        -------
        self : TransferComponentAnalysis
            The fitted transformer.
        """
        n_components, mu, sigma, max_samples = self._checked_params()
        X_target, X_source = transformer_rows(self, X, accept_sparse="csr")
        rng = check_random_state(self.random_state)
        Z, n_source = _kept_rows(X_target, X_source, max_samples, rng)
        self.bandwidth_ = None
        if self.kernel == "rbf":
            self.bandwidth_ = median_bandwidth(Z, rng=rng) if sigma is None else sigma
        n = Z.shape[0]
        K = self._kernel(Z, Z)
        penalty = _MeanDiscrepancy.of(K, n_source, mu)
        G = penalty.whiten(K - K.mean(axis=0))  # H K: K H K = G^T G
        values, vectors = _components(G, min(n_components, n - 1), rng)
        self.eigenvalues_ = values
        self.eigenvectors_ = penalty.unwhiten(vectors) * np.sqrt(n / values)
        self.n_components_ = len(values)
        self.X_fit_ = Z
        self.source_embedding_ = None if X_source is None else self._embed(X_source)
        return self

    def _checked_params(self) -> tuple[int, float, float | None, int]:
        """``(n_components, mu, bandwidth or None for the median, max_samples)``."""
        n_components = positive_int(self.n_components, "n_components")
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be 'linear' or 'rbf', got {self.kernel!r}.")
        mu = positive_float(self.mu, "mu", zero=True)
        sigma = bandwidth_value(self.bandwidth)
        max_samples = positive_int(self.max_samples, "max_samples")
        if max_samples < 4:
            raise ValueError(f"max_samples must be at least 4, got {max_samples}.")
        return n_components, mu, sigma, max_samples

    def _embed(self, X: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return X @ (self.X_fit_.T @ self.eigenvectors_)
        out = np.empty((X.shape[0], self.n_components_))
        for start in range(0, X.shape[0], 2048):
            rows = X[start : start + 2048]
            out[start : start + 2048] = self._kernel(rows, self.X_fit_) @ (
                self.eigenvectors_
            )
        return out

    def transform(self, X):
        """Embed rows (of either domain) with the learnt components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows, typically target rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            ``k(X, X_fit_) @ eigenvectors_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, accept_sparse="csr")
        return self._embed(X)

    def transform_source(self, X=None):
        """The source rows' embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Source-domain rows; ``None``: the source rows seen in ``fit``. The
            embedding is shared, so new rows map as in :meth:`transform`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            ``source_embedding_`` for ``X=None``, else ``transform(X)``.
        """
        check_is_fitted(self)
        if self.source_embedding_ is None:
            raise _no_source(self)
        if X is None:
            return self.source_embedding_
        return self.transform(X)

    @property
    def _n_features_out(self):
        return self.n_components_


def _kept_rows(X_target, X_source, max_samples: int, rng) -> tuple[object, int]:
    """The rows the kernel matrix is built on, the kept source rows first
    (at most ``max_samples`` in all), and how many of them are source rows."""
    n_s = 0 if X_source is None else X_source.shape[0]
    kept_source, kept_target = _subsample(n_s, X_target.shape[0], max_samples, rng)
    target = X_target[kept_target]
    if X_source is None:
        return target, 0
    return stack(X_source[kept_source], target), len(kept_source)


@dataclass(frozen=True)
class _MeanDiscrepancy:
    """The mean-discrepancy term ``mu K L K = mu u u^T`` (``L = e e^T`` has
    rank 1, ``u = K e``), folded into the eigenproblem through
    ``(I + mu u u^T)^(-1/2) = I + c u u^T / uu``. Without a source, with
    ``mu = 0`` or with ``u = 0`` it is the identity (kernel PCA)."""

    u: np.ndarray | None
    scale: float  # c / uu

    @classmethod
    def of(cls, K: np.ndarray, n_source: int, mu: float) -> _MeanDiscrepancy:
        if not n_source or mu <= 0:
            return cls(None, 0.0)
        n = K.shape[0]
        e = np.r_[
            np.full(n_source, 1.0 / n_source),
            np.full(n - n_source, -1.0 / (n - n_source)),
        ]
        u = K @ e
        uu = float(u @ u)
        if uu <= 0:
            return cls(None, 0.0)
        c = 1.0 / np.sqrt(1.0 + mu * uu) - 1.0
        return cls(u, c / uu)

    def whiten(self, G: np.ndarray) -> np.ndarray:
        """``G (I + mu u u^T)^(-1/2)``, in place."""
        if self.u is not None:
            G += self.scale * np.outer(G @ self.u, self.u)
        return G

    def unwhiten(self, vectors: np.ndarray) -> np.ndarray:
        """``W = (I + mu u u^T)^(-1/2) z`` for each eigenvector ``z``."""
        if self.u is None:
            return vectors
        return vectors + self.scale * np.outer(self.u, self.u @ vectors)


def _components(G: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The leading eigenpairs of ``G^T G`` of non-zero variance (a
    ``ValueError`` if none), each vector's largest entry positive."""
    values, vectors = _leading_eigenpairs(G, k, rng)
    keep = values > max(values[0], 0.0) * 1e-10 if len(values) else values > 0
    values, vectors = values[keep], vectors[:, keep]
    if not len(values):
        raise ValueError(
            "TransferComponentAnalysis found no component of non-zero "
            "variance: the rows are all the same."
        )
    # Deterministic signs: the largest entry of each vector positive.
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), range(len(values))])
    return values, vectors * np.where(signs == 0, 1.0, signs)


def _subsample(n_source: int, n_target: int, max_samples: int, rng):
    """Indices of the rows kept of each domain: all of them up to
    ``max_samples`` in total, else a random subset in proportion."""
    total = n_source + n_target
    if total <= max_samples:
        return np.arange(n_source), np.arange(n_target)
    keep_source = 0
    if n_source:
        keep_source = int(round(max_samples * n_source / total))
        keep_source = min(max(keep_source, 1), max_samples - 1)
    keep_target = max_samples - keep_source
    pick = lambda n, k: np.sort(rng.choice(n, k, replace=False))  # noqa: E731
    return pick(n_source, keep_source), pick(n_target, keep_target)


def _leading_eigenpairs(G: np.ndarray, k: int, rng):
    """The ``k`` largest eigenvalues of ``G^T G`` (decreasing) and their unit
    eigenvectors: dense up to 500 rows, Lanczos (``eigsh``) above."""
    n = G.shape[1]
    if n <= 500 or k >= n // 2:
        C = G.T @ G
        values, vectors = linalg.eigh((C + C.T) / 2, subset_by_index=[n - k, n - 1])
    else:
        operator = LinearOperator(
            (n, n), matvec=lambda v: G.T @ (G @ v), dtype=np.float64
        )
        values, vectors = eigsh(operator, k=k, which="LA", v0=rng.uniform(-1, 1, n))
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]
