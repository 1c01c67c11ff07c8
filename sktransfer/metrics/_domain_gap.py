"""Domain-gap metrics: how far apart unlabelled source and target rows are.

Each function compares two samples of rows (features, embeddings, or raw
inputs), ``metric(X_source, X_target) -> float``, without labels. Unlike the
scores elsewhere in :mod:`sktransfer.metrics`, **greater means a larger gap**
between the domains for every one of them.

* :func:`proxy_a_distance` -- how well a classifier tells the two domains
  apart (Ben-David et al., 2007/2010).
* :func:`mmd` -- unbiased squared maximum mean discrepancy with a Gaussian
  kernel (Gretton et al., 2012).
* :func:`coral_distance` -- distance between the two feature covariance
  matrices, as in Deep CORAL (Sun & Saenko, 2016).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array, check_random_state

from .._base.statistics import covariance
from ._array_checks import _power_of_two_scale

__all__ = ["coral_distance", "mmd", "proxy_a_distance"]

#: Default cap on the rows per domain that :func:`mmd` uses (memory is
#: quadratic in the number of rows).
MMD_MAX_ROWS = 2000


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


def _check_one(X: Any, name: str) -> np.ndarray:
    """A dense, finite float64 array of rows, flattened to 2-D."""
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; domain-gap metrics need a dense array "
            "(use X.toarray() if it fits in memory)."
        )
    try:
        # allow_nd: image batches (n, C, H, W) are accepted and flattened below.
        # Row and feature counts are checked here, with messages naming X.
        X = check_array(
            X,
            dtype=np.float64,
            allow_nd=True,
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=name,
        )
    except ValueError as exc:
        message = str(exc)
        if name not in message:
            message = f"{name}: {message}"
        raise ValueError(message) from exc
    # A view when possible; nothing below writes into it.
    return X.reshape(X.shape[0], -1)


def _check_domains(
    X_source: Any, X_target: Any, *, min_rows: int, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate both domains: 2-D rows, same features, enough rows each."""
    Xs = _check_one(X_source, "X_source")
    Xt = _check_one(X_target, "X_target")
    for X, name in ((Xs, "X_source"), (Xt, "X_target")):
        if X.shape[1] == 0:
            raise ValueError(f"{name} has no features (shape {X.shape}).")
        if X.shape[0] < min_rows:
            raise ValueError(
                f"{name} has {X.shape[0]} row(s); {caller} needs at least "
                f"{min_rows} rows in each domain."
            )
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError(
            f"X_source and X_target must have the same number of features: "
            f"X_source has {Xs.shape[1]}, X_target has {Xt.shape[1]}."
        )
    return Xs, Xt


def _check_int(value: Any, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}.")
    return int(value)


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------


def proxy_a_distance(
    X_source: ArrayLike,
    X_target: ArrayLike,
    *,
    estimator: Any = None,
    cv: int = 5,
    random_state: Any = None,
) -> float:
    """Proxy A-distance: how well a classifier separates the two domains.

    A domain classifier is trained to tell source rows (label 0) from target
    rows (label 1); its cross-validated error ``eps`` gives the distance
    ``2 * (1 - 2 * eps)``. **Greater means a larger gap**: about 0 when the
    domains cannot be told apart, 2 when they are perfectly separable.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features) or (n_source, ...)
        Source rows. Inputs with more than two dimensions (e.g. images of
        shape ``(n, C, H, W)``) are flattened to one row per sample.
    X_target : array-like of shape (n_target, n_features) or (n_target, ...)
        Target rows, with the same number of features as ``X_source``.
    estimator : classifier, default=None
        Domain classifier; a clone of it is fitted on every fold. ``None``
        means ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``.
    cv : int, default=5
        Number of stratified folds (at least 2). Each domain needs at least
        ``cv`` rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the stratified folds.

    Returns
    -------
    float
        The proxy A-distance, in ``[-2, 2]``. Values below 0 mean the
        classifier did worse than chance on held-out rows (noise).

    Notes
    -----
    With ``acc`` the mean cross-validated accuracy of the domain classifier,

    .. math:: \\epsilon = 1 - acc, \\qquad d_A = 2 (1 - 2 \\epsilon).

    The error is measured on the pooled rows of both domains, which are not
    subsampled to equal sizes. If the domains have very different sizes, a
    classifier that always predicts the larger domain already has an error
    below 0.5, so even identical distributions give a distance above 0; pass
    domains of similar sizes to compare distances.

    References
    ----------
    .. [1] S. Ben-David, J. Blitzer, K. Crammer, F. Pereira, "Analysis of
       Representations for Domain Adaptation", NeurIPS 2007.
    .. [2] S. Ben-David, J. Blitzer, K. Crammer, A. Kulesza, F. Pereira,
       J. W. Vaughan, "A theory of learning from different domains",
       Machine Learning 79, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import proxy_a_distance
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(200, 5))
    >>> X_target = rng.normal(size=(200, 5)) + 3.0
    >>> print(round(proxy_a_distance(X_source, X_target, random_state=0), 1))
    2.0
    >>> X_same = rng.normal(size=(200, 5))
    >>> bool(proxy_a_distance(X_source, X_same, random_state=0) < 0.5)
    True
    """
    cv = _check_int(cv, "cv", low=2)
    Xs, Xt = _check_domains(X_source, X_target, min_rows=cv, caller="proxy_a_distance")
    if estimator is None:
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        estimator = clone(estimator)
    X = np.vstack([Xs, Xt])
    y = np.concatenate([np.zeros(len(Xs), dtype=int), np.ones(len(Xt), dtype=int)])
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    # error_score="raise": a failing fit must not turn into a silent NaN.
    accuracy = cross_val_score(
        estimator, X, y, cv=folds, scoring="accuracy", error_score="raise"
    )
    eps = 1.0 - float(np.mean(accuracy))
    return float(2.0 * (1.0 - 2.0 * eps))


