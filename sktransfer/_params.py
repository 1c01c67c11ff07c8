"""Declarative parameter checks: each estimator lists its rules in one table.

``CONSTRAINTS = {"lr": Interval(Real, 0), "augment": [None, IsCallable()]}``:
a parameter passes when it meets any of its constraints (``None`` stands for
the value ``None``). :func:`check_params` raises
:class:`InvalidParameterError` naming the parameter, what it must be, and
the value it got.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a wrong value or type (both a ValueError and a TypeError)."""


class Interval:
    """A number of ``kind`` (``Integral`` or ``Real``) in ``[low, high]``, finite."""

    def __init__(self, kind: type, low: float | None = None, high: float | None = None):
        self.kind, self.low, self.high = kind, low, high

    def __call__(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if not math.isfinite(value):
            return False
        return (self.low is None or value >= self.low) and (
            self.high is None or value <= self.high
        )

    def __str__(self) -> str:
        noun = "an int" if self.kind is Integral else "a number"
        if self.kind is Real and self.low == 0 and self.high is None:
            return "a non-negative number (finite)"
        if self.low is not None and self.high is None:
            return f"{noun} >= {self.low}"
        if self.low is not None:
            return f"{noun} in [{self.low}, {self.high}]"
        return noun if self.kind is Integral else "a finite number"


class Options:
    """One of ``values``, compared by type and value (so ``0`` is not ``False``)."""

    def __init__(self, *values, text: str | None = None):
        self.values, self.text = values, text

    def __call__(self, value) -> bool:
        return any(
            type(value) is type(option) and value == option for option in self.values
        )

    def __str__(self) -> str:
        return self.text or f"one of {self.values}"


class InstanceOf:
    """An instance of ``types``, described as ``text``."""

    def __init__(self, types, text: str):
        self.types, self.text = types, text

    def __call__(self, value) -> bool:
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        if isinstance(value, bool) and bool not in types:
            return False  # True is an int to Python, not to a user
        return isinstance(value, types)

    def __str__(self) -> str:
        return self.text


class IsCallable:
    def __call__(self, value) -> bool:
        return callable(value)

    def __str__(self) -> str:
        return "callable"


def check_params(estimator, constraints: Mapping[str, object]) -> None:
    """Check every parameter named in ``constraints`` against its rules."""
    for name, rules in constraints.items():
        rules = rules if isinstance(rules, list) else [rules]
        value = getattr(estimator, name)
        if any(value is None if rule is None else rule(value) for rule in rules):
            continue
        described = [str(r) for r in rules if r is not None]
        if None in rules:
            described.append("None")
        raise InvalidParameterError(
            f"{name} must be {' or '.join(described)}; got {value!r}."
        )
