"""Shape-aware weight transfer, structure transfer, and the transfer report."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from .blocks import Block


def copy_matching_weights(
    target: nn.Module, state_dict: Mapping[str, torch.Tensor]
) -> dict[str, tuple[int, ...] | None]:
    """Copy every source tensor whose name and shape match into ``target``.

    Parameters and buffers (e.g. batch-norm running statistics) are copied in
    place; the rest of ``target`` keeps its fresh initialisation.

    Returns
    -------
    source_shapes : dict
        For each parameter of ``target``, the shape of the source tensor of
        the same name, or ``None`` when the source has none.
    """
    own = target.state_dict()
    with torch.no_grad():
        for name, tensor in own.items():
            src = state_dict.get(name)
            if src is not None and src.shape == tensor.shape:
                tensor.copy_(src)
    return {
        name: tuple(state_dict[name].shape) if name in state_dict else None
        for name, _ in target.named_parameters()
    }


def fresh_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module``, every layer re-initialised (structure transfer)."""
    module = copy.deepcopy(module)
    for layer in module.modules():
        reset = getattr(layer, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def fit_head(module: nn.Module, n_classes: int) -> nn.Module:
    """Replace the last ``nn.Linear`` when its width is not ``n_classes``.

    The new head is freshly initialised, so a 10-class source network can be
    fine-tuned for a 5-class target.
    """
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        return module
    name, head = linears[-1]
    if head.out_features != n_classes:
        new = nn.Linear(head.in_features, n_classes, bias=head.bias is not None)
        if not name:  # the whole module is a single Linear layer
            return new
        parent_name, _, attr = name.rpartition(".")
        setattr(module.get_submodule(parent_name), attr, new)
    return module


def transfer_report(
    module: nn.Module,
    source_shapes: Mapping[str, tuple[int, ...] | None],
    blocks: Sequence[Block],
    frozen: Sequence[Block],
    transferred: bool,
) -> pd.DataFrame:
    """One row per parameter: what was transferred, what was re-initialised
    (the source has it with another shape), and what is frozen."""
    block_of = {p: (i, b.name) for i, b in enumerate(blocks) for p in b.parameters}
    frozen_params = {p for b in frozen for p in b.parameters}
    rows = []
    for name, param in module.named_parameters():
        shape = tuple(param.shape)
        src = source_shapes.get(name)
        index, layer = block_of.get(name, (-1, ""))
        rows.append(
            {
                "parameter": name,
                "block": index,
                "layer": layer,
                "shape": shape,
                "source_shape": src,
                "status": "transferred" if transferred and src == shape else "fresh",
                # The source has it, with another shape: it starts from scratch.
                "reinitialised": transferred and src is not None and src != shape,
                "trainable": name not in frozen_params,
            }
        )
    return pd.DataFrame(rows)
