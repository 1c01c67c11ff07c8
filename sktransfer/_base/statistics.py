"""Statistics that more than one family computes the same way."""

from __future__ import annotations

import numpy as np


def covariance(X: np.ndarray) -> np.ndarray:
    """Unbiased covariance of the columns, (d, d) even for one column."""
    return np.atleast_2d(np.cov(X, rowvar=False))
