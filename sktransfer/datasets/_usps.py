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
    RemoteFile,
    _bad_file,
    _fetch_file,
    _import_optional,
    get_data_home,
)

__all__ = ["load_usps"]

_SUBDIR = "usps"
_H5_NAME = "usps.h5"
_ESL_URL = "https://hastie.su.domains/ElemStatLearn/datasets/"

# usps.h5 has no public download address (the Kaggle copy needs a login), so
# only the ESL text files are downloadable. No digest of them is known here
# (no copy was available to compute one), so a download is kept with a warning
# and a local copy is not verified; the reader still rejects damaged files.
_FILES: dict[str, RemoteFile] = {
    name: RemoteFile(name, _ESL_URL + name, None)
    for name in ("zip.train.gz", "zip.test.gz")
}
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
    # ESL pixels are in [-1, 1]; map to [0, 1] like usps.h5.
    data = ((table[:, 1:] + 1.0) / 2.0).astype(np.float32)
    return data, labels


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
    when missing. No checksum is known for the ESL files, so a download is
    kept with a warning and a local copy is not verified; a damaged file is
    still rejected by the reader.

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
        data; the message names the file and says how to recover.

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
        pixels, labels = _read_h5(path, subset)
        fix = _H5_FIX
    else:
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
