"""Loaders for the benchmark data sets, in the style of ``sklearn.datasets``.

Each loader reads canonical files from a data directory (see
:func:`get_data_home`) and downloads a missing file, with checksum
verification, unless ``download_if_missing=False``. A local file with a
registered checksum is verified the first time it is read, and again only
when its size or modification time change; the result is kept in a sidecar
file ``.<name>.verified`` (or in memory where the directory is read-only).
A damaged file raises an error that names it and says how to recover.
"""

from ._base import ChecksumError, get_data_home
from ._mnist import load_mnist
from ._office_caltech import load_office_caltech10
from ._usps import load_usps

__all__ = [
    "ChecksumError",
    "get_data_home",
    "load_mnist",
    "load_office_caltech10",
    "load_usps",
]
