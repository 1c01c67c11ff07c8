"""Transferability scores: which pretrained model to fine-tune, before fine-tuning.

Each function scores how well a pretrained (source) model is expected to
transfer to a labelled target task, from the model's features or predictions
on the target rows alone: no training, no fine-tuning. They are plain numpy
functions, ``score(outputs, y) -> float``, and for every one of them
**greater is better**. Compare scores of several source models on the *same*
target rows; the absolute values are not comparable across target data sets.

* :func:`~sktransfer.metrics.log_me` -- LogME, log marginal evidence of a
  Bayesian linear model on the features (You et al., 2021; in ``_logme.py``).
* :func:`h_score` -- H-score, how much of the features' variance the class
  means explain (Bao et al., 2019).
* :func:`leep` -- LEEP, log expected empirical prediction from the source
  model's class probabilities (Nguyen et al., 2020).
* :func:`nce` -- negative conditional entropy of the target labels given the
  source model's hard labels (Tran et al., 2019).

Target labels ``y`` may be of any type (integers, strings, ...): only which
rows share a label matters.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from .._labels import check_label_kinds
from ._array_checks import _power_of_two_scale

__all__ = ["h_score", "leep", "nce"]

#: Rows of ``source_proba`` must sum to 1 within this absolute tolerance.
PROBA_ATOL = 1e-4

#: Eigenvalues of the feature covariance below ``H_SCORE_RCOND`` times the
#: largest one are treated as zero by :func:`h_score`'s pseudo-inverse.
H_SCORE_RCOND = 1e-10

#: A sparse matrix is densified when its dense float64 copy takes at most this
#: many bytes (the scores work on dense matrices: an SVD, class means).
SPARSE_DENSIFY_MAX_BYTES = 1 << 30

# LogME's fixed-point iteration keeps alpha and beta inside these bounds, so a
# degenerate case (all-zero features, features that fit y exactly) stays finite.
_PRECISION_MIN, _PRECISION_MAX = 1e-100, 1e100


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


def _check_labels(labels: ArrayLike, name: str, min_classes: int) -> np.ndarray:
    """1-D labels of any type -> integer codes ``0 .. n_classes - 1``."""
    check_label_kinds(labels, what=name)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels, got shape {labels.shape}"
        )
    if labels.dtype.kind in "fc" and not np.all(np.isfinite(labels)):
        raise ValueError(f"{name} contains NaN or infinity")
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            f"{name} must hold labels that can be compared with each other "
            f"(e.g. all strings or all numbers): {exc}"
        ) from exc
    if len(classes) < min_classes:
        raise ValueError(
            f"{name} must contain at least {min_classes} classes, got {len(classes)}"
        )
    return codes.reshape(-1)


def _check_matrix(values: ArrayLike, name: str) -> np.ndarray:
    """A finite 2-D float64 array with at least one column; a scipy sparse
    matrix is densified when the copy is small enough."""
    if sp.issparse(values):
        dense_bytes = 8 * values.shape[0] * values.shape[1]
        if dense_bytes > SPARSE_DENSIFY_MAX_BYTES:
            raise ValueError(
                f"{name} is a sparse matrix of shape {values.shape}, whose dense "
                f"copy would take {dense_bytes / 2**30:.1f} GiB (more than "
                f"{SPARSE_DENSIFY_MAX_BYTES / 2**30:g} GiB); reduce it first "
                "(e.g. sklearn.decomposition.TruncatedSVD) and pass the result."
            )
        values = values.toarray()
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from exc
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_columns), "
            f"got shape {values.shape}"
        )
    if values.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column, got shape (n, 0)")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinity")
    return values


def _check_lengths(n_rows: int, name: str, n_labels: int, label_name: str) -> None:
    if n_rows != n_labels:
        raise ValueError(
            f"{name} and {label_name} have different lengths: "
            f"{name} has {n_rows} rows, {label_name} has {n_labels}"
        )


def _check_proba(source_proba: ArrayLike) -> np.ndarray:
    proba = _check_matrix(source_proba, "source_proba")
    if np.any(proba < 0):
        raise ValueError("source_proba must be non-negative (class probabilities)")
    sums = proba.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBA_ATOL)
    if len(bad):
        raise ValueError(
            f"source_proba rows must sum to 1 (within {PROBA_ATOL:g}): "
            f"row {bad[0]} sums to {sums[bad[0]]:.6g}; pass probabilities, "
            "e.g. a softmax of the logits, not the logits themselves"
        )
    return proba


# --------------------------------------------------------------------------
# LogME
# --------------------------------------------------------------------------


def leep(source_proba: ArrayLike, y: ArrayLike) -> float:
    """LEEP: log expected empirical prediction of the source model's outputs.

    Builds the empirical joint distribution of target labels ``y`` and the
    source model's (soft) source-class predictions ``z``, and scores the
    classifier that predicts ``y`` by passing each source prediction through
    ``P(y | z)``: the mean log-likelihood it gives the true target labels.
    Greater is better; the score is at most 0.

    Parameters
    ----------
    source_proba : array-like of shape (n_samples, n_source_classes)
        The source model's class probabilities :math:`\\theta_i(z)` on the
        labelled target rows (e.g. a softmax of its logits). Each row must be
        non-negative and sum to 1 within ``1e-4``.
    y : array-like of shape (n_samples,)
        Target labels, of any type; at least 2 distinct classes.

    Returns
    -------
    float
        The LEEP score, in :math:`(-\\infty, 0]`. Greater is better.

    Raises
    ------
    ValueError
        If ``source_proba`` is not a finite 2-D numeric array, has negative
        entries or rows that do not sum to 1, if ``y`` is not 1-D or has fewer
        than 2 classes or NaN/inf, or if their lengths differ.

    Notes
    -----
    .. math::

        \\hat P(y, z) = \\frac{1}{n}\\sum_{i : y_i = y} \\theta_i(z), \\qquad
        \\hat P(y \\mid z) = \\frac{\\hat P(y, z)}{\\sum_{y'} \\hat P(y', z)},

    .. math::

        \\mathrm{LEEP} = \\frac{1}{n}\\sum_{i=1}^n
        \\log \\sum_z \\hat P(y_i \\mid z)\\, \\theta_i(z).

    A source class that no row gives any probability does not contribute.

    References
    ----------
    .. [1] C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau, "LEEP: A New
       Measure to Evaluate Transferability of Learned Representations",
       ICML 2020.

    Examples
    --------
    Source class 0 always means target "a", source class 1 target "b": the
    source predictions are perfect, so LEEP is 0.

    >>> import numpy as np
    >>> from sktransfer.metrics import leep
    >>> proba = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> leep(proba, ["a", "a", "b", "b"])
    0.0
    >>> round(leep([[0.5, 0.5]] * 4, ["a", "a", "b", "b"]), 4)  # log(1/2)
    -0.6931
    """
    proba = _check_proba(source_proba)
    codes = _check_labels(y, "y", min_classes=2)
    _check_lengths(len(proba), "source_proba", len(codes), "y")

    n = len(codes)
    n_classes = int(codes.max()) + 1
    one_hot = (codes[:, None] == np.arange(n_classes)).astype(np.float64)
    joint = one_hot.T @ proba / n  # (n_classes, n_source_classes)
    marginal_z = joint.sum(axis=0)
    conditional = np.divide(
        joint, marginal_z, out=np.zeros_like(joint), where=marginal_z > 0
    )  # P(y | z)
    expected = np.sum(conditional[codes] * proba, axis=1)  # sum_z P(y_i|z) th_i(z)
    return float(np.mean(np.log(expected)))


# --------------------------------------------------------------------------
# H-score
# --------------------------------------------------------------------------


def h_score(features: ArrayLike, y: ArrayLike) -> float:
    """H-score: the features' variance explained by the target class means.

    Measures how discriminative the features are for the target labels: the
    covariance of the class-conditional feature means, whitened by the
    covariance of the features. Greater is better; the score lies in
    ``[0, min(n_features, n_classes - 1)]``.

    Parameters
    ----------
    features : array-like or sparse matrix of shape (n_samples, n_features)
        The pretrained model's features on the labelled target rows. Finite
        numbers. A scipy sparse matrix is densified (refused if its dense
        copy would exceed 1 GiB).
    y : array-like of shape (n_samples,)
        Target labels, of any type but one type for all (not strings mixed
        with numbers); at least 2 distinct classes.

    Returns
    -------
    float
        The H-score. Greater is better.

    Raises
    ------
    ValueError
        If ``features`` is not a finite 2-D numeric array, ``y`` is not 1-D or
        has fewer than 2 classes or NaN/inf, or their lengths differ.

    Notes
    -----
    With the centred features :math:`f` and
    :math:`g_i = \\mathbb{E}[f \\mid y = y_i]` the mean of :math:`y_i`'s class,

    .. math::

        H(f) = \\operatorname{tr}\\left(\\operatorname{cov}(f)^{+}
        \\operatorname{cov}(g)\\right),

    where both covariances divide by ``n_samples`` and :math:`^{+}` is the
    Moore-Penrose pseudo-inverse: eigenvalues of :math:`\\operatorname{cov}(f)`
    below ``1e-10`` times the largest are treated as zero, so redundant or
    constant feature columns do not blow the score up. The score is invariant
    to any invertible linear transform (and shift) of the features; they are
    divided by a power of two near their largest absolute value first (exact
    in floating point), so features of any finite magnitude (1e-150 or 1e160)
    get the score of the same features at unit scale.

    References
    ----------
    .. [1] Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir,
       L. Guibas, "An Information-Theoretic Approach to Transferability in Task
       Transfer Learning", ICIP 2019.

    Examples
    --------
    A feature equal to the class explains all of its variance:

    >>> import numpy as np
    >>> from sktransfer.metrics import h_score
    >>> y = np.array(["a", "a", "b", "b"])
    >>> round(h_score(np.array([[0.0], [0.0], [1.0], [1.0]]), y), 4)
    1.0
    >>> round(h_score(np.array([[0.0], [1.0], [0.0], [1.0]]), y), 4)
    0.0
    """
    features = _check_matrix(features, "features")
    codes = _check_labels(y, "y", min_classes=2)
    _check_lengths(len(features), "features", len(codes), "y")

    # The score is scale-invariant: divided by a power of two (exact), features
    # of any magnitude square without overflowing or underflowing.
    features = np.ldexp(features, -_power_of_two_scale(features))
    f = features - features.mean(axis=0)
    n_classes = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    # With f = U S V^T, cov(f)^+ cov(g) has trace ||P U_r||_F^2, where P
    # replaces each row by its class mean and U_r keeps the directions whose
    # variance is above the cut-off: no d x d matrix, so wide features (a
    # convolution map of 25k values) cost O(n^2 d), not O(d^3).
    u, singular, _ = np.linalg.svd(f, full_matrices=False)
    top = singular.max(initial=0.0)
    if top <= 0:
        return 0.0  # constant features: nothing to explain
    u = u[:, singular**2 > H_SCORE_RCOND * top**2]
    sums = np.zeros((n_classes, u.shape[1]))
    np.add.at(sums, codes, u)
    class_means = sums / counts[:, None]
    return float(np.sum(counts[:, None] * class_means**2))


# --------------------------------------------------------------------------
# NCE
# --------------------------------------------------------------------------


def nce(source_labels: ArrayLike, y: ArrayLike) -> float:
    """NCE: negative conditional entropy of the target labels given source labels.

    How predictable the target labels are from the source model's hard
    predictions: ``-H(Y | Z)`` of the empirical joint distribution. Greater is
    better; the score is at most 0, reached when each source label determines
    the target label, and equals ``-H(Y)`` when they are independent.

    Parameters
    ----------
    source_labels : array-like of shape (n_samples,)
        The source model's hard labels :math:`z_i` on the labelled target rows,
        e.g. the argmax of its predicted source-class probabilities. Any label
        type; a single source label is allowed.
    y : array-like of shape (n_samples,)
        Target labels, of any type; at least 2 distinct classes.

    Returns
    -------
    float
        :math:`-H(Y \\mid Z)` in nats, in :math:`[-\\log C, 0]` for ``C``
        target classes. Greater is better.

    Raises
    ------
    ValueError
        If ``source_labels`` or ``y`` is not 1-D or contains NaN/inf, if ``y``
        has fewer than 2 classes, or if their lengths differ.

    Notes
    -----
    With the empirical joint :math:`\\hat P(y, z) = \\frac{1}{n}
    \\lvert\\{i : y_i = y, z_i = z\\}\\rvert` and
    :math:`\\hat P(z) = \\sum_y \\hat P(y, z)`,

    .. math::

        \\mathrm{NCE} = -H(Y \\mid Z) = \\sum_{y, z} \\hat P(y, z)
        \\log \\frac{\\hat P(y, z)}{\\hat P(z)}.

    References
    ----------
    .. [1] A. T. Tran, C. V. Nguyen, T. Hassner, "Transferability and Hardness
       of Supervised Classification Tasks", ICCV 2019.

    Examples
    --------
    >>> from sktransfer.metrics import nce
    >>> nce([0, 0, 1, 1], ["a", "a", "b", "b"])  # y is a function of z
    0.0
    >>> round(nce([0, 1, 0, 1], ["a", "a", "b", "b"]), 4)  # independent: -log 2
    -0.6931
    """
    z = _check_labels(source_labels, "source_labels", min_classes=1)
    codes = _check_labels(y, "y", min_classes=2)
    _check_lengths(len(z), "source_labels", len(codes), "y")

    n = len(codes)
    n_classes = int(codes.max()) + 1
    n_source = int(z.max()) + 1
    joint = np.bincount(codes * n_source + z, minlength=n_classes * n_source)
    joint = joint.reshape(n_classes, n_source) / n
    marginal_z = joint.sum(axis=0)
    nonzero = joint > 0
    ratio = joint[nonzero] / np.broadcast_to(marginal_z, joint.shape)[nonzero]
    return float(np.sum(joint[nonzero] * np.log(ratio)))
