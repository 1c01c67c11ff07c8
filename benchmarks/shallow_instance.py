"""Instance-based and subspace transfer beside skada: KMM, KLIEP, SA, TCA.

Target accuracy (and seconds for fit and predict) of our
:class:`~sktransfer.ImportanceWeightedClassifier` (``weighting="kmm"``,
``"kliep"``, ``"discriminator"``), :class:`~sktransfer.SubspaceAlignment` and
:class:`~sktransfer.TransferComponentAnalysis`, each beside skada 0.6.0's
method of the same name (``KMMReweight``, ``KLIEPReweight``,
``DiscriminatorReweight``, ``SubspaceAlignment``,
``TransferComponentAnalysis``) on the same rows, with the same downstream
model (``LogisticRegression(C=1, max_iter=10000)``) and a source-only row.
No target label is used to choose anything: every setting is fixed below.

Settings
--------
* Office-Caltech10 SURF (800-word bag of words), three source -> target pairs
  (two in quick mode), every labelled source row, the target rows unlabelled,
  accuracy on all target rows (transductive), in two preprocessings:
  each domain z-scored with its own statistics (the protocol of
  ``benchmarks/shallow.py``), and both domains z-scored with the *source*
  rows' statistics. Per-domain z-scoring gives both domains the same mean and
  variance on every feature: a linear domain classifier then finds nothing
  (its optimum is the zero vector, so the discriminator weights are all 1 and
  its rows equal source only), and the linear TCA's mean-difference term is
  zero. The source z-score keeps the domains' differences for the methods to
  correct.
* Synthetic covariate shift (2 features): the label ``x1 > x0^2 - 1`` in both
  domains, source rows N(0, 1.5^2 I), target rows N((1.5, 1), 0.4^2 I), 1000
  and 500 rows, drawn anew for each seed; a straight line fits the boundary
  only where the target lies.
* Synthetic subspace shift (12 features): the class along feature 0 in both
  domains, large noise in features 1-3 (source) or 4-6 (target), the target's
  mean shifted by 2 on every feature; 500 rows each, drawn anew per seed.

Fixed settings
--------------
* Kernel methods (KMM, KLIEP): a Gaussian kernel whose width is our median
  heuristic on the task's rows (``sigma``, the median distance between rows of
  both domains); skada gets the same kernel (``gamma = 1 / (2 sigma^2)``), so
  the rows compare the algorithms, not the widths. skada's own defaults
  (``gamma=None``, i.e. ``1 / n_features``, for KMM; ``gamma=1.0`` for KLIEP,
  whose kernel underflows to 0 on 800 z-scored features) are not run.
  Both KMMs: ``B = 1000`` (skada's default; ours is ``max_weight=100``, kept
  for ours), ``eps = (sqrt(n_s) - 1) / sqrt(n_s)``. Both KLIEPs: 100 centres.
  skada's KLIEP steps by ``np.finfo(float).eps`` times the gradient (its
  code), so its ascent barely moves from the projected start.
* Discriminator: ``LogisticRegression()`` as domain classifier in both; ours
  clips the weights at 100 (``max_weight``), skada's does not.
* SA and TCA: 20 components (capped at the number of features), TCA with the
  linear kernel and ``mu = 1`` in both (ours: the defaults; skada's defaults
  are the RBF kernel and ``mu = 0.1``, not run). Ours embeds with the paper's
  constraint (unit-variance components); skada's eigenvectors are those of
  ``numpy.linalg.eigh`` on the non-symmetric ``(I + mu K L K)^-1 K H K``
  (its code), unscaled.

The seed is the ``random_state`` of KLIEP's centres and of our median
heuristic's subsample; on the synthetic sets it also draws the data. Methods
whose solver warned that it did not converge are listed in the JSON under
``not_converged``.

``python -m benchmarks --only shallow_instance [--quick]``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sktransfer import (
    ImportanceWeightedClassifier,
    Source,
    SubspaceAlignment,
    TransferComponentAnalysis,
    load_office_caltech10,
)
from sktransfer.shallow._kernels import median_bandwidth

from ._harness import Table

PAIRS = [("webcam", "dslr"), ("amazon", "webcam"), ("dslr", "amazon")]
QUICK_PAIRS = PAIRS[:2]
PREPROCESSINGS = ("per-domain z-score", "source z-score")
N_COMPONENTS = 20
KMM_B = 1000.0
MAX_ITER = 10_000
SOURCE, TARGET = 1, -2  # skada's sample_domain: source >= 0, target < 0


def _model():
    return LogisticRegression(C=1.0, max_iter=MAX_ITER)


def _curved(seed: int):
    rng = np.random.RandomState(seed)

    def label(X):
        return (X[:, 1] > X[:, 0] ** 2 - 1).astype(int)

    Xs = rng.normal(scale=1.5, size=(1000, 2))
    Xt = rng.normal(loc=[1.5, 1.0], scale=0.4, size=(500, 2))
    return Xs, label(Xs), Xt, label(Xt)


def _subspace(seed: int):
    rng = np.random.RandomState(seed)

    def domain(noisy, shift):
        y = rng.randint(2, size=500)
        X = rng.normal(scale=0.3, size=(500, 12)) + shift
        X[:, 0] += 2.0 * y - 1.0
        X[:, noisy] += rng.normal(scale=3.0, size=(500, len(noisy)))
        return X, y

    return (*domain([1, 2, 3], 0.0), *domain([4, 5, 6], 2.0))


def _ours(Xs, ys, Xt, seed: int, sigma: float) -> dict:
    """Our methods: name -> a function returning target predictions."""
    source = Source(X=Xs, y=ys)
    k = min(N_COMPONENTS, Xs.shape[1])

    def weighted(weighting, **kw):
        def run():
            model = ImportanceWeightedClassifier(
                _model(), source=source, weighting=weighting, random_state=seed, **kw
            )
            return model.fit(Xt).predict(Xt)

        return run

    def mapped(transformer):
        def run():
            transformer.fit(Xt)
            model = _model().fit(transformer.transform_source(), ys)
            return model.predict(transformer.transform(Xt))

        return run

    return {
        "source only": lambda: _model().fit(Xs, ys).predict(Xt),
        "KMM (ours)": weighted("kmm", bandwidth=sigma),
        "KLIEP (ours)": weighted("kliep", bandwidth=sigma),
        "discriminator (ours)": weighted("discriminator"),
        "SA (ours)": mapped(SubspaceAlignment(k, source=Source(X=Xs))),
        "TCA (ours)": mapped(
            TransferComponentAnalysis(k, source=Source(X=Xs), random_state=seed)
        ),
    }


def _skada(Xs, ys, Xt, seed: int, sigma: float) -> dict:
    """skada's methods on the same rows: name -> target predictions."""
    import skada  # imported here: it turns metadata routing on, process-wide

    X = np.vstack([Xs, Xt])
    y = np.r_[ys, np.full(len(Xt), -1)]
    domain = np.r_[np.full(len(Xs), SOURCE), np.full(len(Xt), TARGET)]
    target_domain = np.full(len(Xt), TARGET)
    gamma = 1.0 / (2.0 * sigma**2)
    k = min(N_COMPONENTS, Xs.shape[1])

    def weighted_base():
        return _model().set_fit_request(sample_weight=True)

    def pipeline(make):
        def run():
            model = make()
            model.fit(X, y, sample_domain=domain)
            return model.predict(Xt, sample_domain=target_domain)

        return run

    return {
        "KMM (skada)": pipeline(
            lambda: skada.KMMReweight(weighted_base(), gamma=gamma, B=KMM_B)
        ),
        "KLIEP (skada)": pipeline(
            lambda: skada.KLIEPReweight(
                weighted_base(), gamma=gamma, n_centers=100, random_state=seed
            )
        ),
        "discriminator (skada)": pipeline(
            lambda: skada.DiscriminatorReweight(weighted_base())
        ),
        "SA (skada)": pipeline(
            lambda: skada.SubspaceAlignment(_model(), n_components=k, random_state=seed)
        ),
        "TCA (skada)": pipeline(
            lambda: skada.TransferComponentAnalysis(
                _model(), kernel="linear", n_components=k, mu=1.0
            )
        ),
    }


