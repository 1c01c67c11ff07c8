"""Prepare the target network: build, copy weights, trace blocks, freeze, lay out.

Torch only: nothing here knows of skorch or of the estimators. The result is
one immutable :class:`PreparedNetwork` that a training strategy receives.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .blocks import Block, freeze, frozen_norm_names, select_frozen, trace_blocks
from .layout import choose_memory_format
from .split import safe_split
from .weights import copy_matching_weights, fit_head, fresh_copy, transfer_report


class Cut(NamedTuple):
    """Where a network is cut so that its frozen prefix is computed once."""

    prefix: Callable[[torch.Tensor], torch.Tensor]
    rest: Callable[[torch.Tensor], object]
    layer: str  # the first module of the first trainable block
    hidden: torch.Tensor  # the prefix's output for the two example rows


@dataclass(frozen=True)
class PreparedNetwork:
    """A target network ready to train, and what was done to it.

    Attributes
    ----------
    module : nn.Module
        The network: source weights copied in, frozen blocks frozen, in its
        training memory layout, on ``device``.
    blocks, frozen : tuple of Block
        All blocks in forward order, and the frozen ones.
    report : pandas.DataFrame
        The transfer report (one row per parameter).
    memory_format : str
        ``"channels_last"`` or ``"contiguous"``.
    device : str
        Where the network is.
    example : Tensor
        Two training rows, on ``device``: what every check runs on.
    """

    module: nn.Module
    blocks: tuple[Block, ...]
    frozen: tuple[Block, ...]
    report: pd.DataFrame
    memory_format: str
    device: str
    example: torch.Tensor

    @property
    def frozen_norms(self) -> tuple[str, ...]:
        """Names of the frozen normalisation layers (kept in eval mode)."""
        return frozen_norm_names(self.frozen)

    @cached_property
    def cut(self) -> Cut | None:
        """The exact cut at the first trainable block, or ``None``.

        Computed on first use (a forward pass on the two example rows), since
        only the frozen-prefix strategy asks.
        """
        found = safe_split(self.module, self.blocks, self.frozen, self.example)
        if found is None:
            return None
        (prefix, rest), layer, hidden = found
        return Cut(prefix, rest, layer, hidden)


def prepare(
    source,
    X: np.ndarray,
    n_outputs: int,
    *,
    module=None,
    module_kwargs: dict | None = None,
    default_module: type[nn.Module],
    transfer: str = "weights",
    freeze_depth=0,
    freeze_head: bool = False,
    memory_format: str = "contiguous",
    device: str = "cpu",
    outputs_name: str = "outputs",
) -> PreparedNetwork:
    """Build the target network from ``source`` and prepare it for training.

    Parameters
    ----------
    source : ResolvedSource or None
        What the estimator's ``source`` resolved to.
    X : ndarray
        The training inputs (two rows are used for the checks).
    n_outputs : int
        Width of the network's output (classes, or regression targets).
    module, module_kwargs
        The estimator's ``module`` and its ``module__*`` parameters.
    default_module : nn.Module class
        What to build when neither ``module`` nor the source gives a network.
    transfer, freeze_depth, memory_format, device
        The estimator's parameters of the same names.
    freeze_head : bool
        Also freeze the last block (an adaptation loss that keeps the
        source's hypothesis fixed, SHOT).
    outputs_name : str
        What the output columns are, for messages ("classes").
    """
    given = module
    module = _build(source, X, n_outputs, given, module_kwargs or {}, default_module)
    transferred: dict = {}
    if source is not None and transfer == "structure":
        if source.module is None and given is None:
            raise ValueError(
                "transfer='structure' reuses the source's architecture, but "
                f"the source ({source.description}) holds weights only; pass "
                "a torch.nn.Module or a fitted estimator as source."
            )
        module = fresh_copy(module)
    elif source is not None and source.state_dict is not None:
        transferred = copy_matching_weights(module, source.state_dict)
    # A copy: an in-place first layer must not write into the caller's X.
    example = torch.tensor(X[:2])
    # module=None and a source network: its copy, first layer included.
    kept = given is None and source is not None and source.module is not None
    blocks, output = trace(module, example, _kept_hint(module) if kept else "")
    _check_output(output, len(example), n_outputs, outputs_name)
    frozen = select_frozen(blocks, freeze_depth)
    if freeze_head and all(b is not blocks[-1] for b in frozen):
        frozen.append(blocks[-1])
    freeze(module, frozen)
    layout = choose_memory_format(module, example, memory_format, device)
    weights_moved = bool(source and source.state_dict and transfer == "weights")
    report = transfer_report(module, transferred, blocks, frozen, weights_moved)
    if weights_moved and not (report["status"] == "transferred").any():
        raise ValueError(
            f"No parameter of the source ({source.description}) matches the "
            "target network by name and shape, so nothing would be "
            f"transferred. Source tensors: {_shapes(source.state_dict)}; "
            f"target: {_shapes(module.state_dict())}."
            + (
                _weights_only_hint(type(module).__name__)
                if given is None and source.module is None
                else ""
            )
        )
    module.to(device)
    return PreparedNetwork(
        module=module,
        blocks=tuple(blocks),
        frozen=tuple(frozen),
        report=report,
        memory_format=layout,
        device=device,
        example=torch.tensor(X[:2], device=device),
    )


def _build(source, X, n_outputs, module, kwargs, default) -> nn.Module:
    """The target network: ``module``, else the source's (head resized), else
    ``default``; a class is instantiated, an instance deep-copied."""
    if module is None and source is not None and source.module is not None:
        if kwargs:  # they would be silently ignored
            raise ValueError(
                "module__* parameters need module to be a class; with module=None "
                f"the source's architecture is reused as it is. Got {sorted(kwargs)}."
            )
        return fit_head(copy.deepcopy(source.module), n_outputs)
    module = default if module is None else module
    if isinstance(module, nn.Module):
        if kwargs:
            raise ValueError(
                "module__* parameters need module to be a class, not an "
                f"instance; got {sorted(kwargs)} with a {type(module).__name__}."
            )
        return copy.deepcopy(module)  # never train the caller's module
    if not (inspect.isclass(module) and issubclass(module, nn.Module)):
        raise TypeError(
            "module must be a torch.nn.Module class or instance, or None; "
            f"got {module!r}."
        )
    inferred = {
        "n_classes": n_outputs,
        "n_outputs": n_outputs,
        "n_features": int(np.prod(X.shape[1:])),
        "in_channels": X.shape[1] if X.ndim == 4 else None,
    }
    accepted = inspect.signature(module).parameters
    open_ended = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown and not open_ended:
        raise ValueError(
            f"module__{unknown[0]} is not a parameter of {module.__name__}; its "
            f"parameters are {sorted(accepted)}."
        )
    given = dict(kwargs)
    kwargs = dict(kwargs)
    for name, value in inferred.items():
        if name in accepted and name not in kwargs and value is not None:
            kwargs[name] = value
    try:
        return module(**kwargs)
    except (TypeError, ValueError, RuntimeError, IndexError) as exc:
        # A value of the wrong kind reaches torch's layers (module__hidden_units
        # ="1" fails in torch.empty): say which parameters built the network.
        settings = ", ".join(f"module__{k}={v!r}" for k, v in given.items())
        raise ValueError(
            f"{module.__name__} could not be built "
            f"{'with ' + settings if settings else 'from the data'}: "
            f"{type(exc).__name__}: {exc}. Check the module__* parameters "
            f"against {module.__name__}'s documentation."
        ) from exc


def trace(
    module: nn.Module, example: torch.Tensor, hint: str = ""
) -> tuple[list[Block], object]:
    """The network's blocks and output, traced on ``example``; a clear error
    when the network cannot take inputs of that shape (``hint`` ends it)."""
    try:
        return trace_blocks(module, example)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            "The network cannot take X with samples of shape "
            f"{tuple(example.shape[1:])}: {exc}. Map X to the input the "
            "network expects (e.g. with sktransfer.ImageMapping) or pass a "
            f"network that takes it.{hint}"
        ) from exc


def _kept_hint(module: nn.Module) -> str:
    """What to do when the source's own network (kept, first layer included,
    because ``module=None``) cannot take X."""
    name = type(module).__name__
    try:
        accepted = inspect.signature(type(module)).parameters
    except (TypeError, ValueError):  # no signature to read
        accepted = {}
    sized = [p for p in ("n_features", "in_channels") if p in accepted]
    rebuild = (
        f"pass module={name} (the class, with the module__* parameters the "
        f"source was built with) to rebuild it for this input ({name} takes "
        f"{' and '.join(sized)}, which fit infers from X)"
        if sized
        else "pass module=<a class> to build it anew (fit gives n_features, "
        "in_channels and n_classes to a class that takes them)"
    )
    return (
        " A source given as an instance (a fitted estimator or a "
        "torch.nn.Module) keeps its network as it is, first layer included, "
        f"when module=None: {rebuild}, with the source's weights copied "
        "wherever name and shape agree."
    )


def _weights_only_hint(built: str) -> str:
    """What to do when a source of weights only (a state dict or its file)
    matches nothing in the network built without ``module=``."""
    return (
        f" Without module=, the default network ({built}) was built for these "
        "weights; a state dict holds no architecture: pass module=<the class "
        "the weights were saved from> (e.g. module=sktransfer.models.LeNet, "
        "with the module__* parameters it was built with), or the fitted "
        "estimator or torch.nn.Module itself as source."
    )


def _check_output(output, n: int, n_outputs: int, outputs_name: str) -> None:
    expected = (n, n_outputs)
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != expected:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else output
        raise ValueError(
            f"The network's output for {n} samples has shape {shape}, "
            f"but y has {n_outputs} {outputs_name}: expected {expected}."
        )


def _shapes(state_dict) -> dict:
    return {k: tuple(v.shape) for k, v in list(state_dict.items())[:8]}
