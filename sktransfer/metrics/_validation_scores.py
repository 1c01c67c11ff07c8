"""Validation scores for unsupervised domain adaptation, on plain arrays.

These functions choose between adapted models (hyperparameters, checkpoints,
methods) without target labels. Each takes numpy arrays, not estimators, and
returns a float where **greater is better**; losses are negated.

* :func:`soft_neighborhood_density` (SND) and :func:`mutual_information`,
  :func:`neg_entropy` read only the adapted model's softmax outputs on the
  target rows.
* :func:`importance_weighted_accuracy` (IWA) and
  :func:`deep_embedded_validation` (DEV) read labelled, held-out *source* rows
  re-weighted towards the target by :func:`importance_weights`.
* :func:`reverse_validation_score` trains a classifier back from the target's
  pseudo-labels and tests it on held-out labelled source rows.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import entr, logsumexp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array, check_random_state

__all__ = [
    "deep_embedded_validation",
    "importance_weighted_accuracy",
    "importance_weights",
    "mutual_information",
    "neg_entropy",
    "reverse_validation_score",
    "soft_neighborhood_density",
]

#: Rows of a probability matrix must sum to 1 within this absolute tolerance.
PROBA_SUM_ATOL = 1e-4
# Domain-classifier probabilities are kept in [eps, 1 - eps] before the ratio.
_PROBA_EPS = 1e-12
# Entries of one similarity block in soft_neighborhood_density (32 MiB).
_SND_BLOCK = 2**22


# --- input validation ---------------------------------------------------------


def _check_real(value: Any, name: str, *, low: float, allow_inf: bool = False):
    """A real number > ``low``; bools are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if not value > low:
        raise ValueError(f"{name} must be > {low:g}, got {value!r}.")
    return value


def _check_matrix(X: Any, name: str) -> np.ndarray:
    """2-D, numeric, finite, at least one row and column."""
    return check_array(X, dtype=np.float64, input_name=name)


def _check_proba(proba: Any, name: str, *, min_samples: int = 1) -> np.ndarray:
    """Rows of class probabilities: 2-D, finite, in [0, 1], summing to 1."""
    p = check_array(
        proba, dtype=np.float64, input_name=name, ensure_min_samples=min_samples
    )
    if p.shape[1] < 2:
        raise ValueError(
            f"{name} must have one column per class and at least 2 columns, got "
            f"shape {p.shape}. Pass predict_proba's output, not predict's."
        )
    if (p < 0).any() or (p > 1 + PROBA_SUM_ATOL).any():
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; found values in "
            f"[{p.min():.4g}, {p.max():.4g}]. Pass softmax outputs, not logits."
        )
    sums = p.sum(axis=1)
    bad = np.abs(sums - 1.0) > PROBA_SUM_ATOL
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Each row of {name} must sum to 1 (within {PROBA_SUM_ATOL:g}); "
            f"{int(bad.sum())} row(s) do not, e.g. row {row} sums to "
            f"{sums[row]:.6g}. Pass softmax outputs, not logits or scores."
        )
    return p / sums[:, None]


def _check_vector(x: Any, name: str, *, numeric: bool) -> np.ndarray:
    """1-D and non-empty; finite when numeric."""
    if numeric:
        arr = check_array(x, dtype=np.float64, ensure_2d=False, input_name=name)
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty.")
    if not numeric and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _check_label_kinds(**labels: np.ndarray) -> None:
    """Refuse comparing text labels with numbers: every row would mismatch."""
    kinds = {
        name: "text" if a.dtype.kind in "US" else "numeric"
        for name, a in labels.items()
        if a.dtype.kind != "O"  # object arrays may hold either: not checked
    }
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{name} is {kind}" for name, kind in kinds.items())
        raise ValueError(
            f"Labels of different kinds cannot match: {listed}. Use the same "
            "label type (e.g. the classifier's classes_) on both sides."
        )


def _check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    w = _check_vector(weights, name, numeric=True)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} entries for {n} rows.")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative; the smallest is {w.min():g}.")
    if not w.sum() > 0:
        raise ValueError(f"{name} are all zero: no row counts.")
    return w


def _check_lengths(**arrays: np.ndarray) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"Inconsistent numbers of rows: {listed}.")


