"""Importance weights: the density ratio ``w(x) = p_target(x) / p_source(x)``
on the source rows, estimated from the target rows (no target label needed).

Under covariate shift the labels follow the same ``p(y | x)`` in both domains
and only ``p(x)`` differs; a model trained on the source rows weighted by
``w`` then minimises the target's risk (Shimodaira, 2000). Three estimators
of ``w``:

- ``"kmm"``, kernel mean matching (Huang, Gretton, Borgwardt, Schölkopf and
  Smola, "Correcting Sample Selection Bias by Unlabeled Data", NIPS 2006);
- ``"kliep"``, the Kullback-Leibler importance estimation procedure
  (Sugiyama, Nakajima, Kashima, von Bünau and Kawanabe, "Direct Importance
  Estimation with Model Selection and Its Application to Covariate Shift
  Adaptation", NIPS 2007);
- ``"discriminator"``, the odds of a probabilistic domain classifier
  (Bickel, Brückner and Scheffer, "Discriminative Learning Under Covariate
  Shift", JMLR 2009).

:class:`Weighting` checks the estimators' weighting parameters (documented
once, in ``WEIGHTING_PARAMETERS``) and turns one of these estimates into the
weights a model is fitted with (mean 1, clipped). The estimators themselves,
:class:`~sktransfer.ImportanceWeightedClassifier` and
:class:`~sktransfer.ImportanceWeightedRegressor`, are in
``_importance_weighted.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from ._checks import positive_float, positive_int
from ._contract import Rows, stack
from ._kernels import bandwidth_value, median_bandwidth, rbf_kernel

WEIGHTINGS = ("discriminator", "kmm", "kliep", "uniform")

#: KMM builds the source rows' kernel matrix: O(n_source^2) memory.
KMM_MAX_SOURCE_ROWS = 10_000


def _kernel_mean(A: np.ndarray, B: np.ndarray, weights: np.ndarray, sigma: float):
    """``sum_j weights_j k(a_i, b_j)`` for each row of ``A``, in chunks of
    ``B`` (so that the ``A x B`` kernel is never held whole)."""
    out = np.zeros(A.shape[0])
    for start in range(0, B.shape[0], 2048):
        stop = start + 2048
        out += rbf_kernel(A, B[start:stop], sigma) @ weights[start:stop]
    return out


def _project_kmm(v: np.ndarray, upper: float, low: float, high: float) -> np.ndarray:
    """Euclidean projection of ``v`` on ``{0 <= b <= upper, low <= sum(b) <= high}``:
    ``clip(v - tau, 0, upper)``, with ``tau`` 0 or found so that the sum is
    on the violated bound."""
    b = np.clip(v, 0.0, upper)
    total = b.sum()
    if low <= total <= high:
        return b
    goal = high if total > high else low
    reach = upper if np.isfinite(upper) else goal / len(v) + 1.0
    tau = brentq(
        lambda t: np.clip(v - t, 0.0, upper).sum() - goal,
        v.min() - reach,
        v.max(),
        xtol=1e-12,
    )
    return np.clip(v - tau, 0.0, upper)


def kmm_weights(X_source, X_target, target_weight, sigma, upper, eps, max_steps, tol):
    """Kernel mean matching (Huang et al., 2006) by accelerated projected gradient.

    Minimises ``1/2 b^T K b - kappa^T b`` (the squared MMD between the
    ``b``-weighted source rows and the target rows, times ``n_s^2 / 2``) over
    ``0 <= b_i <= upper`` and ``|sum(b) - n_s| <= n_s * eps``, with ``K`` the
    source rows' Gaussian kernel and ``kappa_i = n_s sum_j t_j k(x_i, x'_j)``
    (``t`` the target rows' weights, summing to 1). FISTA with the step
    ``1 / max_i sum_j K_ij`` (a bound on the largest eigenvalue of ``K``),
    restarted whenever the objective rises; the projection is exact. Stops
    when a step gains less than ``tol`` times the gain so far.
    """
    n = X_source.shape[0]
    if n > KMM_MAX_SOURCE_ROWS:
        raise ValueError(
            f"weighting='kmm' solves a quadratic program over the {n} source "
            f"rows with their {n}x{n} kernel matrix; above "
            f"{KMM_MAX_SOURCE_ROWS} rows use weighting='kliep' or "
            "'discriminator' (or subsample the source rows)."
        )
    K = rbf_kernel(X_source, X_source, sigma)
    kappa = n * _kernel_mean(X_source, X_target, target_weight, sigma)
    if eps is None:
        eps = (np.sqrt(n) - 1) / np.sqrt(n)
    low, high = n * (1 - eps), n * (1 + eps)
    upper = np.inf if upper is None else upper
    step = 1.0 / K.sum(axis=1).max()
    beta = _project_kmm(np.ones(n), upper, low, high)
    K_beta = K @ beta
    value = first = 0.5 * beta @ K_beta - kappa @ beta
    previous, K_previous, t = beta, K_beta, 1.0
    for _ in range(max_steps):
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum = (t - 1) / t_next
        z = beta + momentum * (beta - previous)
        K_z = K_beta + momentum * (K_beta - K_previous)
        new = _project_kmm(z - step * (K_z - kappa), upper, low, high)
        K_new = K @ new
        new_value = 0.5 * new @ K_new - kappa @ new
        if new_value > value:
            if momentum == 0:  # a plain gradient step rose: rounding, done
                return beta
            previous, K_previous, t = beta, K_beta, 1.0  # overshot: restart
            continue
        done = value - new_value <= tol * (first - new_value)
        previous, K_previous, beta, K_beta = beta, K_beta, new, K_new
        value, t = new_value, t_next
        if done:
            return beta
    warnings.warn(
        f"KMM did not converge in max_steps={max_steps} steps; raise max_steps or tol.",
        ConvergenceWarning,
        stacklevel=3,
    )
    return beta


def _project_kliep(alpha: np.ndarray, b: np.ndarray, bb: float) -> np.ndarray:
    """KLIEP's constraint: ``b^T alpha = 1`` (the weights average 1 on the
    source rows) and ``alpha >= 0``, as in Sugiyama et al.'s code."""
    alpha = alpha + (1 - b @ alpha) * b / bb
    alpha = np.maximum(alpha, 0.0)
    total = b @ alpha
    if total <= 0:
        return np.full_like(alpha, 1.0 / b.sum())
    return alpha / total


