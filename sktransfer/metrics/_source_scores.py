"""Label-free scores that use labelled source rows held out from training:
importance weights (density ratios), importance-weighted accuracy, deep
embedded validation, reverse validation. Greater is better."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._array_checks import (
    _PROBA_EPS,
    _check_estimator,
    _check_label_kinds,
    _check_lengths,
    _check_matrix,
    _check_real,
    _check_vector,
    _check_weights,
    _seeded_clone,
)

__all__ = [
    "deep_embedded_validation",
    "importance_weighted_accuracy",
    "importance_weights",
    "reverse_validation_score",
]


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
    >>> from sktransfer.metrics import importance_weights
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
    >>> from sktransfer.metrics import (
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
    >>> from sktransfer.metrics import (
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
    >>> from sktransfer.metrics import (
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
