"""USPS handwritten digits (16x16), from ``usps.h5`` or the ESL text files."""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import (
    _REDOWNLOAD,
    ChecksumError,
    RemoteFile,
    _bad_file,
    _fetch_file,
    _import_optional,
    _verify_local,
    get_data_home,
)

__all__ = ["load_usps"]

_SUBDIR = "usps"
_H5_NAME = "usps.h5"
_ESL_URL = "https://hastie.su.domains/ElemStatLearn/datasets/"

# Only the ESL text files are downloaded. No digest of them is known here
# (no copy was available to compute one), so a download is kept with a warning
# and a local copy is not verified; the reader rejects damaged files and
# values outside the ESL range. usps.h5 is listed for its digest only (the
# copy described in shared/data/usps/PROVENANCE.md, at the address below): it
# is never downloaded, and a copy with another digest is used only once its
# values pass the checks (see load_usps).
_FILES: dict[str, RemoteFile] = {
    name: RemoteFile(name, _ESL_URL + name, None)
    for name in ("zip.train.gz", "zip.test.gz")
}
_FILES[_H5_NAME] = RemoteFile(
    _H5_NAME,
    "https://github.com/niuers/Learning-From-Data-A-Short-Course/raw/"
    "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5",
    ("sha256", "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36"),
)
# (path, size, mtime_ns) of the other usps.h5 copies already warned about.
_WARNED_OTHER_COPY: set[tuple[str, int, int]] = set()
# Pixel ranges: ESL files in [-1, 1], usps.h5 in [0, 1] ((x + 1) / 2).
_ESL_RANGE = (-1.0, 1.0)
_H5_RANGE = (0.0, 1.0)
_SUBSETS = ("train", "test")
_SIDE = 16
# usps.h5 cannot be downloaded again, but the ESL files are read without it.
_H5_FIX = (
    "replace it with an intact copy, or delete it so that the ESL files "
    "zip.train.gz and zip.test.gz are read instead (downloaded when missing)"
)

DESCR = """\
USPS handwritten digits
-----------------------
Digits 0-9 scanned from envelopes by the U.S. Postal Service, deslanted and
size-normalised to 16x16 grey levels, as distributed with "The Elements of
Statistical Learning". 7291 training images (1194, 1005, 731, 658, 652, 556,
664, 645, 542, 644 per class) and 2007 test images (359, 264, 198, 166, 200,
160, 170, 147, 166, 177 per class), in the original ESL row order.

``data`` is float32 of shape (n, 1, 16, 16) with values in [0, 1] (the ESL
values in [-1, 1] mapped by (x + 1) / 2; 0 is background), ``images`` the
same pixels as (n, 16, 16), ``target`` int64 in 0..9.

Read from ``usps/usps.h5`` (groups ``train``/``test`` with ``data`` and
``target``) when present, else from the ESL files ``usps/zip.train.gz`` and
``usps/zip.test.gz``, which are downloaded when missing
(https://hastie.su.domains/ElemStatLearn/datasets/).

Y. Le Cun et al., "Handwritten digit recognition with a back-propagation
network", NIPS 1990. J. J. Hull, "A database for handwritten text recognition
research", IEEE TPAMI 16(5), 1994.
"""


def _read_h5(path: Path, subset: str) -> tuple[np.ndarray, np.ndarray]:
    h5py = _import_optional("h5py")
    # Opened here so that a missing or unreadable file keeps its own OSError;
    # h5py reports damaged bytes as OSError, or KeyError for a damaged index.
    with open(path, "rb") as fh:
        try:
            with h5py.File(fh, "r") as f:
                data = f[subset]["data"][()]
                target = f[subset]["target"][()]
        except KeyError as exc:
            raise _bad_file(
                path,
                f"it has no '{subset}/data' and '{subset}/target' datasets",
                _H5_FIX,
            ) from exc
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise _bad_file(path, f"not a readable HDF5 file ({exc})", _H5_FIX) from exc
    return np.asarray(data, dtype=np.float32), np.asarray(target)


