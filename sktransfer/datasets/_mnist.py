"""MNIST handwritten digits, read from the IDX files (gzip-compressed or not)."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import RemoteFile, _bad_file, _fetch_file, _verify_local, get_data_home

__all__ = ["load_mnist"]

_SUBDIR = "mnist"
_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def _remote(filename: str, checksum: tuple[str, str]) -> RemoteFile:
    return RemoteFile(filename, _MIRROR + filename, checksum)


# Digests of the original LeCun files. The sha256 digests of the ``.gz`` files
# were computed from byte-identical copies (see shared/data/mnist/PROVENANCE.md);
# no copy of the compressed training images was available, so that entry keeps
# the published md5, which still detects corrupt and truncated files.
_FILES: dict[str, RemoteFile] = {
    f.filename: f
    for f in [
        _remote(
            "train-images-idx3-ubyte.gz",
            ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ),
        _remote(
            "train-labels-idx1-ubyte.gz",
            (
                "sha256",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
        ),
        _remote(
            "t10k-images-idx3-ubyte.gz",
            (
                "sha256",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
        ),
        _remote(
            "t10k-labels-idx1-ubyte.gz",
            (
                "sha256",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        ),
    ]
}

# The same files uncompressed (as Kaggle and many mirrors ship them): sha256 of
# the decompressed bytes of the verified originals; for the training images,
# of the uncompressed copy whose provenance is in shared/data/mnist.
_UNCOMPRESSED: dict[str, RemoteFile] = {
    gz: RemoteFile(gz[: -len(".gz")], _MIRROR + gz, ("sha256", digest))
    for gz, digest in [
        (
            "train-images-idx3-ubyte.gz",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ]
}

_SUBSETS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_IDX_UBYTE = 0x08

DESCR = """\
MNIST handwritten digits
------------------------
Grey-level images of the digits 0-9, size-normalised and centred by their
centre of mass in a 28x28 frame. 60000 training images (5923, 6742, 5958,
6131, 5842, 5421, 5918, 6265, 5851, 5949 per class) and 10000 test images
(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009 per class).

``data`` is float32 of shape (n, 1, 28, 28) with values in [0, 1] (the stored
bytes divided by 255; 0 is background), ``images`` the same pixels as
(n, 28, 28), ``target`` int64 in 0..9.

Source: http://yann.lecun.com/exdb/mnist/ (original IDX files, downloaded from
the ossci-datasets mirror used by torchvision).

Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
applied to document recognition", Proceedings of the IEEE 86(11), 1998.
"""


def _read_idx(path: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes with ``ndim`` axes; a name ending in
    ``.gz`` is gzip-compressed, any other is the uncompressed form."""
    path = Path(path)
    # Opened here so that a missing or unreadable file keeps its own OSError;
    # only errors in the bytes below are reported as a bad file.
    with open(path, "rb") as fh:
        if path.suffix != ".gz":
            raw = fh.read()
        else:
            try:
                with gzip.open(fh, "rb") as gz:
                    raw = gz.read()
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise _bad_file(path, f"not a valid gzip file ({exc})") from exc
    expected = (_IDX_UBYTE << 8) | ndim
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != expected:
        found = "none (file too short)" if magic is None else f"{magic:#010x}"
        raise _bad_file(
            path,
            f"not an IDX file of unsigned bytes with {ndim} dimension(s): magic "
            f"number {found}, expected {expected:#010x}",
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _bad_file(path, "the IDX header is truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    size = math.prod(shape)
    if len(raw) - header != size:
        raise _bad_file(
            path,
            f"the IDX header announces shape {shape} ({size} bytes) but the "
            f"payload has {len(raw) - header} bytes",
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _local_or_fetch(
    name: str, data_home: str | os.PathLike[str] | None, download_if_missing: bool
) -> Path:
    """The verified path of IDX file ``name``: the ``.gz`` original when
    present, else its uncompressed form, else the ``.gz`` downloaded."""
    uncompressed = _UNCOMPRESSED[name]
    folder = get_data_home(data_home) / _SUBDIR
    if not (folder / name).is_file() and (folder / uncompressed.filename).is_file():
        path = folder / uncompressed.filename
        _verify_local(path, uncompressed)
        return path
    return _fetch_file(
        _FILES[name],
        _SUBDIR,
        data_home,
        download_if_missing,
        alternatives=(uncompressed.filename,),
    )


def load_mnist(
    *,
    subset: str = "test",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the MNIST handwritten digits (10 classes, 28x28 grey images).

    =================   ==========================
    Classes             10 (digits 0-9)
    Samples             60000 train, 10000 test
    Image shape         (1, 28, 28)
    Values              float32 in [0, 1]
    =================   ==========================

    The files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` are read
    from the ``mnist/`` folder of the data directory (see
    :func:`get_data_home`) and downloaded there, with checksum verification,
    when missing. Each may also be there uncompressed, without ``.gz`` (as
    Kaggle and many mirrors ship them); that form is read when the ``.gz`` is
    absent and is checked against the digest of the original's decompressed
    bytes. A read-only data directory is only read.

    Parameters
    ----------
    subset : {"test", "train"}, default="test"
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
        With attributes ``data`` (float32, shape (n, 1, 28, 28), in [0, 1]),
        ``images`` (the same pixels as (n, 28, 28)), ``target`` (int64,
        shape (n,)), ``target_names`` (the digits 0-9), ``subset`` and
        ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If a file is missing and cannot be downloaded.
    ChecksumError
        If a local file does not match its registered checksum (checked the
        first time it is read, then only when its size or mtime change).
    ValueError
        If a file is corrupt, truncated or not a valid IDX file; the message
        names the file and says how to recover.

    Examples
    --------
    >>> from sktransfer.datasets import load_mnist
    >>> mnist = load_mnist(subset="test")  # doctest: +SKIP
    >>> mnist.data.shape, mnist.data.dtype  # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('float32'))
    >>> mnist.target[:5]  # doctest: +SKIP
    array([7, 2, 1, 0, 4])
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {sorted(_SUBSETS)}, got {subset!r}.")
    paths = [
        _local_or_fetch(name, data_home, download_if_missing)
        for name in _SUBSETS[subset]
    ]
    pixels = _read_idx(paths[0], ndim=3)
    labels = _read_idx(paths[1], ndim=1)
    if pixels.shape[0] != labels.shape[0]:
        raise _bad_file(
            paths[1],
            f"{paths[0].name!r} holds {pixels.shape[0]} images but "
            f"{paths[1].name!r} holds {labels.shape[0]} labels",
            "delete both files so that they are downloaded again, or replace "
            "them with intact copies",
        )
    if labels.size and labels.max() > 9:
        raise _bad_file(paths[1], "it holds labels outside 0..9")

    data = (pixels.astype(np.float32) / np.float32(255.0))[:, np.newaxis]
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
