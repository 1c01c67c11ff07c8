"""Label-free scores read from a model's predictions on the target rows alone:
soft neighbourhood density, mutual information (the IM score), entropy.
Greater is better."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

from ._array_checks import (
    _SND_BLOCK,
    _check_proba,
    _check_real,
    _entropy,
)

__all__ = ["mutual_information", "neg_entropy", "soft_neighborhood_density"]


def soft_neighborhood_density(target_proba: Any, temperature: float = 0.05) -> float:
    """Soft neighborhood density (SND) of the target's predictions.

    High when target rows form dense clusters in the space of the adapted
    model's softmax outputs: each row has many close neighbours rather than
    a few, as expected when the model groups target rows by class.

    Parameters
    ----------
    target_proba : array-like of shape (n_target, n_classes)
        The adapted model's class probabilities (softmax outputs) on the
        unlabelled target rows. At least 2 rows; each row sums to 1.
    temperature : float, default=0.05
        Softmax temperature over similarities (the paper's value). Smaller
        values attend to fewer neighbours.

    Returns
    -------
    score : float
        Mean entropy of the neighbour distributions, in ``[0, log(n_target -
        1)]``. Greater is better.

    Notes
    -----
    With ``f_i = p_i / ||p_i||_2`` and ``s_ij = f_i . f_j`` (cosine
    similarity, ``j != i``), each row gets the neighbour distribution
    ``q_ij = exp(s_ij / T) / sum_{k != i} exp(s_ik / T)`` and

    ``SND = (1 / n) sum_i H(q_i)``, with ``H(q) = -sum_j q_j log q_j``.

    SND compares *adaptation settings of one model* (hyperparameters,
    training checkpoints) scored on *the same target rows*. Its range grows
    with the number of rows and depends on the temperature and on the number
    of classes, so scores computed on different rows, subsets or label sets
    are not comparable. Tight clusters of ``m`` rows score about
    ``log(m - 1)``, so the score also depends on how many rows each class
    gets.

    It cannot detect collapse or a lack of confidence: if every row gets the
    same prediction, every similarity is 1 and SND reaches its maximum
    ``log(n - 1)``, and low-confidence predictions near the uniform
    distribution are all similar after normalisation and score high too.
    Check the confidence and class balance (e.g. with
    :func:`mutual_information`) alongside. It costs ``O(n^2 n_classes)``
    time; memory is kept bounded by working on blocks of rows.

    References
    ----------
    .. [1] K. Saito, D. Kim, P. Teterwak, S. Sclaroff, T. Darrell and
       K. Saenko, "Tune it the Right Way: Unsupervised Validation of Domain
       Adaptation via Soft Neighborhood Density", ICCV 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import (
    ...     soft_neighborhood_density)
    >>> clustered = np.repeat([[0.98, 0.02], [0.02, 0.98]], 5, axis=0)
    >>> scattered = np.column_stack([np.linspace(0, 1, 10), np.linspace(1, 0, 10)])
    >>> bool(soft_neighborhood_density(clustered)
    ...      > soft_neighborhood_density(scattered))
    True
    """
    p = _check_proba(target_proba, "target_proba", min_samples=2)
    T = _check_real(temperature, "temperature", low=0.0)
    f = p / np.linalg.norm(p, axis=1, keepdims=True)
    n = f.shape[0]
    step = max(1, _SND_BLOCK // n)
    total = 0.0
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n))
        logits = (f[rows] @ f.T) / T
        logits[np.arange(len(rows)), rows] = -np.inf  # a row is not its neighbour
        q = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        total += _entropy(q).sum()
    return float(total / n)


def mutual_information(target_proba: Any) -> float:
    """Mutual information between target rows and predicted classes.

    Parameters
    ----------
    target_proba : array-like of shape (n_target, n_classes)
        The adapted model's class probabilities on the target rows; each row
        sums to 1.

    Returns
    -------
    score : float
        ``H(mean_i p_i) - mean_i H(p_i)`` in nats, in ``[0, log(n_classes)]``.
        Greater is better.

    Notes
    -----
    ``MI = H(p_bar) - (1/n) sum_i H(p_i)`` with ``p_bar = (1/n) sum_i p_i``
    and ``H(p) = -sum_k p_k log p_k``: high when each prediction is confident
    (low ``H(p_i)``) and the predictions are spread over the classes (high
    ``H(p_bar)``). It is 0 when every row gets the same prediction and
    ``log(n_classes)`` for one-hot predictions balanced over the classes.

    This is exactly what the information-maximisation loss (e.g. SHOT)
    maximises, so it always prefers the model trained with that loss, and
    more of it: it cannot choose *between* adaptation methods or set that
    loss's weight. It can compare settings of a method that does not
    optimise it, on the same target rows. Its ideal of balanced classes is
    wrong under target label shift.

    References
    ----------
    .. [1] J. Liang, D. Hu and J. Feng, "Do We Really Need to Access the
       Source Data? Source Hypothesis Transfer for Unsupervised Domain
       Adaptation", ICML 2020.
    .. [2] A. Krause, P. Perona and R. Gomes, "Discriminative Clustering by
       Regularized Information Maximization", NeurIPS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import mutual_information
    >>> round(mutual_information([[1.0, 0.0], [0.0, 1.0]]), 4)  # log(2)
    0.6931
    >>> mutual_information([[0.7, 0.3], [0.7, 0.3]])
    0.0
    """
    p = _check_proba(target_proba, "target_proba")
    mi = _entropy(p.mean(axis=0)) - _entropy(p).mean()
    return float(max(mi, 0.0))  # >= 0 by concavity; drop rounding below 0


def neg_entropy(target_proba: Any) -> float:
    """Negative mean entropy of the target's predicted probabilities.

    Parameters
    ----------
    target_proba : array-like of shape (n_target, n_classes)
        The adapted model's class probabilities on the target rows; each row
        sums to 1.

    Returns
    -------
    score : float
        ``-mean_i H(p_i)`` in nats, in ``[-log(n_classes), 0]``. Greater (more
        confident) is better.

    Notes
    -----
    ``score = -(1/n) sum_i H(p_i)``, ``H(p) = -sum_k p_k log p_k``.

    It rewards confidence only, and so also rewards a model that puts every
    target row in one class, and over-confident models. It is what entropy
    minimisation optimises, so it favours that loss. Compare settings of one
    method on the same target rows, and check the class balance (e.g. with
    :func:`mutual_information`) alongside.

    References
    ----------
    .. [1] Y. Grandvalet and Y. Bengio, "Semi-supervised Learning by Entropy
       Minimization", NeurIPS 2004.
    .. [2] P. Morerio, J. Cavazza and V. Murino, "Minimal-Entropy Correlation
       Alignment for Unsupervised Deep Domain Adaptation", ICLR 2018.

    Examples
    --------
    >>> from sktransfer.metrics import neg_entropy
    >>> neg_entropy([[1.0, 0.0], [0.0, 1.0]])
    0.0
    >>> round(neg_entropy([[0.5, 0.5]]), 4)  # -log(2)
    -0.6931
    """
    p = _check_proba(target_proba, "target_proba")
    return float(0.0 - _entropy(p).mean())  # 0.0, not -0.0, when certain


# --- importance weighting ------------------------------------------------------
