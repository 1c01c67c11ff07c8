"""Mixed precision: which dtypes a fit may compute in, and the torch pieces.

``precision="float32"`` touches nothing (no autocast, no cast, no scaler), so
the default stays what it always was, bit for bit. ``"bfloat16"`` and
``"float16"`` run forward passes under :func:`torch.autocast`; the outputs are
cast back to float32 before any loss, so losses (adaptation losses and their
critics included) are computed in float32. ``"float16"`` also scales the loss
(:class:`torch.amp.GradScaler`): float16's smallest normal number is about
6e-5, and unscaled small gradients would flush to zero.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("float32", "bfloat16", "float16")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}

# GradScaler's own default; a module constant so a test can force overflows.
INIT_SCALE = 2.0**16


def check_precision(precision: str, device: str | None) -> None:
    """Refuse a precision that ``device`` cannot run (or runs badly).

    ``device`` is ``None`` when an accelerator (``net__accelerator``) places
    the network: it then owns mixed precision too.
    """
    if precision == "float32":
        return
    if device is None:
        raise ValueError(
            f"precision={precision!r} cannot be combined with an accelerator "
            "that places the network (net__accelerator): set mixed precision "
            "on the accelerator instead, e.g. Accelerator(mixed_precision='bf16'), "
            "and keep precision='float32'."
        )
    kind = torch.device(device).type
    is_available = getattr(torch.amp, "is_autocast_available", None)
    if not (is_available(kind) if is_available else kind in ("cpu", "cuda")):
        raise ValueError(
            f"precision={precision!r} needs torch.autocast, which this torch "
            f"does not have for device {device!r}; use precision='float32'."
        )
    if precision == "float16" and kind == "cpu":
        # torch emulates float16 arithmetic on most CPUs (docs/gpu.md).
        raise ValueError(
            "precision='float16' is for GPUs: on the CPU torch has no fast "
            "float16 arithmetic (it is emulated, far slower than float32). "
            "Use precision='bfloat16' on the CPU, or a CUDA device."
        )


def autocast(precision: str, device: str | None):
    """The context forward passes run in: :func:`torch.autocast`, or nothing."""
    if precision == "float32" or device is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=_DTYPES[precision])


def grad_scaler(precision: str, device: str | None):
    """A :class:`torch.amp.GradScaler` for float16, else ``None``."""
    if precision != "float16" or device is None:
        return None
    kind = torch.device(device).type
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(kind, init_scale=INIT_SCALE)
    return torch.cuda.amp.GradScaler(init_scale=INIT_SCALE)  # torch < 2.3


def as_float32(out):
    """Floating tensors in ``out`` (a tensor, or a tuple or list of them) as
    float32; anything else as it is."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, tuple | list):
        items = [as_float32(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    return out
