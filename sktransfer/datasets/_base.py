"""Data directory resolution and verified downloads shared by the loaders."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib
import json
import logging
import os
import time
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["ChecksumError", "RemoteFile", "get_data_home"]

logger = logging.getLogger(__name__)

DATA_ENV_VAR = "SKTRANSFER_DATA"
_FETCH_TIMEOUT_S = 60  # per blocking socket operation (connect, one read)
_DOWNLOAD_DEADLINE_S = 600  # for a whole download, so a trickle cannot hang it
_CHUNK = 1 << 20
# A file modified this recently may change again within the file system's
# timestamp granularity without changing its (size, mtime) stamp (git's "racy
# clean" problem), so its verification is not recorded until it has settled.
_SETTLE_S = 2.0
_REDOWNLOAD = (
    "delete it so that it is downloaded again, or replace it with an intact copy"
)

# Clock of the download deadline; a module attribute so tests can replace it.
_clock = time.monotonic
# Per-process memo of verified local files: path -> record (see _verify_local).
_VERIFIED: dict[str, dict[str, int | str]] = {}


class ChecksumError(OSError):
    """A data file does not match its registered checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """Where a data file comes from and how to verify it.

    Parameters
    ----------
    filename : str
        Canonical file name, kept unchanged on disk.
    url : str
        Canonical download address.
    checksum : tuple of (str, str) or None
        ``(algorithm, hexdigest)`` for :func:`hashlib.new`, e.g.
        ``("sha256", "...")``; ``None`` when no digest is known, in which case
        a download is kept with a warning and a local copy is not verified.
    """

    filename: str
    url: str
    checksum: tuple[str, str] | None


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory that holds the sktransfer data sets.

    The directory is, in order of precedence: ``data_home`` when given, else
    the ``SKTRANSFER_DATA`` environment variable when set and non-empty, else
    ``$XDG_CACHE_HOME/sktransfer`` (``~/.cache/sktransfer`` when
    ``XDG_CACHE_HOME`` is unset). Each data set lives in its own subfolder
    (``mnist/``, ``usps/``, ``office_caltech10_surf/``) under canonical file
    names. The directory is not created here; downloads create it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data directory. ``~`` is expanded and a relative path is
        resolved against the current working directory.

    Returns
    -------
    data_home : pathlib.Path
        Absolute path of the data directory.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sktransfer.datasets import get_data_home
    >>> get_data_home("some/folder") == Path.cwd() / "some" / "folder"
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_ENV_VAR) or None
    if data_home is None:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        data_home = os.path.join(cache, "sktransfer")
    if not isinstance(data_home, str | os.PathLike):
        raise TypeError(
            "data_home must be a folder's path (a str or a path-like object) or "
            f"None, got {type(data_home).__name__} {data_home!r}."
        )
    return Path(os.path.abspath(os.path.expanduser(os.fspath(data_home))))


