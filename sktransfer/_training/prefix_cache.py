"""The per-process cache of frozen-prefix outputs (see :mod:`sktransfer.prefix`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .._network.modes import eval_mode

_COMPUTE_BATCH = 256  # samples per forward pass of the prefix

#: Bytes a shared folder (``cache_frozen=<folder>``) holds by default.
DEFAULT_DISK_LIMIT = 4 << 30
_PREFIX = "sktransfer-prefix-"
_LIMIT_FILE = _PREFIX + "limit.json"  # the folder's own budget, if set
_PART = ".part"  # a file being written (mkstemp names it)
_STALE_PART_S = 24 * 3600  # a file being written for this long was abandoned
_CHUNK = 1 << 20


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
    entry = _Entry(directory, key.hex()) if directory else None
    if entry is not None:
        dtype = torch.empty(0, dtype=example.dtype).numpy().dtype
        out = entry.load((len(X), *example.shape[1:]), dtype)
        if out is not None:
            with _CACHE.lock:
                _CACHE.disk_hits += 1
            _CACHE.put(key, out)
            return out
    out = _compute(module, prefix, X, device, example)
    _CACHE.put(key, out)
    if entry is not None:
        entry.save(out)
    return out


# -- the shared folder ------------------------------------------------------------


class _Entry:
    """One entry of a shared folder: ``sktransfer-prefix-<key>.npy`` and its
    record ``sktransfer-prefix-<key>.json`` (key, size and sha256 of the
    ``.npy`` file's bytes), written first, so that a data file without a
    valid record is never used."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory, self.key = directory, key
        self.path = os.path.join(directory, f"{_PREFIX}{key}.npy")
        self.record_path = os.path.join(directory, f"{_PREFIX}{key}.json")

    def load(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """The stored outputs (memory-mapped, read-only), once their bytes
        match the record; ``None`` when there are none or they do not match
        (then with a warning naming the file: they are recomputed)."""
        try:
            out, problem = self._read(shape, dtype)
        except FileNotFoundError:
            return None  # no entry (or evicted by another process meanwhile)
        except OSError as exc:
            out, problem = None, f"it cannot be read ({exc})"
        if problem is not None:
            warnings.warn(
                f"The cached frozen-prefix outputs {self.path!r} were not used: "
                f"{problem}. They are computed again and the file is rewritten; "
                "nothing needs doing, unless this repeats (then check what else "
                "writes to that folder, or give cache_frozen another one).",
                UserWarning,
                stacklevel=2,
            )
            return None
        with contextlib.suppress(OSError):  # least recently used: by mtime
            os.utime(self.path)
        return out

    def _read(self, shape, dtype) -> tuple[np.ndarray | None, str | None]:
        size = os.path.getsize(self.path)  # FileNotFoundError: no entry
        try:
            with open(self.record_path) as file:
                record = json.load(file)
        except FileNotFoundError:
            return None, (
                f"it has no checksum record {os.path.basename(self.record_path)!r} "
                "(written by an older sktransfer, or the record was deleted)"
            )
        except ValueError as exc:
            return None, f"its checksum record is unreadable ({exc})"
        if not isinstance(record, dict) or record.get("key") != self.key:
            return None, "its checksum record belongs to another entry"
        if size != record.get("nbytes"):
            return None, (
                f"it has {size} bytes where {record.get('nbytes')} were written "
                "(truncated or overwritten)"
            )
        if _file_sha256(self.path) != record.get("sha256"):
            return None, (
                "its bytes do not match the sha256 written with them "
                "(overwritten or corrupted)"
            )
        try:
            out = np.load(self.path, mmap_mode="r")  # read-only, paged in
        except ValueError as exc:
            return None, f"it is not a readable .npy file ({exc})"
        if out.shape != shape or out.dtype != dtype:
            return None, (
                f"it holds an array of shape {out.shape} and dtype {out.dtype}, "
                f"not {shape} and {dtype}"
            )
        return out, None

    def save(self, out: np.ndarray) -> None:
        """Write ``out`` and its record, atomically each (a process reading
        the folder sees the whole file or none; two writers of one key write
        the same values), then evict beyond the folder's limit. Outputs
        larger than the limit are not written."""
        limit = get_disk_cache_limit(self.directory)
        if _npy_nbytes(out) > limit:
            return
        handle, tmp = tempfile.mkstemp(
            prefix=f".{_PREFIX}{self.key}.", suffix=_PART, dir=self.directory
        )
        try:
            with os.fdopen(handle, "wb") as file:
                hashing = _HashingWriter(file)
                np.save(hashing, out)
            record = {
                "key": self.key,
                "nbytes": hashing.nbytes,
                "sha256": hashing.digest.hexdigest(),
            }
            _write_atomic(self.record_path, json.dumps(record))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        _evict_folder(self.directory, limit, keep=self.path)


class _HashingWriter:
    """A binary file that also hashes and counts what is written to it."""

    def __init__(self, file) -> None:
        self.file, self.digest, self.nbytes = file, hashlib.sha256(), 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.nbytes += len(view)
        return self.file.write(view)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npy_nbytes(out: np.ndarray) -> int:
    return out.nbytes + 128  # np.save's header (128 bytes for these arrays)


def _write_atomic(path: str, text: str) -> None:
    handle, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=_PART, dir=os.path.dirname(path)
    )
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _evict_folder(directory: str, limit: int, keep: str | None = None) -> None:
    """Delete the least recently used entries (by the ``.npy`` file's mtime,
    which a read refreshes) until the folder's entries take at most
    ``limit`` bytes; ``keep`` goes last. Files being written for over a day
    were abandoned by a crashed process and go too."""
    entries, total = [], 0
    now = time.time()
    with os.scandir(directory) as listing:
        for item in listing:
            name = item.name
            with contextlib.suppress(OSError):
                if name.startswith("." + _PREFIX) and name.endswith(_PART):
                    if now - item.stat().st_mtime > _STALE_PART_S:
                        os.remove(item.path)
                elif name.startswith(_PREFIX) and name.endswith(".npy"):
                    record = item.path[: -len(".npy")] + ".json"
                    stat = item.stat()
                    nbytes = stat.st_size + _size(record)
                    entries.append(
                        (item.path == keep, stat.st_mtime, item.path, nbytes)
                    )
                    total += nbytes
    entries.sort()
    for _, _, path, nbytes in entries:
        if total <= limit:
            break
        # The data file first: a record without one is never read.
        for name in (path, path[: -len(".npy")] + ".json"):
            with contextlib.suppress(OSError):  # gone already, or read-only
                os.remove(name)
        total -= nbytes


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def get_disk_cache_limit(folder) -> int:
    """The most bytes of frozen-prefix outputs ``folder`` keeps.

    ``folder`` is what ``cache_frozen`` takes: the path of an existing folder
    or a ``joblib.Memory`` with a location. The limit is the one
    :func:`set_disk_cache_limit` stored in the folder, else 4 GiB.
    """
    path = os.path.join(_folder(folder), _LIMIT_FILE)
    try:
        with open(path) as file:
            value = json.load(file)["max_bytes"]
    except FileNotFoundError:
        return DEFAULT_DISK_LIMIT
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"The cache limit file {path!r} is unreadable ({exc!r}); set it "
            "again with sktransfer.prefix.set_disk_cache_limit, or delete it "
            "for the default of 4 GiB."
        ) from exc
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"The cache limit file {path!r} holds {value!r}, not a byte count; "
            "set it again with sktransfer.prefix.set_disk_cache_limit, or "
            "delete it for the default of 4 GiB."
        )
    return value


def set_disk_cache_limit(folder, nbytes: int) -> None:
    """Set the most bytes of frozen-prefix outputs ``folder`` keeps, and
    evict the least recently used ones beyond it at once.

    The limit is stored in the folder (``sktransfer-prefix-limit.json``), so
    every process that shares it, e.g. each worker of a Dask cluster, keeps
    to it. ``0`` keeps nothing there (outputs are then only cached in each
    process's memory).
    """
    directory = _folder(folder)
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0; got {nbytes!r}.")
    _write_atomic(
        os.path.join(directory, _LIMIT_FILE), json.dumps({"max_bytes": nbytes})
    )
    _evict_folder(directory, nbytes)


def _folder(folder) -> str:
    from .._params import cache_directory

    directory = cache_directory(folder)
    if directory is None:
        raise ValueError(
            "folder must be the path of an existing folder, or a joblib.Memory "
            f"with a location (what cache_frozen takes); got {folder!r}."
        )
    return directory


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
