"""What every sktransfer estimator shares: the source's clone rule, the
parameter table, and seeding."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from ._params import check_params


class SourceEstimator(BaseEstimator):
    """Base of the estimators that take a ``source``.

    ``source`` is kept by reference through :func:`sklearn.base.clone`: no
    per-fold deep copy of a big network or data set, and no loss of trained
    weights (cloning a fitted estimator or skorch net would return an
    unfitted one). Subclasses list their parameter rules in
    ``_constraints`` (see :mod:`sktransfer._params`).
    """

    _constraints: ClassVar[dict] = {}

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        source = params.pop("source")
        params = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(source=source, **params)

    def _check_params(self) -> None:
        check_params(self, self._constraints)


@contextlib.contextmanager
def seeded(random_state, device: str = "cpu") -> Iterator[None]:
    """torch's RNG seeded from ``random_state`` inside the block; the global
    RNG (and the device's) left as it was."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    devices = [] if torch.device(device).type == "cpu" else None
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
