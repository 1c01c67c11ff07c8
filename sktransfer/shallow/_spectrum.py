"""Covariances as thin eigen-decompositions, for dense or sparse rows.

A sample covariance of ``n`` rows has rank at most ``n - 1``. With fewer rows
than features (bag-of-words, one-hot), its eigen-decomposition comes from the
``n x n`` Gram matrix of the centred rows instead of the ``d x d`` covariance:
exact, in ``O(n^2 d)`` instead of ``O(d^3)``, and without densifying sparse
rows. Powers of ``C + reg * I`` are then applied to rows through the thin
factors, never forming a ``d x d`` matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse


@dataclass(frozen=True)
class Spectrum:
    """``cov(X) = vectors @ diag(values) @ vectors.T`` exactly, with
    orthonormal ``vectors`` of shape ``(d, r)``; and the mean of ``X``."""

    mean: np.ndarray
    vectors: np.ndarray
    values: np.ndarray

    def power_rows(self, X, regularization: float, power: float) -> np.ndarray:
        """Rows of ``X`` times ``(cov + regularization * I) ** power``
        (dense result; ``X`` dense or sparse)."""
        scale = regularization**power
        extra = (self.values + regularization) ** power - scale
        projected = np.asarray(X @ self.vectors)
        dense = X.toarray() if sparse.issparse(X) else np.asarray(X)
        return scale * dense + (projected * extra) @ self.vectors.T


def spectrum(X) -> Spectrum:
    """The exact thin eigen-decomposition of the unbiased covariance of the
    rows of ``X`` (an ndarray or a scipy sparse matrix, at least 2 rows)."""
    n, d = X.shape
    mean = np.asarray(X.mean(axis=0)).ravel()
    if not sparse.issparse(X) and n > d:
        centred = np.asarray(X) - mean
        with np.errstate(over="ignore", invalid="ignore"):  # the caller checks
            cov = np.atleast_2d(centred.T @ centred) / (n - 1)
        if not np.isfinite(cov).all():
            return Spectrum(mean, np.eye(d), np.full(d, np.inf))
        values, vectors = linalg.eigh(cov, driver="evd")
        return Spectrum(mean, vectors, np.clip(values, 0.0, None))
    # Gram route: the centred Gram matrix H G H has the covariance's non-zero
    # eigenvalues (times n - 1); its eigenvectors map to the covariance's.
    gram = X @ X.T
    gram = gram.toarray() if sparse.issparse(gram) else np.asarray(gram)
    row = gram.mean(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        centred_gram = gram - row[:, None] - row[None, :] + row.mean()
    if not np.isfinite(centred_gram).all():
        return Spectrum(mean, np.eye(d), np.full(d, np.inf))
    values, vectors = linalg.eigh((centred_gram + centred_gram.T) / 2, driver="evd")
    # Directions of eigenvalues below 1e-10 of the largest are left in the
    # null space: their share of the covariance is below rounding, and
    # dividing by their square root would amplify rounding errors.
    keep = values > max(values.max(), 0.0) * 1e-10
    values, vectors = values[keep], vectors[:, keep]
    # X_c.T @ v without centring X (which would densify a sparse X); the
    # columns are orthonormal: ||X_c.T v||^2 = v.T H G H v = value.
    directions = np.asarray(X.T @ vectors) - np.outer(mean, vectors.sum(axis=0))
    directions /= np.sqrt(values)
    return Spectrum(mean, directions, values / (n - 1))
