"""MNIST -> USPS: source only, target only, and fine-tuning with k labels per class.

Every accuracy is on the official USPS test set (2007 images). The source is a
LeNet trained on the 10k MNIST test images (the only MNIST images here) with
random affine augmentation; USPS images are mapped to 28x28 by ImageMapping.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.semi_supervised import SelfTrainingClassifier

from sktransfer import ImageMapping, Source, TransferClassifier, load_mnist, load_usps
from sktransfer.adaptation import InformationMaximization
from sktransfer.augmentation import RandomAffine
from sktransfer.models import LeNet

from ._harness import Table, plain_torch_fit, time_ratio

MAPPINGS = {
    "resize 16->28": dict(method="resize"),
    "pad 16->28": dict(method="pad"),
    "resize to 20, pad (box centre)": dict(method="resize_pad", center="box"),
    "resize to 20, pad (mass centre)": dict(method="resize_pad", center="mass"),
}
CHOSEN = "resize to 20, pad (mass centre)"


def augmentation() -> RandomAffine:
    return RandomAffine(degrees=10, translate=0.1, scale=(0.85, 1.15))


def load_digits():
    """``(X_mnist, y_mnist, X_usps, y_usps, X_test, y_test)``: MNIST (the
    source) and USPS train and test, mapped to 28x28 by the chosen mapping."""
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_usps_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_test_raw, y_test = load_usps(subset="test", return_X_y=True)
    mapping = ImageMapping(**MAPPINGS[CHOSEN]).fit(X_usps_raw)
    X_usps, X_test = mapping.transform(X_usps_raw), mapping.transform(X_test_raw)
    return X_mnist, y_mnist, X_usps, y_usps, X_test, y_test


def pretrain_source(X, y, epochs: int, seed: int) -> TransferClassifier:
    """The LeNet source every digit benchmark starts from: ``epochs`` epochs
    with affine augmentation, batch 128."""
    print(f"seed {seed}: pretraining the source on MNIST", flush=True)
    return TransferClassifier(
        LeNet,
        augment=augmentation(),
        max_epochs=epochs,
        batch_size=128,
        random_state=seed,
    ).fit(X, y)


def few_labels(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return np.concatenate(
        [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(10)]
    )


def run(quick: bool = False, seeds: int = 3) -> Table:
    seeds = 1 if quick else seeds
    src_epochs, tgt_epochs, ft_epochs = (2, 1, 10) if quick else (10, 10, 30)
    table = Table(
        "mnist_usps",
        f"MNIST(10k) -> USPS, LeNet, accuracy on USPS test (2007), {seeds} seed(s); "
        f"source {src_epochs} epochs with affine augmentation, fine-tuning "
        f"{ft_epochs} epochs, batch 32. Quick mode: {quick}.",
        quick=quick,
    )
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_usps_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_test_raw, y_test = load_usps(subset="test", return_X_y=True)
    mapped = {name: ImageMapping(**kw).fit(X_usps_raw) for name, kw in MAPPINGS.items()}
    X_usps = mapped[CHOSEN].transform(X_usps_raw)
    X_test = mapped[CHOSEN].transform(X_test_raw)

    for seed in range(seeds):
        source = pretrain_source(X_mnist, y_mnist, src_epochs, seed)
        for name, mapping in mapped.items():
            acc = source.score(mapping.transform(X_test_raw), y_test)
            table.add("source only (0 labels)", name, 100 * acc)

        target_only = TransferClassifier(
            LeNet,
            augment=augmentation(),
            max_epochs=tgt_epochs,
            batch_size=128,
            random_state=seed,
        ).fit(X_usps, y_usps)
        table.add(
            "target only (7291 labels)",
            "scratch + aug",
            100 * target_only.score(X_test, y_test),
        )

        common = dict(
            module=LeNet, max_epochs=ft_epochs, batch_size=32, random_state=seed
        )
        for k in (1, 5, 10):
            idx = few_labels(y_usps, k, seed)
            X, y = X_usps[idx], y_usps[idx]
            setting = f"k={k} labels per class"
            models = {
                "scratch": TransferClassifier(lr=1e-3, **common),
                "fine-tune all layers": TransferClassifier(
                    source=source, lr=1e-4, **common
                ),
                "fine-tune, conv layers frozen": TransferClassifier(
                    source=source, freeze_depth=2, lr=1e-4, **common
                ),
            }
            for method, model in models.items():
                table.add(setting, method, 100 * model.fit(X, y).score(X_test, y_test))
            cv = (
                StratifiedKFold(3)
                if k >= 3
                else KFold(3, shuffle=True, random_state=seed)
            )
            search = GridSearchCV(
                TransferClassifier(
                    source=source, classes=np.arange(10), lr=1e-4, **common
                ),
                {"freeze_depth": [0, 1, 2, -1]},
                cv=cv,
            ).fit(X, y)
            table.add(
                setting,
                "GridSearchCV over freeze_depth",
                100 * search.score(X_test, y_test),
                note=f"chose {search.best_params_['freeze_depth']}",
            )
            if not quick and k in (1, 10):
                # The unlabelled rest of USPS train, two ways. (a) Training
                # across domains: MNIST rows + the k labelled USPS rows +
                # information maximisation on all USPS train rows.
                y_semi = np.full(len(y_usps), -1)
                y_semi[idx] = y_usps[idx]
                semi = TransferClassifier(
                    LeNet,
                    source=Source(weights=source, X=X_mnist, y=y_mnist),
                    adaptation=InformationMaximization(),
                    augment=augmentation(),
                    max_epochs=5,
                    batch_size=128,
                    lr=1e-4,
                    random_state=seed,
                ).fit(X_usps, y_semi)
                table.add(
                    setting + " + unlabelled USPS",
                    "MNIST + k labels + information maximisation",
                    100 * semi.score(X_test, y_test),
                )
                # (b) Scikit-learn's own
                # self-training (flat rows: SelfTrainingClassifier wants 2-D X).
                semi = SelfTrainingClassifier(
                    TransferClassifier(
                        LeNet,
                        source=source,
                        classes=np.arange(10),
                        lr=1e-4,
                        max_epochs=5,
                        batch_size=64,
                        random_state=seed,
                    ),
                    threshold=0.95,
                    max_iter=3,
                ).fit(X_usps.reshape(len(X_usps), -1), y_semi)
                acc = semi.score(X_test.reshape(len(X_test), -1), y_test)
                table.add(
                    setting + " + unlabelled USPS",
                    "self-training (fine-tune all)",
                    100 * acc,
                )

    # Speed: TransferClassifier.fit against a plain PyTorch loop, same work.
    epochs = 1 if quick else 2
    ours, base, ratio = time_ratio(
        lambda: TransferClassifier(
            LeNet, max_epochs=epochs, batch_size=128, random_state=0
        ).fit(X_mnist, y_mnist),
        lambda: plain_torch_fit(
            LeNet(), X_mnist, y_mnist, epochs=epochs, batch_size=128, lr=1e-3, seed=0
        ),
        repeats=2 if quick else 3,
    )
    table.add(
        "time, LeNet on MNIST 10k",
        "TransferClassifier.fit / plain PyTorch loop",
        ratio,
        unit="ratio",
        note=f"{ours:.1f} s vs {base:.1f} s for {epochs} epochs, batch 128",
    )
    return table