def kliep_weights(X_source, X_target, target_weight, sigma, n_centers, rng,
                  max_steps, tol):  # fmt: skip
    """KLIEP (Sugiyama et al., 2007): ``w(x) = sum_l alpha_l k(x, c_l)`` with
    Gaussian kernels on ``n_centers`` target rows drawn with ``rng``; the
    weighted mean of ``log w`` over the target rows is maximised by gradient
    ascent with step sizes ``10^3 .. 10^-3`` (each kept while it improves,
    at most ``max_steps`` steps), each step projected on the constraint."""
    n_s, n_t = X_source.shape[0], X_target.shape[0]
    m = min(n_centers, n_t)
    centers = X_target[np.sort(rng.choice(n_t, m, replace=False))]
    A = rbf_kernel(X_target, centers, sigma)
    b = _kernel_mean(centers, X_source, np.full(n_s, 1 / n_s), sigma)
    bb = float(b @ b)
    if bb <= 0 or not np.isfinite(bb):
        raise ValueError(
            f"KLIEP: no source row is near a target row at bandwidth {sigma:.3g} "
            "(every kernel value underflows); give a larger bandwidth."
        )
    scale = target_weight * n_t  # weights of mean 1, as in the paper

    def score(alpha):
        return float(scale @ np.log(A @ alpha + 1e-300)) / n_t

    alpha = _project_kliep(np.ones(m), b, bb)
    current = score(alpha)
    for step in 10.0 ** np.arange(3, -4, -1):
        for _ in range(max_steps):
            gradient = A.T @ (scale / (A @ alpha + 1e-300))
            candidate = _project_kliep(alpha + step * gradient, b, bb)
            value = score(candidate)
            if not value > current + tol * max(1.0, abs(current)):
                break
            alpha, current = candidate, value
    weights = np.zeros(n_s)
    for start in range(0, n_s, 2048):
        rows = X_source[start : start + 2048]
        weights[start : start + 2048] = rbf_kernel(rows, centers, sigma) @ alpha
    return weights


