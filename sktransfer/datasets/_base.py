"""Data directory resolution and verified downloads shared by the loaders."""

from __future__ import annotations

import hashlib
import http.client
import importlib
import logging
import os
import shutil
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["ChecksumError", "RemoteFile", "get_data_home"]

logger = logging.getLogger(__name__)

DATA_ENV_VAR = "SKTRANSFER_DATA"
_FETCH_TIMEOUT_S = 60
_CHUNK = 1 << 20


class ChecksumError(OSError):
    """A downloaded file does not match its registered checksum."""


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
        a download is kept with a warning.
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


def _fetch(url: str, dest: Path) -> None:
    """Write the bytes at ``url`` to ``dest`` (the only code touching network).

    Tests replace this function to stay offline.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "sktransfer"})
    with (
        urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S) as response,
        open(dest, "wb") as fh,
    ):
        shutil.copyfileobj(response, fh, _CHUNK)


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


def _fetch_file(
    remote: RemoteFile,
    subdir: str,
    data_home: str | os.PathLike[str] | None,
    download_if_missing: bool,
    alternatives: tuple[str, ...] = (),
) -> Path:
    """Return the local path of ``remote``, downloading it if allowed.

    ``alternatives`` are other file names the caller would also have accepted;
    they are only named in the error message.
    """
    folder = get_data_home(data_home) / subdir
    path = folder / remote.filename
    if path.is_file():
        return path
    if not download_if_missing:
        raise FileNotFoundError(
            _missing_message(
                [*alternatives, remote.filename], folder, "download_if_missing=False"
            )
        )
    return _download(remote, folder, alternatives)
