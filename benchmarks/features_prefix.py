"""MNIST -> USPS: source features + logistic regression; frozen prefixes computed once.

Two questions, one source (a LeNet trained on the 10k MNIST images with random
affine augmentation; USPS mapped to 28x28 by resizing to 20 and padding
around the centre of mass):

1. With k = 1, 5, 10 labels per class, how do the source's features of each
   layer + ``LogisticRegression`` compare with fine-tuning all layers, in
   accuracy and in time? (``GridSearchCV`` over the layer and ``C``.)
2. How much faster is fine-tuning with the conv layers frozen
   (``freeze_depth=2``) when their outputs are computed once
   (``cache_frozen="auto"``) than when they are recomputed every epoch
   (``cache_frozen=False``), for one fit and for a ``GridSearchCV`` over the
   learning rate, at the same accuracy?

Every accuracy is on the official USPS test set (2007 images). Timings run
with ``threads`` torch and BLAS threads (1 by default: the machine this was
written on is shared, and several threads on busy cores time nothing but
contention).
Run: ``python -c "from benchmarks.features_prefix import run; run(quick=True).save()"``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sktransfer import (
    FeatureTransferTransformer,
    ImageMapping,
    TransferClassifier,
    load_mnist,
    load_usps,
    prefix,
)
from sktransfer.augmentation import RandomAffine
from sktransfer.models import LeNet

from ._harness import Table

# Feature layers of LeNet (block index): the output of each block, conv maps
# max-pooled globally (their flat maps, 6272 and 12544 values, are far slower
# to fit a logistic regression on and no better with so few labels).
LAYERS = {"conv1 block": 0, "conv2 block": 1, "fc1": 2, "fc2 (logits)": 3}
DEEPEST_FIRST = sorted(LAYERS.values(), reverse=True)
CS = [0.01, 0.1, 1.0]


def few_labels(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return np.concatenate(
        [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(10)]
    )


def features_pipeline(source, layer: int = -2):
    return make_pipeline(
        FeatureTransferTransformer(source, layer=layer, pooling="max"),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )


def _progress(table: Table, what: str) -> None:
    print(f"[{time.time() - table.started:6.0f} s] {what}", flush=True)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(quick: bool = False, seeds: int = 3, threads: int | None = 1) -> Table:
    seeds = 1 if quick else seeds
    src_epochs = 2 if quick else 10
    ft_epochs = 30
    n_big = 2000 if quick else None  # rows of USPS train for the speed rows
    grid_lrs = [1e-4, 1e-3] if quick else [1e-4, 3e-4, 1e-3]
    grid_epochs = 5 if quick else 10
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    table = Table(
        "features_prefix",
        f"MNIST(10k) -> USPS, LeNet source ({src_epochs} epochs, affine "
        f"augmentation), accuracy on USPS test (2007), {seeds} seed(s), "
        f"{torch.get_num_threads()} torch thread(s). k-shot: source features of "
        "a layer (conv maps max-pooled) + StandardScaler + LogisticRegression "
        "(GridSearchCV over C per "
        "layer, and over layer and C) vs fine-tuning all layers (lr 1e-4, "
        f"{ft_epochs} epochs, batch 32). Speed: freeze_depth=2 (conv blocks "
        "frozen), batch 128, cached prefix vs cache_frozen=False, on "
        f"{n_big or 'all 7291'} USPS train images. Quick mode: {quick}.",
        quick=quick,
    )
    try:
        with threadpool_limits(limits=threads):  # BLAS of the logistic regression
            _run(
                table, quick, seeds, src_epochs, ft_epochs, n_big, grid_lrs, grid_epochs
            )
    finally:
        torch.set_num_threads(old_threads)
    return table


def _run(table, quick, seeds, src_epochs, ft_epochs, n_big, grid_lrs, grid_epochs):
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_usps_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_test_raw, y_test = load_usps(subset="test", return_X_y=True)
    mapping = ImageMapping(method="resize_pad", center="mass").fit(X_usps_raw)
    X_usps = mapping.transform(X_usps_raw)
    X_test = mapping.transform(X_test_raw)

    for seed in range(seeds):
        _progress(table, f"seed {seed}: pretraining the source on MNIST")
        source = TransferClassifier(
            LeNet,
            augment=RandomAffine(degrees=10, translate=0.1, scale=(0.85, 1.15)),
            max_epochs=src_epochs,
            batch_size=128,
            random_state=seed,
        ).fit(X_mnist, y_mnist)
        table.add(
            "source only (0 labels)",
            "LeNet from MNIST",
            100 * source.score(X_test, y_test),
        )

        for k in (1, 5, 10):
            idx = few_labels(y_usps, k, seed)
            X, y = X_usps[idx], y_usps[idx]
            setting = f"k={k} labels per class"
            _progress(table, setting)
            cv = (
                StratifiedKFold(3)
                if k >= 3
                else KFold(3, shuffle=True, random_state=seed)
            )
            for name, layer in LAYERS.items():
                search = GridSearchCV(
                    features_pipeline(source, layer),
                    {"logisticregression__C": CS},
                    cv=cv,
                ).fit(X, y)
                table.add(
                    setting,
                    f"features: {name} + LR",
                    100 * search.score(X_test, y_test),
                )
            search, t_features = timed(
                lambda X=X, y=y, cv=cv, source=source: GridSearchCV(
                    features_pipeline(source),
                    {
                        # Deepest first: with k=1 no fold's test classes are
                        # in its training folds, all candidates tie at 0 and
                        # the first one is chosen.
                        "featuretransfertransformer__layer": DEEPEST_FIRST,
                        "logisticregression__C": CS,
                    },
                    cv=cv,
                ).fit(X, y)
            )
            best = search.best_params_
            table.add(
                setting,
                "features + LR, GridSearchCV over layer and C",
                100 * search.score(X_test, y_test),
                note=f"chose layer {best['featuretransfertransformer__layer']}, "
                f"C {best['logisticregression__C']}; {t_features:.1f} s",
            )
            tuned, t_tune = timed(
                lambda X=X, y=y, source=source, seed=seed: TransferClassifier(
                    LeNet,
                    source=source,
                    lr=1e-4,
                    max_epochs=ft_epochs,
                    batch_size=32,
                    random_state=seed,
                ).fit(X, y)
            )
            table.add(
                setting,
                "fine-tune all layers",
                100 * tuned.score(X_test, y_test),
                note=f"{t_tune:.1f} s",
            )
            table.add(
                setting,
                "time: features GridSearchCV / fine-tune all",
                t_features / t_tune,
                unit="ratio",
                note=f"{t_features:.1f} s vs {t_tune:.1f} s",
            )

        if seed == 0:
            _progress(table, "speed of the cached prefix")
            _speed_rows(
                table,
                source,
                X_usps,
                y_usps,
                X_test,
                y_test,
                n_big,
                grid_lrs,
                grid_epochs,
            )


def _speed_rows(table, source, X, y, X_test, y_test, n_big, grid_lrs, grid_epochs):
    """Frozen conv blocks: the prefix computed once vs every epoch."""
    X, y = X[:n_big], y[:n_big]
    common = dict(
        module=LeNet,
        source=source,
        freeze_depth=2,
        lr=1e-4,
        batch_size=128,
        random_state=0,
    )
    runs = {
        f"freeze_depth=2, {len(X)} USPS images, 20 epochs": lambda cache: (
            TransferClassifier(cache_frozen=cache, max_epochs=20, **common)
        ),
        f"freeze_depth=2, {len(X)} USPS images, GridSearchCV over lr "
        f"{grid_lrs}, cv=3, {grid_epochs} epochs": lambda cache: GridSearchCV(
            TransferClassifier(cache_frozen=cache, max_epochs=grid_epochs, **common),
            {"lr": grid_lrs},
            cv=3,
        ),
    }
    for setting, make in runs.items():
        seconds = {}
        for name, cache in (("cache_frozen=False", False), ("cached prefix", "auto")):
            prefix.clear_cache()
            model, seconds[name] = timed(
                lambda make=make, cache=cache: make(cache).fit(X, y)
            )
            info = prefix.cache_info()
            clf = getattr(model, "best_estimator_", model)
            table.add(
                setting,
                f"accuracy, {name}",
                100 * model.score(X_test, y_test),
                note=f"{seconds[name]:.1f} s; median epoch "
                f"{np.median(clf.history_[:, 'dur']):.2f} s; cut before "
                f"{clf.cached_prefix_}; prefix computed {info.misses}x, "
                f"reused {info.hits}x",
            )
        plain, cached = seconds["cache_frozen=False"], seconds["cached prefix"]
        table.add(
            setting,
            "speed-up: time plain / time cached",
            plain / cached,
            unit="ratio",
            note=f"{plain:.1f} s vs {cached:.1f} s",
        )
    prefix.clear_cache()


def run_layout(quick: bool = False, seeds: int = 1) -> Table:
    """``FeatureTransferTransformer.transform`` in the two memory layouts:
    fc1 features of a LeNet (trained 1 epoch on MNIST) for the 7291 USPS train
    images, ``memory_format="contiguous"`` and ``"auto"`` (channels-last)
    alternated 5 times in one process at torch's default threads; the same
    features up to rounding."""
    repeats = 2 if quick else 5
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_usps = ImageMapping(method="resize_pad", center="mass").fit_transform(
        load_usps(subset="train", return_X_y=True)[0]
    )
    if quick:
        X_mnist, y_mnist, X_usps = X_mnist[:1000], y_mnist[:1000], X_usps[:1000]
    table = Table(
        "features_layout",
        f"FeatureTransferTransformer(LeNet, layer='fc1').transform on {len(X_usps)} "
        f"USPS images, batch 256, {torch.get_num_threads()} torch thread(s); "
        f"median of {repeats} alternated runs per layout. Quick mode: {quick}.",
        quick=quick,
    )
    source = TransferClassifier(
        LeNet, max_epochs=1, batch_size=128, random_state=0
    ).fit(X_mnist, y_mnist)
    layouts = {
        layout: FeatureTransferTransformer(
            source, layer="fc1", memory_format=layout
        ).fit(X_usps[:2])
        for layout in ("contiguous", "auto")
    }
    seconds = {layout: [] for layout in layouts}
    outputs = {}
    for _ in range(repeats):
        for layout, features in layouts.items():
            outputs[layout], took = timed(lambda f=features: f.transform(X_usps))
            seconds[layout].append(took)
    difference = float(np.abs(outputs["auto"] - outputs["contiguous"]).max())
    for layout, times in seconds.items():
        table.add("transform", f"seconds, memory_format={layout!r}",
                  float(np.median(times)), unit="s")  # fmt: skip
    table.add(
        "transform",
        "time ratio channels-last / contiguous",
        np.median(seconds["auto"]) / np.median(seconds["contiguous"]),
        unit="ratio",
        note=f"largest feature difference {difference:.2g}; "
        f"layout chosen: {layouts['auto'].memory_format_}",
    )
    return table
