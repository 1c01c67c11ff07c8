"""Deep domain adaptation baselines: skada 0.6.0 and a plain PyTorch DANN.

The reference side of the domain-adaptation benchmark. Our own DANN, Deep CORAL
and MMD are compared against these numbers in the same process, on the same
LeNet (:class:`sktransfer.models.LeNet`), the same data and the same batches.

Settings
--------
* MNIST(10k) -> USPS: source the 10k MNIST test images (labelled), target the
  7291 USPS train images (unlabelled), accuracy on the USPS test set (2007).
* USPS(7291) -> MNIST: source USPS train (labelled), target the 10k MNIST
  images (unlabelled), accuracy on the *same* 10k MNIST images (transductive:
  the only MNIST images on disk).

USPS is mapped to 28x28 with ``ImageMapping(method="resize_pad",
center="mass")`` fitted on USPS train.

skada 0.6.0, what it does and what is changed here
--------------------------------------------------
* ``skada.deep.DANN``, ``DeepCoral`` and ``SourceOnly`` are factories that
  return a ``DomainAwareNet`` (a skorch ``NeuralNetClassifier``) around a
  ``DomainAwareModule``, which takes the features of ``layer_name`` with a
  forward hook (here ``"fc1"``: the 128-d output of the ``fc1`` Linear layer,
  before its ReLU) and feeds them to the domain classifier (DANN) or to the
  divergence loss (Deep CORAL). Extra keyword arguments go to skorch
  (``max_epochs``, ``batch_size``, ``lr``, ``optimizer``, ``train_split``...).
* ``fit(X, y, sample_domain=...)`` takes source and target rows together:
  ``sample_domain >= 0`` is source, ``< 0`` is target (here 1 and -2), and
  target labels are masked with -1. ``predict`` keeps only target rows unless
  ``allow_source=True``, so predictions pass ``sample_domain=-2``.
* Batches (``DomainBalancedDataLoader``): each step takes ``batch_size`` source
  rows and ``batch_size`` target rows (one forward pass over ``2 * batch_size``
  rows, so BatchNorm sees both domains). An epoch is
  ``max(n_source // batch_size, n_target // batch_size)`` steps; the smaller
  domain is reshuffled and cycled. ``SourceOnly`` uses ``DomainOnlyDataLoader``:
  ``batch_size`` source rows per step, ``n_source // batch_size`` steps. The
  last partial batch is dropped in both.
* The base module's ``forward`` must accept ``sample_weight=``: skada passes it
  in eval mode. LeNet does not, so a thin subclass accepts and ignores it.
* skorch's default ``train_split`` (a stratified 20% validation split) fails
  with skada's nets ("Stratified CV requires explicitly passing a suitable
  y": skada hands skorch ``y=None``); ``train_split=None`` as in skada's own
  tests, so every row trains.
* The default DANN domain classifier (``skada.deep.modules.DomainClassifier``)
  ends with ``Linear(100, 1)`` followed by ``nn.Softmax()``: a softmax over
  one unit is identically 1, so ``BCELoss`` is a constant (100 from the
  source half, clamped ``log 0``, and 0 from the target half) and every
  gradient through it is exactly zero. DANN with the default classifier is
  source-only training plus a constant. Here DANN gets a working classifier
  instead (:class:`DomainMLP`): gradient reversal, ``Linear(128, 100)``,
  BatchNorm1d, ReLU, ``Linear(100, 1)`` -- skada's layout without the
  softmax -- one logit, with ``domain_criterion=BCEWithLogitsLoss()``.
  Without the BatchNorm1d, DANN on these pre-ReLU ``fc1`` features is
  unstable with Adam at 1e-3: the feature extractor wins the reversal game by
  inflating the feature norm (the domain loss then climbs far above
  ``2 log 2``), and short runs (2 epochs on 2000 rows) collapse to 9-22%.
* skada's gradient reversal coefficient is a constant (``alpha=1``) and its
  DANN loss weight ``reg`` defaults to 1. The usual warm-up
  ``2 / (1 + exp(-10 p)) - 1`` (``p`` the fraction of training done) is added
  here by a skorch callback on the domain classifier (``grl_warmup=True``),
  so that skada's DANN and the plain loop below run the same algorithm.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sktransfer import ImageMapping, load_mnist, load_usps
from sktransfer.models import LeNet

from ._harness import Table

SOURCE, TARGET = 1, -2  # skada's convention: source >= 0, target < 0
METHODS = ("dann", "cdan", "deep_coral", "dan", "mcc", "source_only")
N_CLASSES = 10
MCC_TEMPERATURE = 2.5  # the paper's (skada's default is 1), as ours
FEATURES = "fc1"
HIDDEN = 128  # width of LeNet's fc1


def _import_skada():
    try:
        import skada.deep  # noqa: F401
        from skorch.callbacks import Callback
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "benchmarks.skada_baseline needs skada 0.6.0: "
            "pip install 'skada==0.6.0' -c constraints.txt "
            "(or pip install -e '.[benchmark]')"
        ) from exc
    return skada.deep, Callback


class _GradReverse(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``-coeff`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coeff * grad, None


class DomainMLP(nn.Module):
    """Domain classifier: reversal, then ``n_features -> 100 -> 1`` logit.

    The layout of skada's default ``DomainClassifier`` (Linear, BatchNorm1d,
    ReLU, Linear) without its final softmax: one logit for
    ``BCEWithLogitsLoss``, source 0 and target 1. ``batch_norm=False`` drops
    the BatchNorm1d (less stable: see the module docstring).
    """

    def __init__(
        self, n_features: int = HIDDEN, hidden: int = 100, batch_norm: bool = True
    ) -> None:
        super().__init__()
        self.coeff = 1.0  # gradient reversal coefficient, set by the schedules
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.BatchNorm1d(hidden) if batch_norm else nn.Identity(),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor, sample_weight=None) -> torch.Tensor:
        return self.net(_GradReverse.apply(x, self.coeff)).squeeze(-1)


class _LeNet(LeNet):
    """LeNet whose ``forward`` accepts the ``sample_weight=`` skada passes."""

    def forward(self, X: torch.Tensor, sample_weight=None) -> torch.Tensor:
        return super().forward(X)


def grl_coefficient(progress: float) -> float:
    """The DANN warm-up ``2 / (1 + exp(-10 p)) - 1`` for ``p`` in [0, 1]."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0


