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
    """A finite number of ``kind`` (``Integral`` or ``Real``) in ``[low, high]``
    (``(low, ...`` with ``open_low``, ``..., high)`` with ``open_high``)."""

    def __init__(
        self,
        kind: type,
        low: float | None = None,
        high: float | None = None,
        *,
        open_low: bool = False,
        open_high: bool = False,
    ):
        self.kind, self.low, self.high, self.open_low = kind, low, high, open_low
        self.open_high = open_high

    def __call__(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if not math.isfinite(value):
            return False
        above = self.low is None or (
            value > self.low if self.open_low else value >= self.low
        )
        below = self.high is None or (
            value < self.high if self.open_high else value <= self.high
        )
        return above and below

    def __str__(self) -> str:
        noun = "an int" if self.kind is Integral else "a number"
        if self.kind is Real and self.low == 0 and self.high is None:
            return (
                "a positive number"
                if self.open_low
                else ("a non-negative number (finite)")
            )
        if self.low is not None and self.high is None:
            return f"{noun} {'>' if self.open_low else '>='} {self.low}"
        if self.low is not None:
            left = "(" if self.open_low else "["
            right = ")" if self.open_high else "]"
            return f"{noun} in {left}{self.low}, {self.high}{right}"
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


class SequenceOf:
    """A non-empty list or tuple whose items all meet ``rule``."""

    def __init__(self, rule):
        self.rule = rule

    def __call__(self, value) -> bool:
        return (
            isinstance(value, list | tuple)
            and len(value) > 0
            and all(self.rule(v) for v in value)
        )

    def __str__(self) -> str:
        return f"a non-empty list or tuple of items each {self.rule}"


class Subclass:
    """A class deriving from ``base`` (or, with ``instance``, an instance)."""

    def __init__(self, base: type, text: str, instance: bool = False):
        self.base, self.text, self.instance = base, text, instance

    def __call__(self, value) -> bool:
        if isinstance(value, type):
            return issubclass(value, self.base)
        return self.instance and isinstance(value, self.base)

    def __str__(self) -> str:
        return self.text


class CacheLocation:
    """A folder that exists, or a ``joblib.Memory`` with a location: where
    frozen-prefix outputs are shared on disk (a typo is not a new folder)."""

    def __call__(self, value) -> bool:
        return cache_directory(value) is not None

    def __str__(self) -> str:
        return "the path of an existing folder, or a joblib.Memory with a location"


def cache_directory(value) -> str | None:
    """The folder ``cache_frozen`` names, or ``None``."""
    import os

    from joblib import Memory

    if isinstance(value, Memory):
        value = value.location
    if isinstance(value, str | os.PathLike) and value != "auto":
        path = os.path.expanduser(os.fspath(value))
        return path if os.path.isdir(path) else None
    return None


class Device:
    """A torch device that exists here, or ``"auto"`` (CUDA when available)."""

    def __call__(self, value) -> bool:
        return resolve_device(value, check=False) is not None

    def __str__(self) -> str:
        return '"auto", "cpu", or a device torch has here (e.g. "cuda:0")'


def resolve_device(device, check: bool = True):
    """``device`` as a ``str`` torch understands (``"auto"`` resolved), or
    ``None`` (``check=False``) / a ValueError when this machine lacks it."""
    import torch

    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        parsed = None
    available = parsed is not None and (
        parsed.type == "cpu"
        or (parsed.type == "cuda" and torch.cuda.is_available()
            and (parsed.index or 0) < torch.cuda.device_count())
        or (parsed.type == "mps" and torch.backends.mps.is_available())
    )  # fmt: skip
    if available:
        return str(parsed)
    if not check:
        return None
    raise InvalidParameterError(
        f'device={device!r} is not available on this machine; use "cpu" or '
        '"auto" (CUDA when available).'
    )


class IsCallable:
    def __call__(self, value) -> bool:
        return callable(value)

    def __str__(self) -> str:
        return "callable"


def check_params(
    estimator, constraints: Mapping[str, object], prefix: str = ""
) -> None:
    """Check every parameter named in ``constraints`` against its rules;
    messages name it ``prefix + name`` (e.g. ``adaptation__gamma``)."""
    for name, rules in constraints.items():
        rules = rules if isinstance(rules, list) else [rules]
        value = getattr(estimator, name)
        if any(value is None if rule is None else rule(value) for rule in rules):
            continue
        described = [str(r) for r in rules if r is not None]
        if None in rules:
            described.append("None")
        raise InvalidParameterError(
            f"{prefix}{name} must be {' or '.join(described)}; got {value!r}."
        )
