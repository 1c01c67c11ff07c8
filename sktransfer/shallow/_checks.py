"""Checks of the shallow estimators' numeric parameters, each a clear
``ValueError`` naming the parameter and the value it got."""

from __future__ import annotations

import numbers

import numpy as np


def positive_int(value, name: str) -> int:
    """An integer of at least 1 (not a bool), or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def positive_float(value, name: str, *, zero: bool = False) -> float:
    """A finite number above 0 (at least 0 with ``zero``), or a ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number, got {value!r}.")
    return float(value)