def _read_esl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an ESL ``zip.*.gz`` file: per line a label then 256 values."""
    with open(path, "rb") as fh:
        try:
            with gzip.open(fh, "rt") as text, warnings.catch_warnings():
                # An empty file is reported below, not as loadtxt's warning.
                warnings.filterwarnings("ignore", "loadtxt: input contained no data")
                table = np.loadtxt(text, dtype=np.float64, ndmin=2)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise _bad_file(path, f"not a valid gzip file ({exc})") from exc
        except ValueError as exc:  # text that is not a table of numbers
            raise _bad_file(path, f"not a table of numbers ({exc})") from exc
    if table.shape[0] == 0:
        raise _bad_file(path, "it holds no data")
    if table.shape[1] != 1 + _SIDE * _SIDE:
        raise _bad_file(
            path,
            f"expected {1 + _SIDE * _SIDE} values per line (label and "
            f"{_SIDE}x{_SIDE} pixels), found {table.shape[1]}",
        )
    labels = table[:, 0]
    if not np.array_equal(labels, np.round(labels)):
        raise _bad_file(path, "its labels are not whole numbers")
    pixels = table[:, 1:]
    _check_pixels(path, "", pixels, _ESL_RANGE, _REDOWNLOAD)
    # ESL pixels are in [-1, 1]; map to [0, 1] like usps.h5.
    data = ((pixels + 1.0) / 2.0).astype(np.float32)
    return data, labels


def _check_pixels(
    path: Path, subset: str, pixels: np.ndarray, bounds: tuple[float, float], fix: str
) -> None:
    """Refuse pixels that are not finite or lie outside ``bounds``: neither
    format has a digest that would catch them (see :func:`load_usps`)."""
    what = f"the {subset} pixels" if subset else "its pixels"
    low, high = bounds
    finite = np.isfinite(pixels)
    if not finite.all():
        raise _bad_file(
            path,
            f"{what} must be finite numbers in [{low:g}, {high:g}], but "
            f"{int(pixels.size - finite.sum())} of them are NaN or infinite",
            fix,
        )
    if pixels.size and not (pixels.min() >= low and pixels.max() <= high):
        hint = (
            " (grey levels 0..255? usps.h5 holds them divided by 255)"
            if bounds == _H5_RANGE and pixels.min() >= 0 and pixels.max() <= 255
            else ""
        )
        raise _bad_file(
            path,
            f"{what} must lie in [{low:g}, {high:g}], but they range over "
            f"[{pixels.min():g}, {pixels.max():g}]{hint}",
            fix,
        )


def _is_registered_h5(path: Path) -> bool:
    """Whether ``path`` is the registered usps.h5 (sha256, stamp-cached)."""
    try:
        _verify_local(path, _FILES[_H5_NAME])
    except ChecksumError:
        return False
    return True


def _warn_other_copy(path: Path) -> None:
    """Say once per process (and file version) that another usps.h5 is used."""
    stat = path.stat()
    stamp = (str(path), stat.st_size, stat.st_mtime_ns)
    if stamp in _WARNED_OTHER_COPY:
        return
    _WARNED_OTHER_COPY.add(stamp)
    algorithm, digest = _FILES[_H5_NAME].checksum
    warnings.warn(
        f"Data file {str(path)!r} is not the registered usps.h5 ({algorithm} "
        f"{digest}); it is used because its pixels are finite and in [0, 1] "
        "and its labels in 0..9, but its content is not verified. Replace it "
        "with the registered copy, or delete it to read the ESL files "
        "zip.train.gz and zip.test.gz instead.",
        UserWarning,
        stacklevel=3,  # the caller of load_usps
    )


def load_usps(
    *,
    subset: str = "train",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the USPS handwritten digits (10 classes, 16x16 grey images).

    =================   ==========================
    Classes             10 (digits 0-9)
    Samples             7291 train, 2007 test
    Image shape         (1, 16, 16)
    Values              float32 in [0, 1]
    =================   ==========================

    ``usps/usps.h5`` in the data directory (see :func:`get_data_home`) is used
    when present (reading it needs ``h5py``); otherwise the ESL text file
    ``usps/zip.train.gz`` or ``usps/zip.test.gz`` is read, and downloaded
    when missing.

    What is checked: ``usps.h5`` is compared with the sha256 of the
    registered copy (hashed once, then trusted while its size and mtime stay
    the same). A ``usps.h5`` with another digest is accepted only after its
    values are validated (other legitimate copies exist), with a warning
    once per process: its pixels must be finite and in [0, 1] and its labels
    whole numbers in 0..9, else a ``ValueError`` names the file and what is
    wrong (e.g. a copy holding grey levels 0..255). No checksum is known for
    the ESL files, so a download is kept with a warning and a local copy is
    not verified; their pixels must be finite and in [-1, 1] (mapped to
    [0, 1]) and their labels whole numbers in 0..9. Every file's pixels and
    labels are validated the same way, whatever its digest.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which split to load.
    data_home : str or path-like, default=None
        Data directory; default from :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise ``FileNotFoundError`` instead of downloading a missing
        file.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``data`` (float32, shape (n, 1, 16, 16), in [0, 1]),
        ``images`` (the same pixels as (n, 16, 16)), ``target`` (int64,
        shape (n,)), ``target_names`` (the digits 0-9), ``subset`` and
        ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If neither file is present and the ESL file cannot be downloaded.
    ImportError
        If ``usps.h5`` is used and ``h5py`` is not installed.
    ValueError
        If the file read is corrupt, truncated or does not hold the expected
        data (shapes, finite pixels in the format's range, labels 0..9); the
        message names the file, what is wrong and how to recover.

    Examples
    --------
    >>> from sktransfer.datasets import load_usps
    >>> X, y = load_usps(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((2007, 1, 16, 16), dtype('float32'), array([9, 6, 3, 6, 6]))
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {list(_SUBSETS)}, got {subset!r}.")
    path = get_data_home(data_home) / _SUBDIR / _H5_NAME
    if path.is_file():
        registered = _is_registered_h5(path)
        pixels, labels = _read_h5(path, subset)
        fix = _H5_FIX
    else:
        registered = True  # nothing to warn about: the ESL files have no digest
        path = _fetch_file(
            _FILES[f"zip.{subset}.gz"],
            _SUBDIR,
            data_home,
            download_if_missing,
            alternatives=(_H5_NAME,),
        )
        pixels, labels = _read_esl(path)
        fix = _REDOWNLOAD

    if pixels.ndim != 2 or pixels.shape[1] != _SIDE * _SIDE:
        raise _bad_file(
            path, f"the {subset} data has shape {pixels.shape}, expected (n, 256)", fix
        )
    if len(labels) != len(pixels) or (
        labels.size and not (labels.min() >= 0 and labels.max() <= 9)
    ):
        raise _bad_file(path, f"the {subset} labels do not match the data", fix)
    if labels.dtype.kind not in "iu" and not np.array_equal(labels, np.round(labels)):
        raise _bad_file(path, f"the {subset} labels are not whole numbers", fix)
    if fix is _H5_FIX:  # the ESL reader has checked its own range
        _check_pixels(path, subset, pixels, _H5_RANGE, fix)
        if not registered:
            _warn_other_copy(path)
    data = np.ascontiguousarray(pixels.reshape(-1, 1, _SIDE, _SIDE))
    target = labels.astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=data[:, 0],
        target=target,
        target_names=np.arange(10),
        subset=subset,
        DESCR=DESCR,
    )
