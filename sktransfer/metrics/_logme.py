"""LogME (You et al., ICML 2021): the evidence of a Bayesian linear model on a
model's features, as a transferability score. Greater is better."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._array_checks import _power_of_two_scale
from ._transferability import (
    _PRECISION_MAX,
    _PRECISION_MIN,
    _check_labels,
    _check_lengths,
    _check_matrix,
)

__all__ = ["log_me"]


def _log_me_one_target(
    s2: np.ndarray,
    z: np.ndarray,
    r0: float,
    n: int,
    d: int,
    max_iter: int,
    tol: float,
) -> float:
    """Maximised log evidence / n for one target column, in SVD coordinates.

    ``s2`` are the squared singular values of F (length k = min(n, d)),
    ``z = U^T y`` and ``r0 = ||y||^2 - ||z||^2`` the part of ``||y||^2``
    outside F's column space.
    """
    z2 = z * z

    def stats(alpha: float, beta: float) -> tuple[float, float, float]:
        denom = alpha + beta * s2
        gamma = float(np.sum(beta * s2 / denom))
        m2 = float(np.sum(beta**2 * s2 * z2 / denom**2))  # ||m||^2
        res2 = float(np.sum(alpha**2 * z2 / denom**2)) + r0  # ||F m - y||^2
        return gamma, m2, res2

    tiny = np.finfo(np.float64).tiny
    alpha, beta = 1.0, 1.0
    for _ in range(max_iter):
        gamma, m2, res2 = stats(alpha, beta)
        new_alpha = gamma / max(m2, tiny)
        new_beta = (n - gamma) / max(res2, tiny)
        new_alpha = float(np.clip(new_alpha, _PRECISION_MIN, _PRECISION_MAX))
        new_beta = float(np.clip(new_beta, _PRECISION_MIN, _PRECISION_MAX))
        converged = (
            abs(new_alpha - alpha) <= tol * alpha and abs(new_beta - beta) <= tol * beta
        )
        alpha, beta = new_alpha, new_beta
        if converged:
            break

    _, m2, res2 = stats(alpha, beta)
    # log|A| with A = alpha I_d + beta F^T F: d - k eigenvalues are just alpha.
    log_det_a = float(np.sum(np.log(alpha + beta * s2))) + (d - len(s2)) * np.log(alpha)
    evidence = (
        0.5 * n * np.log(beta)
        + 0.5 * d * np.log(alpha)
        - 0.5 * n * np.log(2.0 * np.pi)
        - 0.5 * beta * res2
        - 0.5 * alpha * m2
        - 0.5 * log_det_a
    )
    return float(evidence / n)


def log_me(
    features: ArrayLike,
    y: ArrayLike,
    *,
    max_iter: int = 100,
    tol: float = 1e-3,
) -> float:
    """LogME: mean maximised log evidence of a linear model on the features.

    For each target class, fits a Bayesian linear regression from the
    pretrained model's features to the class's one-vs-rest indicator and
    maximises its marginal likelihood (evidence) over the prior precision
    ``alpha`` and the noise precision ``beta``. Features from which a linear
    model explains the labels well, with small weights, have high evidence.
    Greater is better.

    Parameters
    ----------
    features : array-like or sparse matrix of shape (n_samples, n_features)
        The pretrained model's features (e.g. penultimate-layer outputs) on
        the labelled target rows. Finite numbers. A scipy sparse matrix is
        densified (refused if its dense copy would exceed 1 GiB).
    y : array-like of shape (n_samples,)
        Target labels, of any type but one type for all (not strings mixed
        with numbers); at least 2 distinct classes.
    max_iter : int, default=100
        Most fixed-point iterations per class.
    tol : float, default=1e-3
        Stop when both ``alpha`` and ``beta`` change by at most ``tol``
        relative to their previous value.

    Returns
    -------
    float
        Mean over classes of the maximised log evidence divided by
        ``n_samples``. Greater is better.

    Raises
    ------
    ValueError
        If ``features`` is not a finite 2-D numeric array, ``y`` is not 1-D or
        has fewer than 2 classes or NaN/inf, their lengths differ, or
        ``max_iter``/``tol`` are not positive.

    Notes
    -----
    With features :math:`F \\in \\mathbb{R}^{n \\times d}` and, for class
    :math:`c`, the target :math:`y_c = (1[y_i = c])_i`, the model is
    :math:`y_c = F w + \\varepsilon` with :math:`w \\sim N(0, \\alpha^{-1} I)` and
    :math:`\\varepsilon \\sim N(0, \\beta^{-1} I)`. Its log evidence is

    .. math::

        \\mathcal{L}(\\alpha, \\beta) = \\frac{n}{2}\\log\\beta
        + \\frac{d}{2}\\log\\alpha - \\frac{n}{2}\\log 2\\pi
        - \\frac{\\beta}{2}\\lVert F m - y_c\\rVert^2
        - \\frac{\\alpha}{2} m^\\top m - \\frac{1}{2}\\log|A|,

    with :math:`A = \\alpha I + \\beta F^\\top F` and
    :math:`m = \\beta A^{-1} F^\\top y_c`. Starting from
    :math:`\\alpha = \\beta = 1`, the paper's fixed-point iteration sets
    :math:`\\gamma = \\sum_j \\beta\\sigma_j / (\\alpha + \\beta\\sigma_j)`,
    :math:`\\alpha \\leftarrow \\gamma / m^\\top m` and
    :math:`\\beta \\leftarrow (n - \\gamma) / \\lVert F m - y_c\\rVert^2`, where
    :math:`\\sigma_j` are the eigenvalues of :math:`F^\\top F`. Everything is
    computed from one SVD :math:`F = U S V^\\top`, shared by all classes. The
    score is :math:`\\frac{1}{C}\\sum_c \\mathcal{L}_c(\\alpha^*, \\beta^*) / n`.

    The score does not depend on which label value names which class. It does
    not depend on the features' scale either: with :math:`cF` for
    :math:`F`, the evidence at :math:`c^2\alpha` equals the one at
    :math:`\alpha`. So the features are divided by a power of two near their
    largest absolute value (exact in floating point) before the SVD, and
    features of any finite magnitude (1e-150 or 1e155) get the score of the
    same features at unit scale; they are not centred. In degenerate cases
    (all-zero features, or ``n_samples <= n_features`` so the features can fit
    ``y`` exactly) ``alpha`` and ``beta`` (for the scaled features) are kept
    within ``[1e-100, 1e100]`` so the score stays finite.

    References
    ----------
    .. [1] K. You, Y. Liu, J. Wang, M. Long, "LogME: Practical Assessment of
       Pre-trained Models for Transfer Learning", ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import log_me
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(["cat", "dog"], 20)
    >>> informative = rng.normal(size=(40, 3)) + 3.0 * (y == "dog")[:, None]
    >>> uninformative = rng.normal(size=(40, 3))
    >>> bool(log_me(informative, y) > log_me(uninformative, y))
    True
    """
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    features = _check_matrix(features, "features")
    codes = _check_labels(y, "y", min_classes=2)
    _check_lengths(len(features), "features", len(codes), "y")

    n, d = features.shape
    # The evidence does not change when F is scaled (alpha absorbs the scale:
    # see the Notes); divided by a power of two (exact), features of any
    # magnitude square without overflowing or underflowing.
    features = np.ldexp(features, -_power_of_two_scale(features))
    u, s, _ = np.linalg.svd(features, full_matrices=False)
    s2 = s * s
    n_classes = int(codes.max()) + 1
    targets = (codes[:, None] == np.arange(n_classes)).astype(np.float64)
    z_all = u.T @ targets  # (k, n_classes)
    scores = []
    for c in range(n_classes):
        z = z_all[:, c]
        r0 = max(float(targets[:, c].sum() - z @ z), 0.0)  # ||y_c||^2 = count
        scores.append(_log_me_one_target(s2, z, r0, n, d, int(max_iter), tol))
    return float(np.mean(scores))


# --------------------------------------------------------------------------
# LEEP
# --------------------------------------------------------------------------
