"""The two ends of a federated round: a client's local update and the
server's weighted average (FedAvg), and the copies of tensors between a
network and arrays that travel in Flower's messages.

Nothing here imports ``flwr``: :mod:`sktransfer.federated._flower` carries
these functions' results in its messages.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.base import clone
from torch import nn


def tensors(module: nn.Module, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Copies of the named tensors of ``module``'s state, as arrays."""
    state = module.state_dict()
    return {n: state[n].detach().cpu().numpy().copy() for n in names}


def load(module: nn.Module, arrays: Mapping[str, np.ndarray]) -> None:
    """Copy ``arrays`` into the tensors of ``module`` of the same names."""
    state = module.state_dict()
    with torch.no_grad():
        for name, value in arrays.items():
            state[name].copy_(torch.as_tensor(np.asarray(value)))


def federated_average(
    updates: Sequence[tuple[Mapping[str, np.ndarray], float]],
) -> dict[str, np.ndarray]:
    """FedAvg: the mean of each tensor over clients, weighted by their rows.

    Computed in float64 in the order given (so reproducible), then cast back:
    integer buffers (batch norm's ``num_batches_tracked``) are rounded.
    """
    total = float(sum(w for _, w in updates))
    mean = {}
    for name, first in updates[0][0].items():
        acc = sum(np.asarray(u[name], np.float64) * (w / total) for u, w in updates)
        if not np.issubdtype(first.dtype, np.floating):
            acc = np.rint(acc)
        mean[name] = np.asarray(acc, dtype=first.dtype)
    return mean


def client_update(
    workdir: str, client: int, received: Mapping[str, np.ndarray], seed: int
) -> tuple[dict[str, np.ndarray], float, int]:
    """One client's round: its trainable tensors after ``local_epochs`` on its
    rows, its last epoch's mean training loss, and its number of rows.

    Runs in a Flower client (a Ray worker). The client rebuilds the start
    model from the source as the server did (with the server's seed, so that
    even freshly initialised frozen blocks, ``transfer="structure"``, are the
    same), loads the tensors received into it, and fine-tunes it with the
    estimator's own ``fit``: the frozen blocks stay frozen, and the frozen
    prefix is computed once per worker (:mod:`sktransfer.prefix`).
    """
    with open(os.path.join(workdir, "template.pkl"), "rb") as f:
        spec = pickle.load(f)
    with np.load(os.path.join(workdir, f"client_{client}.npz")) as data:
        X, y = data["X"], data["y"]
    template = spec["class"](**spec["params"])
    start = clone(template).set_params(max_epochs=0, random_state=spec["init_seed"])
    start.fit(X, y)
    load(start.module_, received)
    # The module given as an instance (module__* were for building it).
    params = {
        k: v
        for k, v in template.get_params(deep=False).items()
        if not k.startswith("module__")
    }
    params.update(
        module=start.module_,
        source=start.module_,
        transfer="weights",
        random_state=seed,
    )
    local = type(template)(**params).fit(X, y)
    loss = float(local.history_[-1]["train_loss"])
    return tensors(local.module_, list(received)), loss, len(X)
