"""Office-Caltech10 with 800-bin SURF bag-of-words features (GFK release)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import RemoteFile, _bad_file, _fetch_file, _import_optional

__all__ = ["load_office_caltech10"]

_SUBDIR = "office_caltech10_surf"
# Pinned to the commit whose bytes the digests below were taken from.
_REPO_URL = (
    "https://github.com/viggin/domain-adaptation-toolbox/raw/"
    "2a991816a0ac39043b526c2b0cbe01bc844d8890/ToRelease_GFK/data/"
)
_DOMAINS: dict[str, RemoteFile] = {
    domain: RemoteFile(filename, _REPO_URL + filename, ("sha256", digest))
    for domain, filename, digest in [
        (
            "amazon",
            "amazon_SURF_L10.mat",
            "df32548b994e18d364c99e1f317e1fae100597259f0423a41b90f4f68187bb1f",
        ),
        (
            "webcam",
            "webcam_SURF_L10.mat",
            "a6a9c78b4b7181dfbb58bcfd351d4ebd737f171c31247b8884948aa156d3f700",
        ),
        (
            "dslr",
            "dslr_SURF_L10.mat",
            "44d673c68e1d07b837893aa74dba3b986e4a6cc3fd66f0dd357683bdef059216",
        ),
        (
            "caltech",
            "Caltech10_SURF_L10.mat",
            "4f9334c8ced489d5054de97a5fd51a61f017f3bcd1f38c9a85c6d78cb9d7bda5",
        ),
    ]
}

TARGET_NAMES = (
    "back_pack",
    "bike",
    "calculator",
    "headphones",
    "keyboard",
    "laptop_computer",
    "monitor",
    "mouse",
    "mug",
    "projector",
)
_N_FEATURES = 800

DESCR = """\
Office-Caltech10, SURF features
-------------------------------
The 10 object categories shared by the Office data set (domains amazon,
webcam, dslr) and Caltech-256 (domain caltech): back_pack, bike, calculator,
headphones, keyboard, laptop_computer, monitor, mouse, mug, projector.
Samples per domain: amazon 958, webcam 295, dslr 157, caltech 1123.

Each image is an 800-bin histogram of SURF descriptors quantised with a
codebook learnt by K-means on amazon images. ``data`` holds the raw counts as
float64 of shape (n, 800); ``target`` is int64 in 0..9 (the file's labels
1..10 minus one). The usual preprocessing is to divide each row by its sum,
then standardise each feature (z-score with ddof=0).

Source: the data of the Geodesic Flow Kernel release (``*_SURF_L10.mat``),
https://github.com/viggin/domain-adaptation-toolbox (ToRelease_GFK/data).

B. Gong, Y. Shi, F. Sha and K. Grauman, "Geodesic Flow Kernel for
Unsupervised Domain Adaptation", CVPR 2012. K. Saenko, B. Kulis, M. Fritz and
T. Darrell, "Adapting visual category models to new domains", ECCV 2010.
G. Griffin, A. Holub and P. Perona, "Caltech-256 object category data set",
Caltech technical report, 2007.
"""


def _read_mat(path: Path, loadmat: Callable[..., dict]) -> dict:
    """Read a MAT file, reporting damaged bytes as a bad file."""
    # Opened here so that a missing or unreadable file keeps its own OSError.
    # On damaged bytes scipy raises MatReadError, ValueError, TypeError,
    # IndexError, OSError, zlib.error, ZeroDivisionError, ...: any error while
    # parsing the open file means the file is bad.
    with open(path, "rb") as fh:
        try:
            return loadmat(fh)
        except Exception as exc:
            raise _bad_file(path, f"not a readable MAT file ({exc!r})") from exc


def load_office_caltech10(
    domain: str,
    *,
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
    as_frame: bool = False,
):
    """Load one domain of Office-Caltech10 (SURF bag-of-words features).

    =================   =================================================
    Classes             10 (``target_names``)
    Samples             amazon 958, webcam 295, dslr 157, caltech 1123
    Features            800 (raw SURF word counts, float64)
    =================   =================================================

    The file ``office_caltech10_surf/<domain>_SURF_L10.mat``
    (``Caltech10_SURF_L10.mat`` for caltech) is read from the data directory
    (see :func:`get_data_home`) and downloaded there, with a sha256 check,
    when missing. Reading it needs ``scipy``.

    Parameters
    ----------
    domain : {"amazon", "webcam", "dslr", "caltech"}
        Which domain to load.
    data_home : str or path-like, default=None
        Data directory; default from :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise ``FileNotFoundError`` instead of downloading a missing
        file.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame with columns ``surf_000`` ..
        ``surf_799``, ``target`` a pandas Series named ``"target"``, and the
        Bunch also holds ``frame``, both joined.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``data`` (shape (n, 800)), ``target`` (int64 in
        0..9), ``frame`` (DataFrame or None), ``feature_names``,
        ``target_names``, ``domain`` and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If the file is missing and cannot be downloaded.
    ImportError
        If ``scipy`` is not installed (checked before any download).
    ChecksumError
        If the local file does not match its registered sha256 (checked the
        first time it is read, then only when its size or mtime change).
    ValueError
        If the file is corrupt, truncated or does not hold the expected
        variables; the message names the file and says how to recover.

    Examples
    --------
    >>> from sktransfer.datasets import load_office_caltech10
    >>> dslr = load_office_caltech10("dslr")  # doctest: +SKIP
    >>> dslr.data.shape, str(dslr.target_names[dslr.target[0]])  # doctest: +SKIP
    ((157, 800), 'back_pack')
    >>> X, y = load_office_caltech10(
    ...     "webcam", return_X_y=True, as_frame=True
    ... )  # doctest: +SKIP
    >>> X.shape, y.name  # doctest: +SKIP
    ((295, 800), 'target')
    """
    # A str first: a list is unhashable, and naming several domains is a
    # question for several calls.
    if not isinstance(domain, str) or domain not in _DOMAINS:
        several = (
            " (one domain per call: load each domain of a list separately)"
            if isinstance(domain, list | tuple | set)
            else ""
        )
        raise ValueError(
            f"domain must be one of {list(_DOMAINS)}, got {domain!r}{several}."
        )
    # Before any download: a file that cannot be read is not worth fetching.
    loadmat = _import_optional("scipy.io").loadmat
    # The file is verified before it is parsed: scipy's MAT reader can even
    # crash the interpreter on damaged bytes.
    path = _fetch_file(_DOMAINS[domain], _SUBDIR, data_home, download_if_missing)
    mat = _read_mat(path, loadmat)
    if "fts" not in mat or "labels" not in mat:
        raise _bad_file(path, "it has no 'fts' and 'labels' variables")
    data = np.asarray(mat["fts"], dtype=np.float64)
    labels = np.asarray(mat["labels"]).ravel()
    if data.ndim != 2 or data.shape[1] != _N_FEATURES or len(labels) != len(data):
        raise _bad_file(
            path,
            f"expected fts of shape (n, {_N_FEATURES}) and n labels, got "
            f"{data.shape} and {labels.shape}",
        )
    if labels.size and not (labels.min() >= 1 and labels.max() <= 10):
        raise _bad_file(path, "its labels must be in 1..10")
    target = labels.astype(np.int64) - 1

    feature_names = [f"surf_{i:03d}" for i in range(_N_FEATURES)]
    frame = None
    if as_frame:
        pd = _import_optional("pandas")
        data = pd.DataFrame(data, columns=feature_names)
        target = pd.Series(target, name="target")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=np.array(TARGET_NAMES),
        domain=domain,
        DESCR=DESCR,
    )