def _check_estimator(estimator: Any, name: str, *, proba: bool) -> None:
    needed = ("fit", "predict_proba") if proba else ("fit", "predict")
    missing = [m for m in needed if not hasattr(estimator, m)]
    if missing:
        raise ValueError(
            f"{name} must be a scikit-learn classifier with "
            f"{' and '.join(needed)}; {estimator!r} has no {', '.join(missing)}."
        )


def _seeded_clone(estimator: Any, random_state: Any) -> Any:
    """A clone whose ``random_state`` parameters (nested ones too, e.g. in a
    Pipeline) are seeded from ``random_state`` when it is given."""
    est = clone(estimator)
    if random_state is None:
        return est
    rng = check_random_state(random_state)
    keys = sorted(
        key
        for key in est.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    )
    est.set_params(**{key: int(rng.randint(np.iinfo(np.int32).max)) for key in keys})
    return est


def _entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row; ``0 log 0 = 0``."""
    return entr(p).sum(axis=-1)


# --- scores on the target's predicted probabilities ---------------------------


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
    >>> from sktransfer.metrics._validation_scores import (
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
    >>> from sktransfer.metrics._validation_scores import mutual_information
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
    >>> from sktransfer.metrics._validation_scores import neg_entropy
    >>> neg_entropy([[1.0, 0.0], [0.0, 1.0]])
    0.0
    >>> round(neg_entropy([[0.5, 0.5]]), 4)  # -log(2)
    -0.6931
    """
    p = _check_proba(target_proba, "target_proba")
    return float(0.0 - _entropy(p).mean())  # 0.0, not -0.0, when certain


# --- importance weighting ------------------------------------------------------


def importance_weights(
    source_features: Any,
    target_features: Any,
    *,
    random_state: Any = None,
    cv: int | Any = 5,
    estimator: Any = None,
    max_weight: float = 20.0,
    normalize: bool = True,
) -> np.ndarray:
    """Density ratios ``p_target(x) / p_source(x)`` on the source rows.

    Estimated with a probabilistic domain classifier (source vs target),
    cross-fitted: each source row's weight comes from a classifier that did
    not see that row.

    Parameters
    ----------
    source_features : array-like of shape (n_source, n_features)
        Source rows to weight (e.g. the held-out labelled validation rows).
    target_features : array-like of shape (n_target, n_features)
        Unlabelled target rows, in the same feature space.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffled folds and the classifier's ``random_state``
        parameters (nested ones included; the caller's estimator is left
        untouched). Pass an int for reproducible weights.
    cv : int or cross-validation splitter, default=5
        Number of stratified, shuffled folds (at least 2), or a splitter whose
        test folds partition the rows. Each of source and target needs at
        least ``cv`` rows.
    estimator : classifier or None, default=None
        Domain classifier with ``predict_proba``, cloned per fold. ``None``
        uses ``make_pipeline(StandardScaler(), LogisticRegression(
        max_iter=1000))``.
    max_weight : float, default=20.0
        Raw ratios are clipped to ``[0, max_weight]`` before normalising;
        must be > 1 (``np.inf`` for no clipping). Bounds the variance that a
        few target-like source rows add.
    normalize : bool, default=True
        Divide by the mean so that the weights average exactly 1. Pass
        ``False`` for :func:`deep_embedded_validation`, whose control variate
        uses how far the mean of the raw weights is from 1.

    Returns
    -------
    weights : ndarray of shape (n_source,)
        Non-negative weights, one per source row, in the source's order.

    Notes
    -----
    With a domain classifier giving ``d(x) = P(target | x)``, Bayes' rule
    gives

    ``w(x) = p_target(x) / p_source(x) = (n_s / n_t) d(x) / (1 - d(x))``,

    where ``n_s / n_t`` undoes the classes' prior. ``d`` is kept in
    ``[1e-12, 1 - 1e-12]``, ``w`` clipped to ``[0, max_weight]`` and, with
    ``normalize=True``, divided by its mean (applied after clipping, so
    normalised weights can exceed ``max_weight`` slightly).

    The ratio corrects *covariate shift* only: it assumes ``p(y | x)`` is the
    same in both domains, in this feature space. When the domains are nearly
    separable, a few source rows carry almost all the weight and weighted
    scores become noisy; the effective sample size ``sum(w)^2 / sum(w^2)``
    tells how many rows they rest on. The weights are only as good as the
    domain classifier's calibration.

    References
    ----------
    .. [1] S. Bickel, M. Brückner and T. Scheffer, "Discriminative Learning
       for Differing Training and Test Distributions", ICML 2007.
    .. [2] K. You, X. Wang, M. Long and M. I. Jordan, "Towards Accurate Model
       Selection in Deep Unsupervised Domain Adaptation", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics._validation_scores import importance_weights
    >>> rng = np.random.RandomState(0)
    >>> Xs, Xt = rng.normal(size=(100, 2)), rng.normal(1.0, size=(80, 2))
    >>> w = importance_weights(Xs, Xt, random_state=0)
    >>> w.shape, round(float(w.mean()), 6)
    ((100,), 1.0)
    >>> near = Xs.sum(axis=1) > 1  # source rows that look like the target
    >>> bool(w[near].mean() > w[~near].mean())
    True
    """
    Xs = _check_matrix(source_features, "source_features")
    Xt = _check_matrix(target_features, "target_features")
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError(
            f"source_features has {Xs.shape[1]} features, target_features "
            f"{Xt.shape[1]}; both must be in the same feature space."
        )
    cap = _check_real(max_weight, "max_weight", low=1.0, allow_inf=True)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        if min(len(Xs), len(Xt)) < cv:
            raise ValueError(
                f"cv={cv} folds need at least {cv} rows in each domain; got "
                f"{len(Xs)} source and {len(Xt)} target rows."
            )
        cv = StratifiedKFold(int(cv), shuffle=True, random_state=random_state)
    elif isinstance(cv, str) or not (
        hasattr(cv, "split") and hasattr(cv, "get_n_splits")
    ):
        raise ValueError(
            f"cv must be an int >= 2 or a cross-validation splitter, got {cv!r}."
        )
    if estimator is None:
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    _check_estimator(estimator, "estimator", proba=True)
    estimator = _seeded_clone(estimator, random_state)

    X = np.vstack([Xs, Xt])
    domain = np.r_[np.zeros(len(Xs), dtype=int), np.ones(len(Xt), dtype=int)]
    proba = cross_val_predict(estimator, X, domain, cv=cv, method="predict_proba")
    d = np.clip(proba[: len(Xs), 1], _PROBA_EPS, 1.0 - _PROBA_EPS)
    w = np.clip(len(Xs) / len(Xt) * d / (1.0 - d), 0.0, cap)
    return w / w.mean() if normalize else w