def discriminator_weights(X_source, X_target, target_weight, domain_classifier):
    """The odds ``p / (1 - p) * n_s / n_t`` of ``p = P(target | x)`` given by
    a domain classifier fitted on source (0) against target (1) rows, the
    target rows weighted by ``target_weight`` (``n_t`` their sum)."""
    if not hasattr(domain_classifier, "predict_proba"):
        raise ValueError(
            f"domain_classifier must have predict_proba (its probabilities "
            f"give the weights); {type(domain_classifier).__name__} has none."
        )
    n_s, n_t = X_source.shape[0], float(target_weight.sum())
    X = stack(X_source, X_target)
    domain = np.r_[np.zeros(n_s, dtype=int), np.ones(X_target.shape[0], dtype=int)]
    weights = np.r_[np.ones(n_s), target_weight]
    model = clone(domain_classifier)
    if np.allclose(weights, 1.0):
        model.fit(X, domain)
    else:
        fit_weighted(model, X, domain, weights, "domain_classifier")
    column = list(model.classes_).index(1)
    p = np.clip(model.predict_proba(X_source)[:, column], 1e-12, 1 - 1e-12)
    return p / (1 - p) * (n_s / n_t)


def fit_weighted(model, X, y, sample_weight, name: str):
    """``model.fit(X, y)`` with ``sample_weight``, routed to a Pipeline's last
    step; a clear error when the model takes none."""
    if has_fit_parameter(model, "sample_weight"):
        return model.fit(X, y, sample_weight=sample_weight)
    if isinstance(model, Pipeline) and has_fit_parameter(
        model.steps[-1][1], "sample_weight"
    ):
        return model.fit(
            X, y, **{f"{model.steps[-1][0]}__sample_weight": sample_weight}
        )
    raise ValueError(
        f"{name} {type(model).__name__} does not take sample_weight in fit, "
        "which carries the weights of the rows; give a model that does."
    )


# -- from the estimator's parameters to the source rows' weights ---------------


@dataclass(frozen=True)
class Weighting:
    """The weighting parameters of an importance-weighted estimator, checked
    (see ``WEIGHTING_PARAMETERS``)."""

    method: str  # one of WEIGHTINGS
    bandwidth: float | None  # None: the median heuristic
    max_weight: float | None
    target_weight: float
    n_centers: int
    eps: float | None
    max_steps: int
    tol: float
    domain_classifier: object

    @classmethod
    def of(cls, estimator) -> Weighting:
        """The parameters of ``estimator``, or a ``ValueError`` naming one."""
        if estimator.weighting not in WEIGHTINGS:
            raise ValueError(
                f"weighting must be one of {', '.join(map(repr, WEIGHTINGS))}; "
                f"got {estimator.weighting!r}."
            )
        max_weight = estimator.max_weight
        if max_weight is not None:
            max_weight = positive_float(max_weight, "max_weight")
            if max_weight < 1:
                raise ValueError(
                    f"max_weight must be None or at least 1 (the weights "
                    f"average 1), got {estimator.max_weight!r}."
                )
        eps = estimator.eps
        if eps is not None:
            eps = positive_float(eps, "eps", zero=True)
            if eps >= 1:
                raise ValueError(f"eps must be in [0, 1), got {estimator.eps!r}.")
        return cls(
            method=estimator.weighting,
            bandwidth=bandwidth_value(estimator.bandwidth),
            max_weight=max_weight,
            target_weight=positive_float(
                estimator.target_weight, "target_weight", zero=True
            ),
            n_centers=positive_int(estimator.n_centers, "n_centers"),
            eps=eps,
            max_steps=positive_int(estimator.max_steps, "max_steps"),
            tol=positive_float(estimator.tol, "tol", zero=True),
            domain_classifier=estimator.domain_classifier,
        )

    def kernel_width(self, rows: Rows, rng) -> float | None:
        """``bandwidth_``: the Gaussian kernel's width for ``"kmm"`` and
        ``"kliep"`` (the median heuristic, drawn with ``rng``, unless given);
        ``None`` for the methods without a kernel."""
        if self.method not in ("kmm", "kliep"):
            return None
        if self.bandwidth is None:
            return median_bandwidth(rows.X_source, rows.X, rng=rng)
        return self.bandwidth

    def source_weights(self, rows: Rows, sigma: float | None, rng) -> np.ndarray:
        """``weights_``: the density ratio on the source rows, mean 1, clipped."""
        X_source, X_target = rows.X_source, rows.X
        if self.method == "uniform":
            return np.ones(X_source.shape[0])
        target_weight = rows.sample_weight / rows.sample_weight.sum()
        if self.method == "kmm":
            raw = kmm_weights(
                X_source, X_target, target_weight, sigma, self.max_weight,
                self.eps, self.max_steps, self.tol,
            )  # fmt: skip
        elif self.method == "kliep":
            raw = kliep_weights(
                X_source, X_target, target_weight, sigma, self.n_centers,
                rng, self.max_steps, self.tol,
            )  # fmt: skip
        else:
            classifier = self.domain_classifier
            if classifier is None:
                classifier = LogisticRegression()
            raw = discriminator_weights(
                X_source, X_target, rows.sample_weight, classifier
            )
        mean = raw.mean()
        if not np.isfinite(mean) or mean <= 0:
            raise ValueError(
                f"weighting={self.method!r} gave every source row a weight of "
                "0: no source row resembles the target rows (with a kernel, "
                "give a larger bandwidth)."
            )
        weights = raw / mean
        if self.max_weight is not None:
            weights = np.minimum(weights, self.max_weight)
        return weights


