"""What every sktransfer estimator shares: the source's clone rule, the
parameter table, and seeding.

Its modules are the helpers that more than one estimator or family uses:

* ``sharing.py``: how a source travels to other processes (slim, once per
  Dask worker) and what a fitted model's source becomes when pickled;
* ``validation.py``: the checks of a fitted estimator's prediction input;
* ``statistics.py``: the column covariance that ``coral_distance`` and
  ``shallow.CORAL`` share.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from .._params import check_params
from .sharing import DetachedSource, share, shipped


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
        # Under joblib's Dask backend, the clones a search ships carry a key
        # and the source goes to each worker once (see sharing.py).
        share(source)
        params = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(source=source, **params)

    def _check_params(self) -> None:
        check_params(self, self._constraints)

    def __getstate__(self):
        # A fitted model is saved as itself, without the source it came from
        # (source weights, source data): predicting does not need them.
        # An unfitted one (a parallel search's task) carries its source slim,
        # or as a key to a copy on the Dask cluster running the task.
        state = super().__getstate__()
        description = state.get("_source_description")
        if state.get("source") is None:
            return state
        if description is not None:
            return {**state, "source": DetachedSource(description)}
        return {**state, "source": shipped(state["source"])}

    def __deepcopy__(self, memo):
        # A copy in memory keeps the source by reference (the clone rule);
        # only pickling detaches it.
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in vars(self).items():
            shared = key == "source"
            setattr(new, key, value if shared else copy.deepcopy(value, memo))
        return new


# Fits of one process run one at a time: torch's random number generator is
# process-global (a fresh layer's initialisation, dropout and augmentations
# draw from it), so two fits in threads would draw from each other's stream
# and a seeded fit would not be reproducible. What runs outside a fit
# (predictions, transforms) draws nothing from it, so it cannot shift a fit
# running in another thread either.
_FIT_LOCK = threading.RLock()


@contextlib.contextmanager
def fitting(estimator) -> Iterator[None]:
    """On any error (or Ctrl-C) inside the block, remove the fitted
    attributes set in it: a failed fit must not look fitted."""
    before = set(vars(estimator))
    try:
        yield
    except BaseException:
        for key in set(vars(estimator)) - before:
            if key.endswith("_") and not key.startswith("__"):
                delattr(estimator, key)
        raise


@contextlib.contextmanager
def seeded(random_state, device: str = "cpu") -> Iterator[torch.Generator]:
    """torch's RNG seeded from ``random_state`` inside the block; the global
    RNG (and the device's) left as it was. Blocks of several threads run one
    at a time (see ``_FIT_LOCK``).

    Yields a CPU generator of the block's own, seeded from ``random_state``
    too, for the draws that can take one (the order of the training rows):
    those no other thread can shift at all.
    """
    rng = check_random_state(random_state)
    seed = rng.randint(np.iinfo(np.int32).max)
    generator = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
    devices = [] if torch.device(device).type == "cpu" else None
    with _FIT_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield generator