def importance_weighted_accuracy(
    source_val_pred: Any, source_val_y: Any, weights: Any
) -> float:
    """Importance-weighted accuracy (IWA) on held-out labelled source rows.

    Parameters
    ----------
    source_val_pred : array-like of shape (n_val,)
        The adapted model's predicted labels on held-out source rows (rows it
        was not trained on).
    source_val_y : array-like of shape (n_val,)
        Their true labels.
    weights : array-like of shape (n_val,)
        Non-negative importance weights of these rows, e.g. from
        :func:`importance_weights`; not all zero.

    Returns
    -------
    score : float
        Weighted accuracy in ``[0, 1]``, an estimate of the target accuracy.
        Greater is better.

    Notes
    -----
    ``IWA = sum_i w_i [y_hat_i = y_i] / sum_i w_i``. With uniform weights it
    is the plain source validation accuracy.

    Because it uses true labels, IWA can compare different models and
    adaptation methods, scored on the same validation rows with the same
    weights. It estimates the target accuracy only under covariate shift
    (same ``p(y | x)`` in both domains, in the space the weights were
    computed in), it needs labelled source rows held out from training, and
    heavy-tailed weights make it noisy.

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Müller, "Covariate Shift
       Adaptation by Importance Weighted Cross Validation", JMLR 8, 2007.

    Examples
    --------
    >>> from sktransfer.metrics._validation_scores import (
    ...     importance_weighted_accuracy)
    >>> importance_weighted_accuracy([0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1])
    0.75
    >>> importance_weighted_accuracy([0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 2, 0])
    0.5
    """
    pred = _check_vector(source_val_pred, "source_val_pred", numeric=False)
    y = _check_vector(source_val_y, "source_val_y", numeric=False)
    _check_lengths(source_val_pred=pred, source_val_y=y)
    _check_label_kinds(source_val_pred=pred, source_val_y=y)
    w = _check_weights(weights, len(y))
    return float(np.sum(w * (pred == y)) / np.sum(w))