def _import_optional(name: str) -> ModuleType:
    """Import a reader only needed by some loaders, with an install hint."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"Reading this data set needs the optional dependency {name!r}; "
            'install it with: pip install "sktransfer[data]"'
        ) from exc


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _bad_file(path: Path, problem: str, fix: str = _REDOWNLOAD) -> ValueError:
    """Return the error for a data file that cannot be used, with a remedy."""
    return ValueError(
        f"Data file {str(path)!r} cannot be used: {problem}. It is corrupt, "
        f"truncated or not the expected file; {fix}."
    )


def _urlopen(url: str) -> http.client.HTTPResponse:
    """Open ``url`` (the only code touching the network); tests replace it."""
    request = urllib.request.Request(url, headers={"User-Agent": "sktransfer"})
    return urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S)


def _fetch(url: str, dest: Path) -> None:
    """Write the bytes at ``url`` to ``dest`` within ``_DOWNLOAD_DEADLINE_S``.

    The socket timeout bounds each stall; the deadline bounds the whole
    download, checked after every chunk, so it can be overrun by at most one
    read. On failure ``dest`` may hold partial bytes; the caller discards it.
    Tests replace this function (or ``_urlopen``) to stay offline.
    """
    deadline = _clock() + _DOWNLOAD_DEADLINE_S
    with _urlopen(url) as response, open(dest, "wb") as fh:
        # read1 returns what has arrived instead of waiting for a full chunk,
        # so a slow server cannot keep one read going long past the deadline.
        read = getattr(response, "read1", None) or response.read
        while chunk := read(_CHUNK):
            if _clock() > deadline:
                raise TimeoutError(
                    f"downloading {url} took longer than the overall deadline "
                    f"of {_DOWNLOAD_DEADLINE_S} s"
                )
            fh.write(chunk)


def _missing_message(filenames: list[str], folder: Path, reason: str) -> str:
    names = " or ".join(repr(f) for f in filenames)
    return (
        f"Data file {names} not found in {str(folder)!r} ({reason}). Put the "
        f"file there, or in the {folder.name!r} subfolder of another data "
        f"directory given as data_home= or by the {DATA_ENV_VAR} environment "
        "variable."
    )


def _download(
    remote: RemoteFile, folder: Path, alternatives: tuple[str, ...] = ()
) -> Path:
    """Download ``remote`` into ``folder``; the final name appears only once
    the checksum matches, so a failed or interrupted download leaves nothing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    # Same directory as the target, so the final os.replace is atomic; a
    # unique name keeps concurrent downloads apart (and, unlike mkstemp,
    # leaves the file mode to the umask).
    tmp = folder / f".{remote.filename}.{uuid.uuid4().hex}.part"
    try:
        logger.info("Downloading %s to %s", remote.url, target)
        try:
            _fetch(remote.url, tmp)
        except (OSError, http.client.HTTPException) as exc:
            raise FileNotFoundError(
                _missing_message(
                    [*alternatives, remote.filename],
                    folder,
                    f"download from {remote.url} failed: {exc}",
                )
            ) from exc
        if remote.checksum is None:
            warnings.warn(
                f"No checksum is registered for {remote.filename!r}; the file "
                f"downloaded from {remote.url} was not verified.",
                UserWarning,
                stacklevel=4,  # the loader's caller
            )
        else:
            algorithm, expected = remote.checksum
            actual = _file_digest(tmp, algorithm)
            if actual != expected.lower():
                raise ChecksumError(
                    f"Checksum mismatch for {remote.filename!r} downloaded from "
                    f"{remote.url}: expected {algorithm} {expected}, got {actual}. "
                    "The download was discarded."
                )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _read_sidecar(path: Path) -> object:
    try:
        return json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):  # absent, unreadable or garbled: re-verify
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _record_verified(path: Path, record: dict[str, int | str]) -> None:
    """Remember that ``path`` matched its digest, in process and on disk."""
    _VERIFIED[str(path)] = record
    try:
        # A directory without write permission (e.g. data shared by CI jobs)
        # is left alone even where writing would succeed, as for root.
        if path.parent.stat().st_mode & 0o222:
            _write_atomic(_sidecar(path), json.dumps(record))
    except OSError as exc:
        # A read-only data directory: the in-process memo still saves
        # re-hashing within this process.
        logger.debug("Could not record the verification of %s: %s", path, exc)


def _verify_local(path: Path, remote: RemoteFile) -> None:
    """Check ``path`` against the checksum of ``remote``, cheaply.

    The file is hashed only when its size or modification time differ from
    those recorded at its last successful check, in this process or in the
    sidecar file ``.<name>.verified`` next to it. A file modified less than
    ``_SETTLE_S`` ago is hashed at every call.
    """
    if remote.checksum is None:
        return
    algorithm, expected = remote.checksum[0], remote.checksum[1].lower()
    stat = path.stat()
    record: dict[str, int | str] = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "algorithm": algorithm,
        "digest": expected,
    }
    if _VERIFIED.get(str(path)) == record or _read_sidecar(path) == record:
        _VERIFIED[str(path)] = record
        return
    actual = _file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for data file {str(path)!r}: expected "
            f"{algorithm} {expected}, got {actual}. It is corrupt, truncated or "
            f"another version; delete it so that it is downloaded again from "
            f"{remote.url}, or replace it with the original file."
        )
    if abs(time.time() - stat.st_mtime) >= _SETTLE_S:
        _record_verified(path, record)


def _fetch_file(
    remote: RemoteFile,
    subdir: str,
    data_home: str | os.PathLike[str] | None,
    download_if_missing: bool,
    alternatives: tuple[str, ...] = (),
) -> Path:
    """Return the verified local path of ``remote``, downloading it if allowed.

    A local file with a registered checksum is verified (see
    :func:`_verify_local`) before any reader parses it. ``alternatives`` are
    other file names the caller would also have accepted; they are only named
    in the error message.
    """
    folder = get_data_home(data_home) / subdir
    path = folder / remote.filename
    if path.is_file():
        _verify_local(path, remote)
        return path
    if not download_if_missing:
        raise FileNotFoundError(
            _missing_message(
                [*alternatives, remote.filename], folder, "download_if_missing=False"
            )
        )
    return _download(remote, folder, alternatives)