WEIGHTING_PARAMETERS = """
    weighting : {"discriminator", "kmm", "kliep", "uniform"}, \
default="discriminator"
        How the density ratio ``w(x) = p_target(x) / p_source(x)`` on the source
        rows is estimated, from every target row (labelled or not):

        - ``"discriminator"``: ``domain_classifier`` fitted on source against
          target rows, ``w = p / (1 - p) * n_s / n_t`` with ``p`` its
          probability of "target" (clipped to ``[1e-12, 1 - 1e-12]``);
        - ``"kmm"``: kernel mean matching, the weights ``0 <= w <= max_weight``
          with ``|mean(w) - 1| <= eps`` that minimise the maximum mean
          discrepancy between the weighted source rows and the target rows
          (Gaussian kernel of width ``bandwidth``), a quadratic program solved
          by accelerated projected gradient; memory ``O(n_source^2)``, refused
          above 10000 source rows;
        - ``"kliep"``: ``w(x) = sum_l alpha_l k(x, c_l)``, Gaussian kernels on
          ``n_centers`` target rows, ``alpha >= 0`` maximising the target rows'
          mean ``log w`` under ``mean(w) = 1`` on the source rows;
        - ``"uniform"``: every weight 1 (no re-weighting: the baseline).
    bandwidth : "median" or float, default="median"
        The width ``sigma`` of the Gaussian kernel ``exp(-||x - x'||^2 /
        (2 sigma^2))`` of ``"kmm"`` and ``"kliep"``. ``"median"``: the median
        distance between rows of both domains (at most 1000 rows drawn with
        ``random_state``), the median heuristic. Distances depend on the
        features' scales: standardise them first.
    max_weight : float or None, default=100.0
        The largest weight, at least 1: the weights are divided by their mean
        on the source rows (so that they average 1, as the density ratio does
        under the source distribution), then clipped to ``max_weight``, which
        keeps a few source rows from carrying the whole fit. For ``"kmm"`` it
        is also the quadratic program's bound ``B``. ``None``: no clip.
    target_weight : float, default=1.0
        The weight of each labelled target row in the fit (times its
        ``sample_weight``), against the source rows' ``weights_``.
    n_centers : int, default=100
        ``"kliep"``: the number of target rows drawn (with ``random_state``) as
        the kernels' centres (all of them when there are fewer).
    eps : float or None, default=None
        ``"kmm"``: the tolerance on the mean of the weights, in ``[0, 1)``;
        ``None`` is ``(sqrt(n_s) - 1) / sqrt(n_s)``, as in Huang et al.'s
        experiments.
    domain_classifier : classifier or None, default=None
        ``"discriminator"``: the domain classifier, with ``predict_proba``;
        ``None`` means ``LogisticRegression()``. Cloned in ``fit``.
    max_steps : int, default=1000
        ``"kmm"``: the most gradient steps (a ``ConvergenceWarning`` if they do
        not converge); ``"kliep"``: the most steps of each step size.
    tol : float, default=1e-6
        ``"kmm"``: stop when no weight changes by more than ``tol`` (times the
        largest weight, if above 1); ``"kliep"``: stop a step size when the
        objective improves by less than ``tol`` (relative)."""