ORDER = ["source only"] + [
    f"{method} ({who})"
    for method in ("KMM", "KLIEP", "discriminator", "SA", "TCA")
    for who in ("ours", "skada")
]


def _task(table: Table, setting: str, Xs, ys, Xt, yt, seed: int, log: dict):
    sigma = median_bandwidth(Xs, Xt, rng=np.random.RandomState(seed))
    methods = {**_ours(Xs, ys, Xt, seed, sigma), **_skada(Xs, ys, Xt, seed, sigma)}
    accuracy = {}
    for name in ORDER:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predicted = methods[name]()
        seconds = time.perf_counter() - start
        if any("converge" in str(w.message).lower() for w in caught):
            log.setdefault(setting, []).append(name)
        accuracy[name] = 100 * float(np.mean(predicted == yt))
        table.add(setting, name, accuracy[name])
        table.add(setting, f"{name}, seconds", seconds, unit="s")
    return accuracy


def run(quick: bool = False, seeds: int = 3) -> Table:
    """KMM, KLIEP, discriminator weights, SA and TCA beside skada's, on the same rows.

    Target accuracy and seconds; see the module docstring for the settings.
    """
    import skada

    seeds = 1 if quick else seeds
    pairs = QUICK_PAIRS if quick else PAIRS
    table = Table(
        "shallow_instance",
        "Instance-based (KMM, KLIEP, discriminator weights) and subspace (SA, "
        "TCA) transfer, sktransfer beside skada "
        f"{skada.__version__} on the same rows with the same downstream model "
        "(LogisticRegression(C=1, max_iter=10000)). Office-Caltech10 SURF, "
        "each domain z-scored with its own statistics, or both with the source "
        "rows' statistics; every labelled source "
        "row, target rows unlabelled, accuracy on all target rows; synthetic "
        "covariate shift (2-D, curved boundary) and subspace shift (12-D). "
        "Kernel widths: our median heuristic, given to skada as gamma = 1 / "
        "(2 sigma^2); SA and TCA 20 components (capped at the features), TCA "
        "linear with mu = 1 in both. Nothing chosen with target labels. "
        f"{seeds} seed(s) (the random_state; on the synthetic sets also the "
        "data). 'Office mean' averages the pairs per seed. skada's "
        "DiscriminatorReweight weighs a source row by (1 - p) / p with p the "
        "domain classifier's probability of target (its code), the inverse "
        "of the density ratio p_t / p_s that ours uses. Seconds: fit and "
        "predict of one method on one task, on a 2-core machine shared with "
        "other work (indicative). Settings and their reasons: "
        "benchmarks/shallow_instance.py.",
        quick=quick,
    )
    table.extra["pairs"] = [f"{s}->{t}" for s, t in pairs]
    not_converged: dict[str, list[str]] = {}
    domains = {
        d: load_office_caltech10(d, return_X_y=True)
        for d in {d for pair in pairs for d in pair}
    }
    for seed in range(seeds):
        for preprocessing in PREPROCESSINGS:
            office = []
            for s, t in pairs:
                (Xs, ys), (Xt, yt) = domains[s], domains[t]
                if preprocessing == "per-domain z-score":
                    Xs = StandardScaler().fit_transform(Xs)
                    Xt = StandardScaler().fit_transform(Xt)
                else:
                    scaler = StandardScaler().fit(Xs)
                    Xs, Xt = scaler.transform(Xs), scaler.transform(Xt)
                setting = f"{s} -> {t} ({preprocessing})"
                office.append(
                    _task(table, setting, Xs, ys, Xt, yt, seed, not_converged)
                )
            for name in ORDER:
                table.add(
                    f"Office mean ({preprocessing})",
                    name,
                    np.mean([a[name] for a in office]),
                )
        _task(table, "synthetic covariate shift", *_curved(seed), seed, not_converged)
        _task(table, "synthetic subspace shift", *_subspace(seed), seed, not_converged)
    table.extra["not_converged"] = not_converged
    return table
