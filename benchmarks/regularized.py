"""MNIST -> USPS with 10 labels per class: regularised fine-tuning (L2-SP, BSS).

The source, the mapping, the labelled rows and the fine-tuning settings are
those of the "fine-tune all layers" row of ``benchmarks/mnist_usps.py``
(LeNet pretrained on the 10k MNIST test images with affine augmentation;
100 USPS training rows; lr 1e-4, 30 epochs, batch 32); accuracy is on the
USPS test set (2007 images). No unlabelled row is used.

Every fine-tuning here drops the short last batch of an epoch
(``iterator_train__drop_last=True``: 3 batches of 32 out of 100 rows), as
the BSS paper's loader does; one row keeps it, for comparison with
``mnist_usps``. Hyperparameters are either the papers' defaults (L2-SP:
alpha = beta = 0.01; BSS: eta = 0.001, k = 1) or chosen by 3-fold
cross-validation on the 100 labelled rows only, never on test labels.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sktransfer import TransferClassifier
from sktransfer.models import LeNet
from sktransfer.regularization import BSS, L2SP, Compose

from ._harness import Table
from .mnist_usps import few_labels, load_digits, pretrain_source

ALPHAS = [0.01, 0.1, 1.0, 10.0]  # L2-SP's alpha, searched by cross-validation
ETAS = [0.0, 0.001, 0.01]  # BSS's eta


def fine_tuning(
    source, seed: int, epochs: int, lr: float, regularization=None, **params
) -> TransferClassifier:
    """The "fine-tune all layers" model of mnist_usps, with a penalty."""
    params.setdefault("iterator_train__drop_last", True)
    return TransferClassifier(
        LeNet,
        source=source,
        classes=np.arange(10),
        regularization=regularization,
        lr=lr,
        max_epochs=epochs,
        batch_size=32,
        random_state=seed,
        **params,
    )


def candidates(source, seed: int, epochs: int, lr: float) -> dict:
    """The rows of one learning rate: plain, each penalty, both, both by CV."""

    def model(regularization=None, **params):
        return fine_tuning(source, seed, epochs, lr, regularization, **params)

    both = Compose([L2SP(), BSS()])
    grid = {"regularization__l2sp__alpha": ALPHAS, "regularization__bss__eta": ETAS}
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    models = {
        "plain fine-tuning": model(),
        "L2-SP (paper defaults)": model(L2SP()),
        "BSS (paper defaults)": model(BSS()),
        "L2-SP + BSS (paper defaults)": model(both),
        "L2-SP + BSS, alpha and eta by CV": GridSearchCV(model(both), grid, cv=cv),
    }
    if lr != 1e-4:
        return models
    kept = {"iterator_train__drop_last": False}
    return {
        "plain fine-tuning, short last batch kept (as mnist_usps)": model(**kept),
        "BSS (paper defaults), short last batch kept": model(BSS(), **kept),
        **models,
    }


def run_regularized(quick: bool = False, seeds: int = 3) -> Table:
    seeds = 1 if quick else seeds
    src_epochs, ft_epochs, k = (2, 10, 10) if quick else (10, 30, 10)
    table = Table(
        "regularized",
        f"MNIST(10k) -> USPS, LeNet, k={k} labels per class, no unlabelled rows; "
        f"accuracy on USPS test (2007), {seeds} seed(s); source {src_epochs} "
        f"epochs with affine augmentation, fine-tuning all layers {ft_epochs} "
        "epochs, batch 32, the short last batch dropped unless said; CV = "
        "3-fold GridSearchCV on the labelled rows only. Papers' defaults: "
        f"L2SP(alpha=0.01, beta=0.01), BSS(eta=0.001, k=1). Quick mode: {quick}.",
        quick=quick,
    )
    X_mnist, y_mnist, X_usps, y_usps, X_test, y_test = load_digits()

    chosen: dict[tuple[str, str], list[str]] = {}  # the CV's picks, per seed
    for seed in range(seeds):
        source = pretrain_source(X_mnist, y_mnist, src_epochs, seed)
        table.add("source only (0 labels)", "LeNet", 100 * source.score(X_test, y_test))
        idx = few_labels(y_usps, k, seed)
        for lr in (1e-4, 1e-3):
            setting = f"k={k}, fine-tune all, lr {lr:g}"
            seconds = {}
            for method, estimator in candidates(source, seed, ft_epochs, lr).items():
                start = time.perf_counter()
                estimator.fit(X_usps[idx], y_usps[idx])
                seconds[method] = time.perf_counter() - start
                table.add(setting, method, 100 * estimator.score(X_test, y_test))
                if isinstance(estimator, GridSearchCV):
                    picks = ", ".join(
                        f"{name.rsplit('__', 1)[1]}={value:g}"
                        for name, value in sorted(estimator.best_params_.items())
                    )
                    chosen.setdefault((setting, method), []).append(f"({picks})")
                    table.rows[setting, method].note = "chose " + "; ".join(
                        chosen[setting, method]
                    )
            for method, value in seconds.items():
                table.add(f"seconds per fit, lr {lr:g}", method, value, unit="s")
    return table
