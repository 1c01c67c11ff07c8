"""MNIST -> USPS: federated fine-tuning (FedAvg on Flower) vs pooled fine-tuning.

One source (a LeNet trained on the 10k MNIST images with random affine
augmentation, as in ``mnist_usps``); the USPS training images (7291, mapped to
28x28 by resizing to 20 and padding around the centre of mass) are the target
rows. Pooled: one :class:`~sktransfer.TransferClassifier` fine-tunes on all of
them. Federated: the same rows split over 4 clients, which never pool them;
:class:`~sktransfer.FederatedTransferClassifier` runs FedAvg in Flower's
simulation engine, one client at a time on one CPU. Two splits:

- IID: a random permutation cut into 4 equal parts;
- non-IID: for each digit, its rows are shared between the clients in
  proportions drawn from a Dirichlet(0.5) (the usual label-skew benchmark),
  redrawn until every client holds at least 200 rows.

Two settings, as in ``mnist_usps``: the conv blocks frozen
(``freeze_depth=2``: they are never sent, and each client computes their
outputs once) and all layers fine-tuned (``freeze_depth=0``: the batch-norm
running statistics are averaged too). Same work for pooled and federated:
batch 32, the same lr (the best for pooled fine-tuning on a held-out part of
USPS train) and as many passes over the data, pooled ``max_epochs`` =
``n_rounds x local_epochs``. Accuracy on the official USPS test set (2007).
Seconds are wall time on one core; a federated fit includes starting Ray.
"""

from __future__ import annotations

import time

import numpy as np

from sktransfer import (
    FederatedTransferClassifier,
    TransferClassifier,
)
from sktransfer.models import LeNet

from ._harness import Table
from .mnist_usps import load_digits, pretrain_source

N_CLIENTS = 4
ALPHA = 0.5  # Dirichlet concentration of the non-IID split
MIN_ROWS = 200  # per client, in the non-IID split
# What each setting trains, and its lr (see the table's description).
SETTINGS = {
    "conv blocks frozen (freeze_depth=2)": dict(freeze_depth=2, lr=3e-4),
    "fine-tune all (freeze_depth=0)": dict(freeze_depth=0, lr=1e-4),
}


def iid_split(n: int, seed: int) -> np.ndarray:
    """Client of each row: a random permutation cut into equal parts."""
    clients = np.empty(n, dtype=int)
    parts = np.array_split(np.random.RandomState(seed).permutation(n), N_CLIENTS)
    for k, rows in enumerate(parts):
        clients[rows] = k
    return clients


def dirichlet_split(y: np.ndarray, seed: int) -> np.ndarray:
    """Client of each row: each class shared out in Dirichlet(ALPHA) shares."""
    rng = np.random.RandomState(seed)
    while True:
        clients = np.empty(len(y), dtype=int)
        for c in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == c))
            shares = rng.dirichlet(np.full(N_CLIENTS, ALPHA))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for k, part in enumerate(np.split(rows, cuts)):
                clients[part] = k
        if np.bincount(clients, minlength=N_CLIENTS).min() >= MIN_ROWS:
            return clients


def describe(clients: np.ndarray, y: np.ndarray) -> str:
    """Rows per client, and how many digits make up 90 % of each client's rows."""
    sizes, majors = [], []
    for k in range(N_CLIENTS):
        counts = np.sort(np.bincount(y[clients == k], minlength=10))[::-1]
        sizes.append(int(counts.sum()))
        majors.append(int(np.searchsorted(np.cumsum(counts), 0.9 * counts.sum()) + 1))
    return f"rows per client {sizes}; digits making 90% of a client {majors}"


def run(quick: bool = False, seeds: int = 3) -> Table:
    seeds = 1 if quick else seeds
    src_epochs, n_rounds, local_epochs = (2, 3, 1) if quick else (10, 8, 1)
    epochs = n_rounds * local_epochs
    table = Table(
        "federated",
        f"MNIST(10k) -> USPS train (all 7291 rows) split over {N_CLIENTS} "
        f"clients, LeNet source ({src_epochs} epochs, affine augmentation), "
        f"batch 32. Pooled: {epochs} epochs on all rows; FedAvg: {n_rounds} "
        f"rounds x {local_epochs} local epoch(s), every client every round, one "
        "client at a time on 1 CPU (Flower simulation engine, Ray). Non-IID: "
        f"Dirichlet({ALPHA}) label split. lr per setting: the best of 1e-4, "
        "3e-4, 1e-3 for pooled fine-tuning on a held-out 20% of USPS train "
        "(seed 0). Accuracy on USPS test (2007), "
        f"{seeds} seed(s); gap = federated - pooled, in points. Quick mode: {quick}.",
        quick=quick,
    )
    X_mnist, y_mnist, X_train, y_train, X_test, y_test = load_digits()

    for seed in range(seeds):
        source = pretrain_source(X_mnist, y_mnist, src_epochs, seed)
        table.add("source only", "LeNet from MNIST", 100 * source.score(X_test, y_test))
        splits = {
            "IID": iid_split(len(y_train), seed),
            f"non-IID, Dirichlet({ALPHA})": dirichlet_split(y_train, seed),
        }
        for setting, params in SETTINGS.items():
            params = dict(
                module=LeNet, source=source, batch_size=32, random_state=seed, **params
            )
            started = time.perf_counter()
            pooled = TransferClassifier(max_epochs=epochs, **params)
            pooled.fit(X_train, y_train)
            seconds = time.perf_counter() - started
            pooled_acc = 100 * pooled.score(X_test, y_test)
            table.add(setting, "pooled fine-tuning (one machine)", pooled_acc)
            for name, clients in splits.items():
                federated = FederatedTransferClassifier(
                    TransferClassifier(**params),
                    n_rounds=n_rounds,
                    local_epochs=local_epochs,
                    random_state=seed,
                )
                started_fed = time.perf_counter()
                federated.fit(X_train, y_train, clients=clients)
                seconds_fed = time.perf_counter() - started_fed
                acc = 100 * federated.score(X_test, y_test)
                sent = federated.history_[0]["values_per_client"]
                state = federated.estimator_.module_.state_dict().values()
                table.add(
                    setting,
                    f"FedAvg, {name}",
                    acc,
                    note=f"{describe(clients, y_train)} (seed {seed}); {sent:,} of "
                    f"the {sum(t.numel() for t in state):,} values of the "
                    "network sent each way per client and round",
                )
                table.add(
                    setting, f"gap to pooled, {name}", acc - pooled_acc, unit="pts"
                )
                table.add(setting, f"time: FedAvg, {name}", seconds_fed, unit="s")
            table.add(setting, "time: pooled fine-tuning", seconds, unit="s")
    return table
