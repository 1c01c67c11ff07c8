"""The Gaussian kernel of the shallow methods (KMM, KLIEP, TCA) and its
width, on dense or sparse (CSR) rows.

Only the kernel matrices are dense: squared distances come from row norms
and row products, ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a . b``, so sparse
rows are never densified. Each caller bounds the size of its kernel
matrices (``KMM_MAX_SOURCE_ROWS``, KLIEP's ``n_centers``, TCA's
``max_samples``, the median heuristic's ``max_rows``).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ._checks import positive_float
from ._contract import stack


def bandwidth_value(value) -> float | None:
    """``bandwidth`` checked: ``None`` for ``"median"``, else a positive float."""
    if isinstance(value, str):
        if value == "median":
            return None
        raise ValueError(
            f"bandwidth must be 'median' or a positive number, got {value!r}."
        )
    return positive_float(value, "bandwidth")


def squared_norms(A) -> np.ndarray:
    """``||a||^2`` for each row of ``A`` (dense or sparse)."""
    if sparse.issparse(A):
        return np.asarray(A.multiply(A).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", A, A)


def products(A, B, times: float | None = None) -> np.ndarray:
    """``A @ B.T`` (``times * A @ B.T`` with ``times``) as a dense matrix,
    ``A`` and ``B`` dense or sparse."""
    out = A @ B.T if times is None else times * A @ B.T
    return out.toarray() if sparse.issparse(out) else out


def median_bandwidth(*blocks, rng, max_rows: int = 1000) -> float:
    """The median heuristic: the median Euclidean distance between distinct
    rows of the stacked ``blocks``, on at most ``max_rows`` rows drawn with
    ``rng``. 1.0 when every row is the same."""
    Z = stack(*blocks)
    if Z.shape[0] > max_rows:
        Z = Z[np.sort(rng.choice(Z.shape[0], max_rows, replace=False))]
    sq = squared_norms(Z)
    d2 = sq[:, None] + sq[None, :] - products(Z, Z, 2)
    d2 = d2[np.triu_indices(Z.shape[0], k=1)]
    d2 = d2[d2 > 1e-12 * max(float(sq.max()), 1.0)]
    return float(np.sqrt(np.median(d2))) if len(d2) else 1.0


def rbf_kernel(A, B, sigma: float) -> np.ndarray:
    """``exp(-||a - b||^2 / (2 sigma^2))`` for every row pair."""
    d2 = squared_norms(A)[:, None] + squared_norms(B)[None, :] - products(A, B, 2)
    np.maximum(d2, 0.0, out=d2)
    d2 *= -0.5 / sigma**2
    return np.exp(d2, out=d2)
