"""The per-process cache of frozen-prefix outputs (see :mod:`sktransfer.prefix`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .._network.modes import eval_mode

_COMPUTE_BATCH = 256  # samples per forward pass of the prefix


class CacheInfo(NamedTuple):
    """Use of the prefix cache in this process."""

    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int
    disk_hits: int = 0  # misses read from a shared folder instead of computed


class _Cache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self.lock = threading.Lock()

    def get(self, key: bytes) -> np.ndarray | None:
        with self.lock:
            value = self.items.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self.items.move_to_end(key)
            return value

    def put(self, key: bytes, value: np.ndarray) -> None:
        with self.lock:
            if key in self.items or value.nbytes > self.max_bytes:
                return
            self.items[key] = value
            self.nbytes += value.nbytes
            self._evict()

    def _evict(self) -> None:
        while self.nbytes > self.max_bytes and self.items:
            _, old = self.items.popitem(last=False)
            self.nbytes -= old.nbytes

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.nbytes = self.hits = self.misses = self.disk_hits = 0


_CACHE = _Cache(max_bytes=1 << 30)


def cache_info() -> CacheInfo:
    """Hits (fits that reused outputs), misses (prefix computations), entries
    and bytes of this process's prefix cache, and its limit.

    Examples
    --------
    >>> from sktransfer.prefix import cache_info, clear_cache
    >>> clear_cache()
    >>> cache_info().entries
    0
    """
    c = _CACHE
    with c.lock:
        return CacheInfo(
            c.hits, c.misses, len(c.items), c.nbytes, c.max_bytes, c.disk_hits
        )


def clear_cache() -> None:
    """Drop every cached prefix output and reset the counters."""
    _CACHE.clear()


def get_cache_limit() -> int:
    """The most bytes of prefix outputs kept, and computed for one fit."""
    return _CACHE.max_bytes


def set_cache_limit(nbytes: int) -> None:
    """Set the most bytes of prefix outputs the cache keeps (evicting at once).

    It also bounds the prefix outputs of a single fit: a fit whose outputs
    would be larger trains on the plain path. ``0`` turns the cut off.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0; got {nbytes!r}.")
    with _CACHE.lock:
        _CACHE.max_bytes = nbytes
        _CACHE._evict()


def fits(example: torch.Tensor, n_rows: int) -> bool:
    """Whether the outputs for ``n_rows`` rows, of which ``example`` holds
    two, stay within the cache limit (they could be much larger than X)."""
    nbytes = example[0].numel() * example.element_size() * n_rows
    return nbytes <= _CACHE.max_bytes


def _key(module: nn.Module, layer: str, X: np.ndarray, device: str) -> bytes:
    h = hashlib.blake2b(digest_size=32)

    def add(*parts: object) -> None:
        for part in parts:
            h.update(repr(part).encode())
            h.update(b"\x00")

    add("sktransfer.prefix/2", layer, str(torch.device(device)), torch.__version__)
    for name, sub in module.named_modules():
        settings = sorted(
            (k, v)
            for k, v in vars(sub).items()
            if k != "training" and not k.startswith("_") and _plain(v)
        )
        add(name, type(sub).__module__, type(sub).__qualname__, settings)
    tensors = [(n, p) for n, p in module.named_parameters() if not p.requires_grad]
    tensors += list(module.named_buffers())
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        # The strides tell the memory layout (channels-last or not), which
        # changes the outputs by rounding: part of the key.
        add(name, t.dtype, tuple(t.shape), tensor.stride())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    add(X.dtype.str, X.shape)
    h.update(np.ascontiguousarray(X).reshape(-1).view(np.uint8))
    return h.digest()


def _plain(value: object) -> bool:
    if isinstance(value, bool | int | float | str | type(None)):
        return True
    if isinstance(value, tuple | list):
        return all(_plain(v) for v in value)
    return False


def prefix_outputs(
    module: nn.Module,
    prefix: Callable[[torch.Tensor], torch.Tensor],
    layer: str,
    X: np.ndarray,
    device: str,
    example: torch.Tensor,
    directory: str | None = None,
) -> np.ndarray:
    """The prefix's outputs for every row of ``X`` (a read-only array), from
    the cache, from ``directory`` (shared by processes) or computed in
    batches. ``example`` is the prefix's output for two rows; check
    :func:`fits` first."""
    key = _key(module, layer, X, device)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    path = (
        os.path.join(directory, f"sktransfer-prefix-{key.hex()}.npy")
        if directory
        else None
    )
    if path is not None and os.path.exists(path):
        out = np.load(path, mmap_mode="r")  # read-only, paged in as needed
        with _CACHE.lock:
            _CACHE.disk_hits += 1
        _CACHE.put(key, out)
        return out
    out = _compute(module, prefix, X, device, example)
    _CACHE.put(key, out)
    if path is not None:
        _save(path, out)
    return out


def _save(path: str, out: np.ndarray) -> None:
    """Write ``out`` to ``path`` atomically: a process reading the folder sees
    the whole file or none (two writers of one key write the same values)."""
    handle, tmp = tempfile.mkstemp(suffix=".npy", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as file:
            np.save(file, out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _compute(module, prefix, X: np.ndarray, device: str, example) -> np.ndarray:
    dtype = torch.empty(0, dtype=example.dtype).numpy().dtype
    out = np.empty((len(X), *example.shape[1:]), dtype=dtype)
    with eval_mode(module), torch.no_grad():
        for start in range(0, len(X), _COMPUTE_BATCH):
            # A copy: an in-place first layer must not write into X.
            batch = torch.tensor(X[start : start + _COMPUTE_BATCH], device=device)
            out[start : start + len(batch)] = prefix(batch).cpu().numpy()
    out.flags.writeable = False
    return out