def deep_embedded_validation(source_val_loss: Any, weights: Any) -> float:
    """Deep embedded validation (DEV): negative importance-weighted risk.

    Parameters
    ----------
    source_val_loss : array-like of shape (n_val,)
        The adapted model's per-row loss (e.g. cross-entropy) on held-out
        labelled source rows. At least 2 rows.
    weights : array-like of shape (n_val,)
        Non-negative density ratios of these rows, ideally averaging 1 in
        expectation but not forced to: :func:`importance_weights` with
        ``normalize=False``.

    Returns
    -------
    score : float
        The negative DEV risk, ``-risk``. Greater (lower risk) is better.

    Notes
    -----
    With ``L_i = w_i loss_i``, the control variate ``w`` (whose true mean is
    1) reduces the variance of the weighted mean:

    ``eta = -Cov(L, w) / Var(w)``,
    ``risk = mean(L) + eta mean(w) - eta``, ``score = -risk``.

    When ``Var(w) = 0`` (all weights equal up to rounding) there is nothing
    to correct with: ``eta = 0`` and ``risk = mean(L)``, so weights of 1 give
    ``-mean(loss)``. With weights normalised to mean exactly 1 on these rows
    the correction term is 0 and DEV is the importance-weighted mean loss;
    pass raw weights (``normalize=False``) to use the control variate.

    DEV can compare models and methods scored with the same loss on the same
    validation rows. Like :func:`importance_weighted_accuracy` it assumes
    covariate shift, needs held-out labelled source rows, and You et al.
    compute the weights in each candidate's own feature space.

    References
    ----------
    .. [1] K. You, X. Wang, M. Long and M. I. Jordan, "Towards Accurate Model
       Selection in Deep Unsupervised Domain Adaptation", ICML 2019.

    Examples
    --------
    >>> from sktransfer.metrics._validation_scores import (
    ...     deep_embedded_validation)
    >>> round(deep_embedded_validation([0.2, 0.4, 0.6], [1.0, 1.0, 1.0]), 6)
    -0.4
    >>> loss, w = [0.1, 0.3, 0.9], [0.8, 1.0, 1.5]  # weights average 1.1, not 1
    >>> round(deep_embedded_validation(loss, w), 4)
    -0.3897
    """
    loss = _check_vector(source_val_loss, "source_val_loss", numeric=True)
    if len(loss) < 2:
        raise ValueError(
            "deep_embedded_validation needs at least 2 rows to estimate the "
            f"control variate; got {len(loss)}."
        )
    w = _check_weights(weights, len(loss))
    weighted = w * loss
    if np.ptp(w) <= 1e-12 * np.abs(w).max():
        eta = 0.0
    else:
        cov = np.cov(weighted, w, ddof=1)[0, 1]
        eta = -cov / np.var(w, ddof=1)
    risk = weighted.mean() + eta * w.mean() - eta
    return float(-risk)


# --- reverse validation --------------------------------------------------------


