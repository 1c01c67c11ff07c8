"""Joint training and unsupervised domain adaptation on MNIST <-> USPS.

Our TransferClassifier with DANN, Deep CORAL, MMD and information
maximisation, source only, and joint training with k = 10 target labels per
class; next to skada 0.6.0's DANN / DeepCoral / SourceOnly and a plain PyTorch
DANN loop on the same LeNet, data, epochs and batch composition (``batch``
source rows + ``batch`` target rows per step), in the same process
(``benchmarks/skada_baseline.py``).

Hyperparameters are chosen without target labels: every method runs with the
library defaults (adaptation weight 1, DANN's warm-up gamma 10, features of
the penultimate block ``fc1``, logits for information maximisation), Adam with
lr 1e-3, from the same start (a LeNet pretrained on the source with affine
augmentation, as in ``mnist_usps``); no setting is tuned on target labels.
Our rows use RandomAffine on every batch; the like-for-like comparison with
skada (same pretrained start, no augmentation) is the "DANN, no augmentation"
row. Seconds per epoch of ours include the whole fit divided by the epochs;
skada's are the median of skorch's per-epoch durations.
"""

from __future__ import annotations

import time

import numpy as np

from sktransfer import Source, TransferClassifier, load_usps
from sktransfer.adaptation import DANN, MMD, DeepCORAL, InformationMaximization
from sktransfer.models import LeNet

from ._harness import Table
from .mnist_usps import augmentation, few_labels


def run(quick: bool = False, seeds: int = 1, with_skada: bool = True) -> Table:
    from . import skada_baseline as base

    seeds = 1 if quick else seeds
    epochs, batch, pre_epochs = (1, 128, 1) if quick else (10, 128, 10)
    table = Table(
        "adaptation",
        f"Unsupervised DA, LeNet, {epochs} epochs, batch {batch} source + {batch} "
        f"target rows per step, {seeds} seed(s); target accuracy (%) and seconds "
        "per epoch. MNIST->USPS: evaluated on USPS test (2007); USPS->MNIST: on "
        f"the same 10k unlabelled MNIST images (transductive). Quick mode: {quick}.",
        quick=quick,
    )
    settings = base.load_settings()
    # Labels of the target training rows, used only to draw k labelled rows.
    y_target_of = {
        name: (
            load_usps(subset="train", return_X_y=True)[1]
            if name.startswith("MNIST")
            else y_eval
        )
        for name, (_, _, _, _, y_eval) in settings.items()
    }
    for name, (Xs, ys, Xt, X_eval, y_eval) in settings.items():
        y_target = y_target_of[name]
        if quick:  # a smoke run: 2000 rows of each domain
            Xs, ys = Xs[:2000], ys[:2000]
            Xt, y_target = Xt[:2000], y_target[:2000]
        for seed in range(seeds):
            start = time.perf_counter()
            pretrained = TransferClassifier(
                LeNet,
                augment=augmentation(),
                max_epochs=pre_epochs,
                batch_size=batch,
                random_state=seed,
            ).fit(Xs, ys)
            print(
                f"{name} seed {seed}: source pretrained in "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
            table.add(
                name, "source only (pretrained)", 100 * pretrained.score(X_eval, y_eval)
            )
            source = Source(weights=pretrained, X=Xs, y=ys)
            unlabelled = np.full(len(Xt), -1)
            methods = [
                ("joint, no adaptation loss", None, augmentation()),
                ("DANN", DANN(), augmentation()),
                ("Deep CORAL", DeepCORAL(), augmentation()),
                ("MMD", MMD(), augmentation()),
                ("information maximisation", InformationMaximization(), augmentation()),
                # Like for like with skada (no augmentation, same start).
                ("DANN, no augmentation", DANN(), None),
            ]
            for method, loss, augment in methods:
                clf = TransferClassifier(
                    LeNet,
                    source=source,
                    adaptation=loss,
                    augment=augment,
                    max_epochs=epochs,
                    batch_size=batch,
                    random_state=seed,
                )
                start = time.perf_counter()
                clf.fit(Xt, unlabelled)
                per_epoch = (time.perf_counter() - start) / epochs
                table.add(name, f"ours: {method}", 100 * clf.score(X_eval, y_eval))
                table.add(name, f"ours: {method} (s/epoch)", per_epoch, unit="s")
            # Joint training with k = 10 labelled target rows per class (the
            # rest of the target unlabelled): L_source + 1.0 * L_target.
            idx = few_labels(y_target, 10, seed)
            y_joint = np.full(len(Xt), -1)
            y_joint[idx] = y_target[idx]
            clf = TransferClassifier(
                LeNet,
                source=source,
                target_weight=1.0,
                augment=augmentation(),
                max_epochs=epochs,
                batch_size=batch,
                random_state=seed,
            ).fit(Xt, y_joint)
            table.add(
                name, "ours: joint, k=10 target labels", 100 * clf.score(X_eval, y_eval)
            )
            if with_skada:
                # skada starts from the same pretrained weights as ours.
                init = pretrained.module_.state_dict()
                for method in ("source_only", "dann", "deep_coral"):
                    predict, per_epoch = base.skada_fit_predict(
                        method, Xs, ys, Xt, epochs=epochs, batch_size=batch,
                        lr=1e-3, seed=seed, init_state=init,
                    )  # fmt: skip
                    acc = 100 * np.mean(predict(X_eval) == y_eval)
                    table.add(name, f"skada: {method}", acc)
                    table.add(name, f"skada: {method} (s/epoch)", per_epoch, unit="s")
    return table
