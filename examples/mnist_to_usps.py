"""MNIST -> USPS: transfer a LeNet's parameters from MNIST digits to USPS digits.

The worked example of the seed, done so that it runs on the real data:

1. map USPS's 16x16 digits to MNIST's layout (resized into a 20x20 box, centred
   by mass in 28x28) with ``ImageMapping``;
2. pretrain a LeNet on MNIST (with random affine augmentation), cached on disk;
3. transfer its parameters to a target network and fine-tune it on ``k``
   labelled USPS images per class; compare with training from scratch on the
   same images, and let ``GridSearchCV`` choose ``freeze_depth``.

Run (offline, with the data in ../shared/data)::

    SKTRANSFER_DATA=../shared/data python examples/mnist_to_usps.py --k 10

Every fit that trains for more than a few seconds prints its progress (epoch,
training loss, seconds per epoch, time left): the estimators' default
``verbose="auto"``. Pass ``--quiet`` for the results alone (``verbose=0``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from sktransfer import ImageMapping, TransferClassifier, load_mnist, load_usps
from sktransfer.augmentation import RandomAffine
from sktransfer.models import LeNet


def pretrained_source(X, y, epochs: int, seed: int, verbose="auto") -> str:
    """Train the MNIST LeNet once and keep its state dict in the user cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
    path = cache / "sktransfer" / "models" / f"lenet_mnist_aug_e{epochs}_s{seed}.pt"
    if not path.exists():
        print(
            f"Pretraining LeNet on {len(X)} MNIST images ({epochs} epochs)...",
            flush=True,
        )
        source = TransferClassifier(
            LeNet,
            augment=RandomAffine(degrees=10, translate=0.1, scale=(0.85, 1.15)),
            max_epochs=epochs,
            batch_size=128,
            random_state=seed,
            verbose=verbose,
        ).fit(X, y)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(source.module_.state_dict(), path)
    return str(path)  # a path to a state dict is a valid source


def main(k: int, epochs: int, seed: int, verbose="auto") -> None:
    start = time.time()
    X_mnist, y_mnist = load_mnist(return_X_y=True)  # the 10k official test images
    X_usps, y_usps = load_usps(subset="train", return_X_y=True)
    X_test, y_test = load_usps(subset="test", return_X_y=True)
    mapping = ImageMapping(size=(28, 28), method="resize_pad", box=20, center="mass")
    X_usps, X_test = mapping.fit_transform(X_usps), mapping.transform(X_test)

    source = pretrained_source(X_mnist, y_mnist, epochs, seed, verbose)
    rng = np.random.RandomState(seed)
    labelled = np.concatenate(
        [rng.choice(np.flatnonzero(y_usps == c), k, replace=False) for c in range(10)]
    )
    X, y = X_usps[labelled], y_usps[labelled]
    common = dict(
        module=LeNet, max_epochs=30, batch_size=32, random_state=seed, verbose=verbose
    )
    models = {
        "source only (no USPS labels)": TransferClassifier(
            source=source, **{**common, "max_epochs": 0}
        ),
        "scratch": TransferClassifier(lr=1e-3, **common),
        "fine-tune all layers": TransferClassifier(source=source, lr=1e-4, **common),
        "fine-tune, conv layers frozen": TransferClassifier(
            source=source, freeze_depth=2, lr=1e-3, **common
        ),
    }
    results = {}
    for name, model in models.items():
        say(verbose, f"Training: {name} ({len(y)} USPS images)...")
        results[name] = model.fit(X, y)
    cv = StratifiedKFold(3) if k >= 3 else KFold(3, shuffle=True, random_state=seed)
    grid = {"freeze_depth": [0, 1, 2, -1]}
    say(verbose, f"GridSearchCV over {grid} (3 folds, {3 * len(grid['freeze_depth'])}"
        " fits and a refit)...")  # fmt: skip
    search = GridSearchCV(
        TransferClassifier(source=source, classes=np.arange(10), lr=1e-4, **common),
        grid,
        cv=cv,
    ).fit(X, y)
    depth = search.best_params_["freeze_depth"]
    results[f"GridSearchCV -> freeze_depth={depth}"] = search

    print(f"\nMNIST -> USPS, {k} labelled USPS images per class ({len(y)} in all)")
    print(f"{'method':<40} USPS test accuracy (2007 images)")
    for name, model in results.items():
        print(f"{name:<40} {100 * model.score(X_test, y_test):6.2f} %")
    report = search.best_estimator_.transfer_report_
    print("\nTransfer report of the chosen model:")
    print(report[["parameter", "layer", "status", "trainable"]].to_string(index=False))
    print(f"\nDone in {time.time() - start:.0f} s.")


def say(verbose, line: str) -> None:
    if verbose:
        print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10, help="labels per USPS class")
    parser.add_argument("--epochs", type=int, default=10, help="MNIST pretraining")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines (verbose=0)"
    )
    args = parser.parse_args()
    main(args.k, args.epochs, args.seed, 0 if args.quiet else "auto")
