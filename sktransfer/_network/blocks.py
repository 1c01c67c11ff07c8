"""Blocks of a network in forward order, and freezing a prefix of them.

A *block* is a layer that owns parameters (``Conv2d``, ``Linear``,
``Embedding``, ...) together with the normalisation layers (batch, layer,
group, instance norm) that directly follow it in the forward pass. Blocks are
ordered by when the forward pass first finishes them, found by tracing one
forward pass; layers the forward pass never calls come last, in registration
order. Freezing a block means: its parameters get no gradient and stay out of
the optimizer, and its normalisation layers stay in eval mode, so their running
statistics do not move either.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral

import torch
from torch import nn

from .modes import eval_mode

NORM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)


@dataclass
class Block:
    """One freezable unit: a parameterised layer and the norms that follow it."""

    layers: list[str]
    parameters: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.layers[0] or "<root>"


def trace_blocks(
    module: nn.Module, example: torch.Tensor
) -> tuple[list[Block], torch.Tensor]:
    """Run one forward pass in eval mode; return the blocks and the output.

    Each layer's training mode is restored afterwards; no statistics change.
    """
    names = {m: n for n, m in module.named_modules()}
    order: list[nn.Module] = []

    def record(mod: nn.Module, args: object, output: object) -> None:
        if mod not in order:
            order.append(mod)

    owners = [
        m
        for m in module.modules()
        if any(True for _ in m.parameters(recurse=False))
        or (isinstance(m, NORM_LAYERS) and any(True for _ in m.buffers(recurse=False)))
    ]
    handles = [m.register_forward_hook(record) for m in owners]
    try:
        with eval_mode(module), torch.no_grad():
            output = module(example)
    finally:
        for handle in handles:
            handle.remove()
    order += [m for m in owners if m not in order]

    blocks: list[Block] = []
    for mod in order:
        own = [
            f"{names[mod]}.{p}".lstrip(".")
            for p, _ in mod.named_parameters(recurse=False)
        ]
        if isinstance(mod, NORM_LAYERS) and blocks:
            blocks[-1].layers.append(names[mod])
            blocks[-1].parameters += own
            blocks[-1].norms.append(names[mod])
        else:
            norms = [names[mod]] if isinstance(mod, NORM_LAYERS) else []
            blocks.append(Block([names[mod]], own, norms))
    return blocks, output


def select_frozen(
    blocks: Sequence[Block], freeze_depth: int | str | Sequence[str]
) -> list[Block]:
    """The blocks that ``freeze_depth`` freezes (see ``TransferClassifier``)."""
    n = len(blocks)
    listing = ", ".join(b.name for b in blocks)
    if isinstance(freeze_depth, Integral) and not isinstance(freeze_depth, bool):
        k = int(freeze_depth)
        if abs(k) > n:
            raise ValueError(
                f"freeze_depth={k} but the network has only {n} blocks ({listing})."
            )
        frozen = list(blocks[:k]) if k >= 0 else list(blocks[: n + k])
    elif isinstance(freeze_depth, str) or (
        isinstance(freeze_depth, Sequence)
        and all(isinstance(p, str) for p in freeze_depth)
    ):
        patterns = [freeze_depth] if isinstance(freeze_depth, str) else freeze_depth
        frozen = [b for b in blocks if _matches(b, patterns)]
        unused = [p for p in patterns if not any(_matches(b, [p]) for b in blocks)]
        if unused:
            raise ValueError(
                f"freeze_depth pattern(s) {unused} match no layer or parameter; "
                f"the blocks are: {listing}."
            )
    else:
        raise TypeError(
            "freeze_depth must be an int or a layer-name pattern (str) or a list "
            f"of them; got {freeze_depth!r}."
        )
    if n and len(frozen) == n:
        raise ValueError(
            f"freeze_depth={freeze_depth!r} freezes all {n} blocks ({listing}): "
            "nothing would be left to train."
        )
    return frozen


def _matches(block: Block, patterns: Sequence[str]) -> bool:
    names = block.layers + block.parameters
    return any(fnmatch.fnmatchcase(name, p) for p in patterns for name in names)


def freeze(module: nn.Module, blocks: Sequence[Block]) -> None:
    """Stop gradients for the parameters of ``blocks``."""
    frozen = {p for b in blocks for p in b.parameters}
    for name, param in module.named_parameters():
        if name in frozen:
            param.requires_grad_(False)


def frozen_norm_names(blocks: Sequence[Block]) -> tuple[str, ...]:
    """Names of the normalisation layers of ``blocks``, kept in eval mode."""
    return tuple(n for b in blocks for n in b.norms)


def resolve_layer(module: nn.Module, blocks: Sequence[Block], layer: int | str) -> str:
    """The module name that ``layer`` designates.

    An int indexes ``blocks`` (negative from the end) and designates the
    block's last module (after its normalisation layer); a str must name a
    module of ``module.named_modules()``.
    """
    if isinstance(layer, str):
        names = [name for name, _ in module.named_modules() if name]
        if layer not in names:
            raise ValueError(
                f"layer={layer!r} is not a module of the network; "
                f"the modules are: {', '.join(names)}."
            )
        return layer
    n = len(blocks)
    if not -n <= layer < n:
        listing = ", ".join(f"{i}: {b.name}" for i, b in enumerate(blocks))
        raise ValueError(
            f"layer={layer} is out of range: the network has {n} blocks "
            f"({listing}); use -{n} <= layer < {n} or a module name."
        )
    return blocks[layer].layers[-1]
