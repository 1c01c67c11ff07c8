"""How a source travels to other processes: slim, and once per Dask worker.

An unfitted estimator is pickled for every task of a parallel search, and its
``source`` with it. Two things keep that cheap:

- **Slim form.** A fitted estimator or skorch net given as source pickles as
  :class:`SlimWeights`: its network (architecture and weights) and its
  classes, without the optimizer state, history or callbacks that make a
  fitted skorch net about four times its weights.
- **Once per worker.** Under ``joblib.parallel_backend("dask")``, the first
  ``clone`` of an estimator in the main thread scatters its source's slim form
  to the cluster once (:func:`share`). The tasks dask then pickles (in its
  client's event loop thread) carry a :class:`SharedSource`: a name, a few
  hundred bytes. A worker fetches the source on its first task and keeps it
  for the next ones (:data:`_LOCAL`).

A source is only pickled as a reference while dask is shipping a task to the
cluster that holds it; any other pickle (``joblib.dump`` to disk, loky's
workers) carries the slim source itself, so it loads anywhere. A *fitted*
estimator pickles without its source: :class:`DetachedSource`.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import sys
import threading
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from torch import nn


class SlimWeights:
    """A fitted estimator reduced to what a source is used for.

    What a fitted :class:`~sktransfer.TransferClassifier` or skorch net given
    as source pickles as: its network ``module_`` (architecture and weights)
    and its ``classes_``, under the names a fitted estimator has them.
    Accepted as a source like the estimator itself.
    """

    def __init__(self, module: nn.Module, classes, description: str) -> None:
        self.module_ = module
        self.classes_ = classes
        self.description = description

    def __sklearn_clone__(self):
        return self

    def __repr__(self) -> str:
        return f"SlimWeights({self.description})"


def slim(source: object) -> object:
    """``source`` as it should be pickled: a fitted estimator or skorch net
    becomes :class:`SlimWeights`; anything else is returned as it is (a
    :class:`~sktransfer.Source` slims its own weights when pickled)."""
    if isinstance(source, nn.Module | SlimWeights | SharedSource | str | os.PathLike):
        return source
    try:
        module = fitted_module(source)
    except ValueError:  # an unfitted estimator: pickled as it is
        return source
    if module is None:
        return source
    classes = getattr(source, "classes_", None)
    return SlimWeights(module, classes, type(source).__name__)


def fitted_module(source: object) -> nn.Module | None:
    """The trained network of a fitted estimator or skorch net, else None."""
    # A TransferClassifier (or anything wrapping a skorch net in ``net_``).
    if hasattr(source, "get_params") and hasattr(type(source), "fit"):
        net = getattr(source, "net_", source)
        module = getattr(net, "module_", None)
        if isinstance(module, nn.Module):
            return module
        if hasattr(source, "module") or hasattr(source, "net_"):
            raise ValueError(
                f"source {type(source).__name__} is not fitted: fit it on the "
                "source data first (or pass its network or weights)."
            )
    return None


class DetachedSource:
    """What an unpickled estimator holds as ``source``: its description only.

    A fitted estimator is pickled without its source (weights it no longer
    needs, source data), so that a model pickles as its own weights. Predicting
    works; fitting again needs ``set_params(source=...)``.
    """

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"DetachedSource({self.description!r})"

    def __sklearn_clone__(self):
        return self

    def message(self) -> str:
        return (
            f"This estimator was unpickled without its source ({self.description}):"
            " a fitted model is saved without the source it was trained from. "
            "Give it again with set_params(source=...) before fitting."
        )


class SharedSource:
    """What a task carries instead of a source scattered to a Dask cluster.

    ``get`` returns the source: this process's copy, or, on a worker's first
    task, the one published on the cluster under ``token`` (fetched in the
    task's thread, where a worker may call its client).
    """

    def __init__(self, token: str, description: str) -> None:
        self.token = token
        self.description = description

    def __sklearn_clone__(self):
        return self

    def __repr__(self) -> str:
        return f"SharedSource({self.description!r})"

    def get(self) -> object:
        with _LOCAL_LOCK:
            if self.token in _LOCAL:
                _LOCAL.move_to_end(self.token)
                return _LOCAL[self.token]
        try:
            from distributed import get_client

            value = get_client().get_dataset(self.token).result()
        except Exception as exc:
            raise ValueError(
                f"The source ({self.description}) was sent to a Dask cluster and "
                "cannot be fetched here: this estimator was unpickled outside a "
                "task of that cluster, or after the source was released. Give "
                f"it its source again ({type(exc).__name__}: {exc})."
            ) from exc
        with _LOCAL_LOCK:
            _LOCAL[self.token] = value
            while len(_LOCAL) > _LOCAL_SIZE:
                _LOCAL.popitem(last=False)
        return value


# Sources this process fetched from a cluster, by token: a worker fetches a
# source on its first task and keeps the last few for the next ones.
_LOCAL: OrderedDict[str, object] = OrderedDict()
_LOCAL_SIZE = 4
_LOCAL_LOCK = threading.Lock()


@dataclass
class _Scattered:
    client: object
    token: str
    description: str


# Sources scattered from this process, by id; an entry goes with its source.
_SCATTERED: dict[int, _Scattered] = {}


def _description(source: object) -> str:
    return getattr(source, "description", None) or type(source).__name__


def share(source: object) -> None:
    """Scatter ``source`` (its slim form) to the Dask cluster of joblib's
    active backend, once; nothing without one, from dask's event loop thread
    (a blocking call would hang it) or for a path (small already)."""
    if source is None or isinstance(source, str | os.PathLike | SharedSource):
        return
    client = _dask_client()
    if client is None or _in_loop_thread(client):
        return
    entry = _SCATTERED.get(id(source))
    if entry is not None and entry.client is client and _running(client):
        return
    try:
        weakref.finalize(source, _release, id(source))
    except TypeError:  # not weak-referenceable (a plain dict): ships per task
        return
    payload, token = slim(source), f"sktransfer-source-{uuid.uuid4().hex}"
    [future] = client.scatter([payload], hash=False)
    # Published under a name, which keeps it on the cluster and lets a
    # worker's own client fetch it (a future cannot be looked up from another
    # client).
    client.publish_dataset(future, name=token)
    _SCATTERED[id(source)] = _Scattered(client, token, _description(payload))


def _release(source_id: int) -> None:
    """Forget a garbage-collected source and free the cluster's copy (a
    closed client's cluster keeps it until it shuts down)."""
    entry = _SCATTERED.pop(source_id, None)
    if entry is None or not _running(entry.client) or _in_loop_thread(entry.client):
        return
    with contextlib.suppress(Exception):  # the cluster may be going away
        entry.client.unpublish_dataset(entry.token)


def shipped(source: object) -> object:
    """What pickles in place of ``source``: a :class:`SharedSource` while dask
    ships a task to the cluster holding it, else its slim form."""
    entry = _SCATTERED.get(id(source))
    if entry is not None and _in_loop_thread(entry.client) and _running(entry.client):
        return SharedSource(entry.token, entry.description)
    return slim(source)


def _dask_client():
    """The client of joblib's active Dask backend, else ``None``."""
    if "distributed" not in sys.modules:  # dask was never used here
        return None
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return getattr(backend, "client", None)


def _running(client) -> bool:
    return getattr(client, "status", None) == "running"


def _in_loop_thread(client) -> bool:
    """Whether this thread runs ``client``'s event loop (where dask pickles
    the tasks it submits)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return running is getattr(getattr(client, "loop", None), "asyncio_loop", None)


def array_by_reference(X):
    """A memory-mapped array opened from a file (``np.load(path, mmap_mode="r")``,
    ``np.memmap``) pickles as its file, not its data; a slice of one, or any
    other array, pickles as usual."""
    if (
        isinstance(X, np.memmap)
        and isinstance(X.base, mmap.mmap)
        and X.filename is not None
        and X.flags.c_contiguous
    ):
        return _ReopenedMemmap(X.filename, X.dtype.str, X.shape, X.offset)
    return X


class _ReopenedMemmap:
    """Pickled form of a read-only memory-mapped array: reopened on load."""

    def __init__(self, filename: str, dtype: str, shape: tuple, offset: int) -> None:
        self.args = (filename, dtype, shape, offset)

    def __reduce__(self):
        return (_reopen, self.args)


def _reopen(filename: str, dtype: str, shape: tuple, offset: int) -> np.memmap:
    return np.memmap(
        filename, dtype=np.dtype(dtype), mode="r", shape=shape, offset=offset
    )