def _steps_per_epoch(n_source: int, n_target: int, batch_size: int) -> int:
    return max(n_source // batch_size, n_target // batch_size)


def skada_fit_predict(
    method: str,
    X_source: np.ndarray,
    y_source: np.ndarray,
    X_target: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    grl_warmup: bool = True,
    init_state: dict | None = None,
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """Fit skada's ``method`` on LeNet; return a predictor and seconds per epoch.

    ``init_state``, a LeNet state dict, is the starting point (e.g. the same
    pretrained source our methods start from); ``None`` starts from scratch.

    ``method`` is ``"dann"``, ``"cdan"`` (DANN's critic on the outer product
    of features and predictions, the same warm-up), ``"deep_coral"``,
    ``"dan"`` (multi-kernel MMD, skada's default bandwidths), ``"mcc"``
    (temperature 2.5) or ``"source_only"``; features
    are LeNet's ``fc1`` output, the optimizer Adam, ``reg=1``. Each step sees
    ``batch_size`` source and ``batch_size`` target rows (source only:
    ``batch_size`` source rows). Seconds per epoch is the median of skorch's
    per-epoch durations.
    """
    deep, Callback = _import_skada()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")

    torch.manual_seed(seed)
    common = dict(
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=torch.optim.Adam,
        train_split=None,
        verbose=0,
        device="cpu",
    )
    module = _LeNet()
    if init_state is not None:
        module.load_state_dict(init_state)
    if method in ("dann", "cdan"):
        # CDAN's critic reads the outer product of features and predictions.
        domain = DomainMLP(HIDDEN * (N_CLASSES if method == "cdan" else 1))
        callbacks = []
        if grl_warmup:
            total = epochs * _steps_per_epoch(len(X_source), len(X_target), batch_size)

            class GRLWarmup(Callback):
                def initialize(self):
                    self.step_ = 0
                    return self

                def on_batch_begin(self, net, batch=None, training=False, **kw):
                    if training:
                        coeff = grl_coefficient(min(self.step_ / total, 1.0))
                        net.module_.domain_classifier_.coeff = coeff
                        self.step_ += 1

            callbacks.append(("grl_warmup", GRLWarmup()))
        adversarial = dict(
            layer_name=FEATURES,
            reg=1,
            domain_classifier=domain,
            domain_criterion=nn.BCEWithLogitsLoss(),
            callbacks=callbacks,
            **common,
        )
        if method == "dann":
            net = deep.DANN(module, **adversarial)
        else:
            net = deep.CDAN(module, n_classes=N_CLASSES, **adversarial)
    elif method == "mcc":
        net = deep.MCC(module, layer_name=FEATURES, reg=1, T=MCC_TEMPERATURE, **common)
    elif method == "dan":
        net = deep.DAN(module, layer_name=FEATURES, reg=1, **common)
    elif method == "deep_coral":
        net = deep.DeepCoral(module, layer_name=FEATURES, reg=1, **common)
    else:
        net = deep.SourceOnly(module, layer_name=FEATURES, **common)

    X = np.concatenate([X_source, X_target]).astype(np.float32, copy=False)
    y = np.concatenate([y_source, np.full(len(X_target), -1)]).astype(np.int64)
    domains = np.r_[np.full(len(X_source), SOURCE), np.full(len(X_target), TARGET)]
    net.fit(X, y, sample_domain=domains)
    seconds = float(np.median(net.history[:, "dur"]))

    def predict(X_new: np.ndarray) -> np.ndarray:
        X_new = np.asarray(X_new, dtype=np.float32)
        return net.predict(X_new, sample_domain=np.full(len(X_new), TARGET))

    return predict, seconds


def plain_dann_fit(
    X_source: np.ndarray,
    y_source: np.ndarray,
    X_target: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    channels_last: bool = False,
) -> tuple[nn.Module, float]:
    """DANN as a plain PyTorch loop on LeNet; return the module and s/epoch.

    The same algorithm as skada's DANN with :class:`DomainMLP` and the
    warm-up: per step ``batch_size`` source and ``batch_size`` target rows in
    one forward pass, ``max(n_s, n_t) // batch_size`` steps per epoch (the
    smaller domain reshuffled and cycled), loss = cross-entropy on source +
    BCE-with-logits on source (label 0) + BCE-with-logits on target (label 1),
    the domain classifier on the ``fc1`` output behind gradient reversal with
    coefficient ``2 / (1 + exp(-10 p)) - 1``, Adam on both networks.
    ``channels_last``: the network and each batch in that memory layout.
    """
    torch.manual_seed(seed)
    module, domain = LeNet(), DomainMLP(HIDDEN)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    module = module.to(memory_format=layout)
    optimizer = torch.optim.Adam([*module.parameters(), *domain.parameters()], lr=lr)
    Xs, ys, Xt = map(torch.as_tensor, (X_source, y_source, X_target))
    Xs, Xt, ys = Xs.float(), Xt.float(), ys.long()
    steps = _steps_per_epoch(len(Xs), len(Xt), batch_size)
    total = epochs * steps
    zeros = torch.zeros(batch_size)
    ones = torch.ones(batch_size)

    def batches(n: int):
        while True:
            order = torch.randperm(n)
            for start in range(0, n - batch_size + 1, batch_size):
                yield order[start : start + batch_size]

    src, tgt = batches(len(Xs)), batches(len(Xt))
    durations = []
    step = 0
    for _ in range(epochs):
        started = time.perf_counter()
        module.train()
        domain.train()
        for _ in range(steps):
            domain.coeff = grl_coefficient(step / total)
            i, j = next(src), next(tgt)
            x = torch.cat([Xs[i], Xt[j]]).contiguous(memory_format=layout)
            hidden = module.fc1(module.features(x))
            logits = module.fc2(module.dropout(torch.relu(hidden[:batch_size])))
            dom = domain(hidden)
            loss = (
                F.cross_entropy(logits, ys[i])
                + F.binary_cross_entropy_with_logits(dom[:batch_size], zeros)
                + F.binary_cross_entropy_with_logits(dom[batch_size:], ones)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        durations.append(time.perf_counter() - started)
    module.eval()
    return module, float(np.median(durations))


def predict_module(module: nn.Module, X: np.ndarray, batch_size: int = 512):
    """Class predictions of a plain module, batch by batch, in eval mode."""
    module.eval()
    with torch.no_grad():
        return np.concatenate(
            [
                module(torch.as_tensor(X[i : i + batch_size])).argmax(1).numpy()
                for i in range(0, len(X), batch_size)
            ]
        )


def load_settings() -> dict[str, tuple[np.ndarray, ...]]:
    """``{name: (X_source, y_source, X_target, X_eval, y_eval)}``."""
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_usps_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_test_raw, y_test = load_usps(subset="test", return_X_y=True)
    mapping = ImageMapping(method="resize_pad", center="mass").fit(X_usps_raw)
    X_usps = mapping.transform(X_usps_raw).astype(np.float32)
    X_test = mapping.transform(X_test_raw).astype(np.float32)
    return {
        "MNIST(10k) -> USPS": (X_mnist, y_mnist, X_usps, X_test, y_test),
        "USPS(7291) -> MNIST": (X_usps, y_usps, X_mnist, X_mnist, y_mnist),
    }


def _subsample(n_rows: int, n: int, seed: int) -> np.ndarray:
    """``n`` row indices out of ``n_rows``, fixed by ``seed``."""
    return np.random.RandomState(seed).permutation(n_rows)[:n]


LABELS = {
    "source_only": "skada SourceOnly",
    "deep_coral": "skada DeepCoral",
    "dan": "skada DAN (MMD)",
    "dann": "skada DANN",
    "plain_dann": "plain PyTorch DANN",
}


def run(
    quick: bool = False,
    seeds: int = 3,
    *,
    methods: tuple[str, ...] = tuple(LABELS),
    settings: tuple[str, ...] | None = None,
    epochs: int | None = None,
) -> Table:
    """Accuracy and seconds per epoch of each method in each setting.

    ``methods`` (keys of :data:`LABELS`), ``settings`` (names from
    :func:`load_settings`) and ``epochs`` narrow a run; the defaults are the
    whole benchmark (15 epochs, or 2 on subsampled data in quick mode).
    """
    seeds = 1 if quick else seeds
    epochs = epochs or (2 if quick else 15)
    batch_size, lr = 64, 1e-3
    n_quick = 1500  # source and target rows per setting in quick mode
    table = Table(
        "skada_baseline",
        f"Deep DA baselines on LeNet (features at fc1), {epochs} epochs, Adam "
        f"lr {lr}, {batch_size} source + {batch_size} target rows per step "
        f"(source only: {batch_size} source rows), {seeds} seed(s): skada 0.6.0 "
        "DANN (working domain classifier, GRL warm-up callback), DeepCoral, "
        "SourceOnly, and a plain PyTorch DANN loop. MNIST->USPS is scored on "
        "USPS test (2007); USPS->MNIST is scored on the same 10k MNIST images "
        "used as unlabelled target (transductive). "
        + (
            f"Quick mode: {n_quick} source and {n_quick} target rows per "
            "setting; a smoke test only (DANN's warm-up needs far more steps)."
            if quick
            else "Full data."
        ),
    )
    data = load_settings()
    names = settings or tuple(data)
    started = time.perf_counter()
    for seed in range(seeds):
        for setting in names:
            Xs, ys, Xt, Xe, ye = data[setting]
            if quick:
                i = _subsample(len(Xs), n_quick, seed)
                Xs, ys, Xt = Xs[i], ys[i], Xt[_subsample(len(Xt), n_quick, seed)]
            steps = _steps_per_epoch(len(Xs), len(Xt), batch_size)
            print(f"seed {seed}: {setting}, {steps} steps per epoch", flush=True)
            kw = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
            for method in methods:
                if method == "plain_dann":
                    module, sec = plain_dann_fit(Xs, ys, Xt, **kw)
                    pred = predict_module(module, Xe)
                else:
                    predict, sec = skada_fit_predict(method, Xs, ys, Xt, **kw)
                    pred = predict(Xe)
                table.add(setting, LABELS[method], 100 * np.mean(pred == ye))
                table.add(
                    setting + ", time",
                    LABELS[method],
                    sec,
                    unit="s/epoch",
                    note=(
                        f"{len(Xs) // batch_size} steps of {batch_size} source rows"
                        if method == "source_only"
                        else f"{steps} steps of {batch_size}+{batch_size} rows"
                    ),
                )
            if seed == 0 and setting == names[0] and (seeds > 1 or len(names) > 1):
                spent = time.perf_counter() - started
                runs = seeds * len(names)
                print(
                    f"  {spent:.0f} s for this setting; projected total "
                    f"~{spent * runs / 60:.0f} min for {runs} setting-seed runs",
                    flush=True,
                )
    return table