def mmd(
    X_source: ArrayLike,
    X_target: ArrayLike,
    *,
    gamma: float | None = None,
    max_rows: int | None = MMD_MAX_ROWS,
    random_state: Any = None,
) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian kernel.

    Compares the kernel mean embeddings of the two domains. **Greater means a
    larger gap**; for identical distributions the estimate is about 0 and, being
    unbiased, may be slightly negative.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features) or (n_source, ...)
        Source rows, at least 2. Inputs with more than two dimensions (e.g.
        images of shape ``(n, C, H, W)``) are flattened to one row per sample.
    X_target : array-like of shape (n_target, n_features) or (n_target, ...)
        Target rows, at least 2, with the same number of features as
        ``X_source``.
    gamma : float or None, default=None
        Kernel width in ``k(x, y) = exp(-gamma ||x - y||^2)``. ``None`` uses
        the median heuristic ``1 / median(||x_i - x_j||^2)`` over all distinct
        pairs of the pooled rows, zero distances excluded (``gamma = 1`` if
        every pooled row is the same). The squared distances are computed on
        the rows divided by a power of two near their largest absolute value,
        with ``gamma`` scaled to match (exact), so rows of any finite
        magnitude give the same kernel as at unit scale.
    max_rows : int or None, default=2000
        Memory and time are quadratic in the number of rows, so a domain with
        more than ``max_rows`` rows is replaced by a random subsample of
        ``max_rows`` of its rows (without replacement). ``None`` uses every
        row.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsampling; unused when no domain exceeds ``max_rows``.

    Returns
    -------
    float
        The unbiased estimate of the squared MMD.

    Notes
    -----
    With source rows :math:`x_1..x_m` and target rows :math:`y_1..y_n`,

    .. math::

        \\mathrm{MMD}_u^2 = \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j)
        + \\frac{1}{n(n-1)} \\sum_{i \\ne j} k(y_i, y_j)
        - \\frac{2}{mn} \\sum_{i, j} k(x_i, y_j).

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A Kernel Two-Sample Test", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import mmd
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(100, 3))
    >>> X_same = rng.normal(size=(100, 3))
    >>> X_shifted = rng.normal(size=(100, 3)) + 1.0
    >>> bool(abs(mmd(X_source, X_same)) < 0.05)
    True
    >>> bool(mmd(X_source, X_shifted) > mmd(X_source, X_same) + 0.1)
    True
    """
    if gamma is not None:
        if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
            raise ValueError(f"gamma must be a positive number or None, got {gamma!r}.")
        if not (np.isfinite(gamma) and gamma > 0):
            raise ValueError(f"gamma must be positive and finite, got {gamma!r}.")
        gamma = float(gamma)
    if max_rows is not None:
        max_rows = _check_int(max_rows, "max_rows", low=2)
    Xs, Xt = _check_domains(X_source, X_target, min_rows=2, caller="mmd")

    if max_rows is not None:
        rng = check_random_state(random_state)
        # Fancy indexing copies, so the caller's arrays stay untouched.
        if len(Xs) > max_rows:
            Xs = Xs[rng.choice(len(Xs), size=max_rows, replace=False)]
        if len(Xt) > max_rows:
            Xt = Xt[rng.choice(len(Xt), size=max_rows, replace=False)]

    m, n = len(Xs), len(Xt)
    # The kernel depends on gamma * ||x - y||^2 only: rows divided by 2**e
    # (exact) and gamma multiplied by 4**e give the same kernel, without the
    # squared distances overflowing (rows around 1e155) or underflowing.
    e = _power_of_two_scale(Xs, Xt)
    # One matrix of squared distances serves the median heuristic and the
    # kernel (exp(-gamma * d^2) is what rbf_kernel computes).
    sq = euclidean_distances(np.ldexp(np.vstack([Xs, Xt]), -e), squared=True)
    if gamma is None:
        # The matrix is symmetric, so its positive entries have the same
        # median as the positive distances over distinct pairs.
        positive = sq[sq > 0]
        gamma = 1.0 / float(np.median(positive)) if positive.size else 1.0
    else:
        with np.errstate(over="ignore"):  # inf: every distinct pair gives 0
            gamma = float(np.ldexp(gamma, 2 * e))
    # Equal rows give exp(0) = 1 even where gamma overflowed (no inf * 0).
    np.multiply(sq, -gamma, out=sq, where=sq > 0)
    kernel = np.exp(sq, out=sq)

    k_ss = kernel[:m, :m]
    k_tt = kernel[m:, m:]
    k_st = kernel[:m, m:]
    # Unbiased: the diagonal terms k(x_i, x_i) are left out.
    within_s = (k_ss.sum() - np.trace(k_ss)) / (m * (m - 1))
    within_t = (k_tt.sum() - np.trace(k_tt)) / (n * (n - 1))
    between = k_st.sum() / (m * n)
    return float(within_s + within_t - 2.0 * between)


def coral_distance(X_source: ArrayLike, X_target: ArrayLike) -> float:
    """CORAL distance: squared distance between the domains' covariances.

    The distance Deep CORAL minimises to align second-order statistics.
    **Greater means a larger gap**; it is 0 when both domains have the same
    covariance, whatever their means (a shift of either domain changes
    nothing).

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features) or (n_source, ...)
        Source rows, at least 2. Inputs with more than two dimensions (e.g.
        images of shape ``(n, C, H, W)``) are flattened to one row per sample.
    X_target : array-like of shape (n_target, n_features) or (n_target, ...)
        Target rows, at least 2, with the same number of features as
        ``X_source``.

    Returns
    -------
    float
        The CORAL distance, >= 0.

    Notes
    -----
    With :math:`C_S` and :math:`C_T` the unbiased (``n - 1``) covariance
    matrices of the source and target rows and :math:`d` the number of
    features,

    .. math:: \\ell_{CORAL} = \\frac{1}{4 d^2} \\lVert C_S - C_T \\rVert_F^2.

    Memory is quadratic in ``d`` (two ``d x d`` matrices). The distance is
    computed on both domains divided by a power of two near their largest
    absolute value and scaled back exactly (it grows as the fourth power of
    the rows' scale), so rows of any magnitude give it without overflow in
    the covariances; a distance beyond float64's range raises a
    ``ValueError`` rather than returning infinity or NaN.

    References
    ----------
    .. [1] B. Sun, K. Saenko, "Deep CORAL: Correlation Alignment for Deep
       Domain Adaptation", ECCV 2016 Workshops.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import coral_distance
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(100, 4))
    >>> print(round(coral_distance(X_source, X_source + 5.0), 6))
    0.0
    >>> bool(coral_distance(X_source, 3.0 * X_source) > 0.1)
    True
    """
    Xs, Xt = _check_domains(X_source, X_target, min_rows=2, caller="coral_distance")
    d = Xs.shape[1]
    # The distance scales as the fourth power of the rows: computed on rows
    # divided by 2**e (exact, no overflow in the covariances), then scaled
    # back by 2**(4e), exactly.
    e = _power_of_two_scale(Xs, Xt)
    diff = covariance(np.ldexp(Xs, -e)) - covariance(np.ldexp(Xt, -e))
    scaled = float(np.sum(diff * diff) / (4.0 * d * d))
    with np.errstate(over="ignore"):
        distance = float(np.ldexp(scaled, 4 * e))
    if not np.isfinite(distance):
        raise ValueError(
            f"The CORAL distance of these rows is about {scaled:.3g} * 2**{4 * e}, "
            "beyond the range of float64 (their largest absolute value is about "
            f"2**{e}; the distance grows as its fourth power). Rescale both "
            "domains by the same factor (e.g. divide them by the source's "
            "standard deviation) and compare distances at that scale."
        )
    return distance
