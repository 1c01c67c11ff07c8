"""Memory layout of a convolutional network while it trains.

On CPU, oneDNN runs 2-D convolutions, batch norm, ReLU and pooling faster on
channels-last tensors (NHWC) than on the default NCHW layout (measured in
docs/benchmarks.md, "Speed and memory"). On CUDA, cuDNN's
Tensor Core convolutions (float16, bfloat16, and TF32 float32 from Ampere on)
work in NHWC: in NCHW each convolution pays for transposes, so NVIDIA
recommends channels-last there (``benchmarks/gpu_check.py`` measures both
layouts on a GPU). A network whose code assumes NCHW strides
(``x.view(n, -1)`` after a convolution) breaks in channels-last, so the layout
is only used when a forward pass (on the CPU, before the network moves to its
device) shows that the network gives the same output in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from .modes import eval_mode

MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
# Where "auto" trains convolutional networks channels-last.
_CHANNELS_LAST_DEVICES = ("cpu", "cuda")


def _forward_eval(module: nn.Module, example: torch.Tensor) -> torch.Tensor:
    """Output for ``example`` in eval mode, without gradients; modes restored."""
    with eval_mode(module), torch.no_grad():
        return module(example)


def _same(a: object, b: object) -> bool:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return False
    if a.shape != b.shape:
        return False
    # Convolution algorithms differ between layouts: equal up to rounding.
    scale = float(b.abs().max()) if b.numel() else 1.0
    return bool(torch.allclose(a, b, rtol=1e-3, atol=1e-4 * max(scale, 1.0)))


def choose_memory_format(
    module: nn.Module, example: torch.Tensor, requested: str, device: str
) -> str:
    """Put ``module`` in the memory format to train in, and return its name.

    Parameters
    ----------
    module : nn.Module
        The network, in the default (contiguous) layout; converted in place
        when channels-last is chosen.
    example : Tensor
        Two training samples.
    requested : {"auto", "contiguous", "channels_last"}
        ``"auto"`` picks channels-last for a network with 2-D convolutions on
        image batches on CPU or CUDA when it gives the same output in it.
        ``"channels_last"`` asks for it on any device and raises a
        ``ValueError`` when the network cannot take it.
    device : str
        Where the network trains.

    Returns
    -------
    str
        ``"channels_last"`` or ``"contiguous"``.
    """
    if requested == "contiguous":
        return "contiguous"
    has_conv = any(isinstance(m, nn.Conv2d) for m in module.modules())
    if requested == "auto" and not (
        has_conv
        and example.ndim == 4
        and torch.device(device).type in _CHANNELS_LAST_DEVICES
    ):
        return "contiguous"
    if example.ndim != 4:
        raise ValueError(
            'memory_format="channels_last" needs image batches of shape '
            f"(n, C, H, W); got samples of shape {tuple(example.shape[1:])}."
        )
    reference = _forward_eval(module, example)
    module.to(memory_format=torch.channels_last)
    try:
        output = _forward_eval(
            module, example.contiguous(memory_format=torch.channels_last)
        )
        problem = None if _same(output, reference) else "a different output"
    except RuntimeError as exc:  # e.g. .view() on a channels-last tensor
        problem = f"an error ({exc})"
    if problem is None:
        return "channels_last"
    module.to(memory_format=torch.contiguous_format)
    if requested == "channels_last":
        raise ValueError(
            f"The network gives {problem} in the channels-last memory format; "
            'use memory_format="contiguous" (or "auto").'
        )
    return "contiguous"


def restore_memory_format(module: nn.Module) -> None:
    """Give ``module``'s 4-D weights the default layout back after training."""
    module.to(memory_format=torch.contiguous_format)


def is_channels_last(module: nn.Module) -> bool:
    """Whether the module's 4-D tensors are channels-last (those whose two
    layouts differ: a 1-channel kernel is both; ``False`` when none is)."""
    telling = [
        t.is_contiguous(memory_format=torch.channels_last)
        for t in (*module.parameters(), *module.buffers())
        if t.ndim == 4
        and t.is_contiguous() != t.is_contiguous(memory_format=torch.channels_last)
    ]
    return bool(telling) and all(telling)


@contextlib.contextmanager
def kept_layout(module: nn.Module) -> Iterator[nn.Module]:
    """Inside the block ``module``'s layout may change; the layout it had
    before is given back on exit (the network may be someone else's)."""
    was = is_channels_last(module)
    try:
        yield module
    finally:
        module.to(memory_format=torch.channels_last if was else torch.contiguous_format)


@contextlib.contextmanager
def channels_last(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` with channels-last 4-D weights inside the block, its own
    layout given back on exit."""
    with kept_layout(module):
        yield module.to(memory_format=torch.channels_last)