def reverse_validation_score(
    source_X_train: Any,
    source_y_train: Any,
    source_X_val: Any,
    source_y_val: Any,
    target_X: Any,
    target_pseudo_labels: Any,
    *,
    estimator: Any = None,
    random_state: Any = None,
) -> float:
    """Reverse validation: learn back from target pseudo-labels, test on source.

    Parameters
    ----------
    source_X_train : array-like of shape (n_train, n_features)
        Source rows the adapted model was trained on.
    source_y_train : array-like of shape (n_train,)
        Their labels: the set of classes. Every pseudo-label must be one of
        them.
    source_X_val : array-like of shape (n_val, n_features)
        Held-out labelled source rows, not used to train the adapted model.
    source_y_val : array-like of shape (n_val,)
        Their labels.
    target_X : array-like of shape (n_target, n_features)
        Unlabelled target rows.
    target_pseudo_labels : array-like of shape (n_target,)
        The adapted model's predicted labels on ``target_X``.
    estimator : classifier or None, default=None
        The reverse classifier, cloned before fitting. ``None`` uses
        ``LogisticRegression(max_iter=1000)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the reverse classifier's ``random_state`` parameters, nested
        ones included (the default classifier is deterministic).

    Returns
    -------
    score : float
        Accuracy of the reverse classifier on ``(source_X_val,
        source_y_val)``, in ``[0, 1]``. Greater is better.

    Notes
    -----
    ``score = (1 / n_val) sum_i [eta_r(x_i) = y_i]`` over the source
    validation rows, where the reverse classifier ``eta_r`` is fitted on
    ``(target_X, target_pseudo_labels)``. If the pseudo-labels are right, a
    classifier learnt from them should also label the source correctly;
    wrong or collapsed pseudo-labels carry a wrong rule back. When all
    pseudo-labels are one class the reverse classifier predicts that class
    everywhere.

    ``target_X`` and ``source_X_val`` must live in the same feature space:
    raw inputs, or a fixed representation shared by the candidates. Here the
    reverse classifier is a plain classifier, not re-adapted: Ganin et al.
    train it with the same adaptation algorithm, using ``source_X_train`` as
    its unlabelled target; here ``source_X_train`` and ``source_y_train``
    only check the feature count and the set of classes.

    It needs labelled source rows, held out from training, and costs one
    extra fit per candidate (a full adaptation run in the original
    protocol). As it uses true labels it can compare different methods.

    References
    ----------
    .. [1] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle,
       F. Laviolette, M. Marchand and V. Lempitsky, "Domain-Adversarial
       Training of Neural Networks", JMLR 17, 2016, section 5.1.2.
    .. [2] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross
       Validation Framework to Choose amongst Models and Datasets for
       Transfer Learning", ECML PKDD 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics._validation_scores import (
    ...     reverse_validation_score)
    >>> rng = np.random.RandomState(0)
    >>> ys, yt = rng.randint(2, size=60), rng.randint(2, size=60)
    >>> Xs = rng.normal(size=(60, 2)) + 3 * ys[:, None]
    >>> Xt = rng.normal(size=(60, 2)) + 3 * yt[:, None] + [2.0, -2.0]
    >>> score = reverse_validation_score(Xs[:40], ys[:40], Xs[40:], ys[40:],
    ...                                  Xt, yt, random_state=0)
    >>> bool(score > 0.8)
    True
    """
    Xs_train = _check_matrix(source_X_train, "source_X_train")
    Xs_val = _check_matrix(source_X_val, "source_X_val")
    Xt = _check_matrix(target_X, "target_X")
    ys_train = _check_vector(source_y_train, "source_y_train", numeric=False)
    ys_val = _check_vector(source_y_val, "source_y_val", numeric=False)
    pseudo = _check_vector(target_pseudo_labels, "target_pseudo_labels", numeric=False)
    _check_lengths(source_X_train=Xs_train, source_y_train=ys_train)
    _check_lengths(source_X_val=Xs_val, source_y_val=ys_val)
    _check_lengths(target_X=Xt, target_pseudo_labels=pseudo)
    _check_label_kinds(
        source_y_train=ys_train, source_y_val=ys_val, target_pseudo_labels=pseudo
    )
    n_features = {Xs_train.shape[1], Xs_val.shape[1], Xt.shape[1]}
    if len(n_features) > 1:
        raise ValueError(
            "source_X_train, source_X_val and target_X must have the same "
            f"number of features; got {Xs_train.shape[1]}, {Xs_val.shape[1]} "
            f"and {Xt.shape[1]}."
        )
    classes = np.unique(ys_train)
    unknown = np.setdiff1d(np.unique(pseudo), classes)
    if unknown.size:
        raise ValueError(
            f"target_pseudo_labels contains {unknown[:5].tolist()}, not among "
            f"the source classes {classes[:10].tolist()}; pass the adapted "
            "model's predicted labels."
        )
    if estimator is None:
        estimator = LogisticRegression(max_iter=1000)
    _check_estimator(estimator, "estimator", proba=False)

    seen = np.unique(pseudo)
    if len(seen) == 1:  # collapsed: the only rule to learn is "always this"
        pred = np.full(len(ys_val), seen[0])
    else:
        pred = _seeded_clone(estimator, random_state).fit(Xt, pseudo).predict(Xs_val)
    return float(np.mean(pred == ys_val))
