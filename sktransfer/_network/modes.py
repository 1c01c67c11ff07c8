"""Running a network in a chosen mode, and reading one layer's output.

Two patterns every part of the library needs: a forward pass in eval (or
training) mode that leaves every layer's own mode as it was, and the output
of one named layer during a forward pass.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Collection, Iterator

import torch
from torch import nn


@contextlib.contextmanager
def mode(
    module: nn.Module, training: bool = False, keep_eval: Collection[nn.Module] = ()
) -> Iterator[None]:
    """Training or eval mode inside the block; every layer's mode restored after.

    Restored layer by layer, so frozen norm layers inside a training network
    stay in eval mode. ``keep_eval`` layers (frozen norms) are in eval mode
    even when ``training`` is true. Parents come first in ``modules()``, so
    children end with their own mode.
    """
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.train(training)
        for layer in keep_eval:
            layer.eval()
        yield
    finally:
        for m, was in modes:
            m.train(was)


def eval_mode(module: nn.Module) -> contextlib.AbstractContextManager[None]:
    """Eval mode inside the block; every layer's own mode restored after."""
    return mode(module, training=False)


_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = (
    weakref.WeakKeyDictionary()
)
_LOCKS_LOCK = threading.Lock()


def lock_for(module: nn.Module) -> threading.Lock:
    """One lock per network, for work that temporarily changes it (hooks,
    modes): threads sharing a network take turns instead of mixing up."""
    with _LOCKS_LOCK:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = _LOCKS[module] = threading.Lock()
        return lock


class StopForward(Exception):
    """Raised by a capturing hook whose caller needs nothing after the layer."""


@contextlib.contextmanager
def capture(
    module: nn.Module,
    layer: str,
    *,
    first_only: bool = False,
    stop: bool = False,
    inputs: bool = False,
) -> Iterator[list[object]]:
    """Collect the outputs of ``module.get_submodule(layer)`` while in the block.

    Yields the list the outputs (with ``inputs``: the first positional
    inputs) are appended to. ``first_only`` keeps only the first output of a
    layer called several times; ``stop`` raises :class:`StopForward` right
    after the layer, so a caller that suppresses it skips the rest of the
    forward pass. The hook is removed on exit.
    """
    captured: list[object] = []

    def hook(mod: nn.Module, args: tuple, output: object) -> None:
        if not (first_only and captured):
            captured.append(args[0] if inputs else output)
        if stop:
            raise StopForward

    handle = module.get_submodule(layer).register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def output_size(
    module: nn.Module, layer: str, example: torch.Tensor, *, inputs: bool = False
) -> tuple[int, int | None]:
    """Number of values per sample that ``layer`` outputs (with ``inputs``:
    takes in) for ``example``, and the network's number of outputs (``None``
    unless it returns one 2-D tensor), from one forward pass."""
    with (
        capture(module, layer, first_only=True, inputs=inputs) as out,
        eval_mode(module),
    ):
        with torch.no_grad():
            result = module(example)
    n_outputs = (
        result.shape[1]
        if isinstance(result, torch.Tensor) and result.ndim == 2
        else None
    )
    return int(out[0][0].numel()), n_outputs
