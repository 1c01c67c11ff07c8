"""What a regularised fit hands its skorch net, where its features are, and
the penalty every training step adds to its loss.

The estimator's ``regularization`` (a
:class:`~sktransfer.regularization.Regularization`) is resolved against the
prepared network once per fit: which trainable
parameters were transferred and which start fresh (from the transfer
report), and which modules' outputs the penalty needs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from .._network import Cut, PreparedNetwork
from .._network.blocks import resolve_layer
from .._network.modes import capture, eval_mode
from ..regularization import Regularization, RegularizationStep


@dataclass(frozen=True)
class RegularizationSetup:
    """A penalty resolved against one prepared network."""

    regularization: Regularization
    layers: dict[int | str, str]  # layer as the penalty gives it -> module name
    transferred: tuple[str, ...]  # trainable parameters from the source
    fresh: tuple[str, ...]  # trainable parameters that start fresh


def resolve_layers(
    prepared: PreparedNetwork, regularization: Regularization
) -> dict[int | str, str]:
    """The module name of each layer the penalty asks for; a bad layer is
    refused naming its parameter (``regularization__layer``)."""
    out = {}
    for path, layer in regularization.layers().items():
        try:
            out[layer] = resolve_layer(prepared.module, prepared.blocks, layer)
        except ValueError as exc:
            raise ValueError(f"regularization__{path}: {exc}") from exc
    return out


def regularization_setup(
    prepared: PreparedNetwork, regularization: Regularization
) -> RegularizationSetup:
    report = prepared.report
    trainable = report[report["trainable"]]
    transferred = trainable["status"] == "transferred"
    return RegularizationSetup(
        regularization=regularization,
        layers=resolve_layers(prepared, regularization),
        transferred=tuple(trainable.loc[transferred, "parameter"]),
        fresh=tuple(trainable.loc[~transferred, "parameter"]),
    )


def runs_after_cut(prepared: PreparedNetwork, cut: Cut, names: set[str]) -> bool:
    """Whether every module of ``names`` runs in ``cut.rest`` and none in
    ``cut.prefix``: their outputs then exist in the training steps on cached
    prefix outputs, as they would in the whole network's."""
    module = prepared.module
    with contextlib.ExitStack() as stack:
        seen = [stack.enter_context(capture(module, name)) for name in names]
        stack.enter_context(eval_mode(module))  # no statistics move
        stack.enter_context(torch.no_grad())
        hidden = cut.prefix(prepared.example)
        if any(seen):
            return False
        cut.rest(hidden)
        return all(seen)


def penalized(net, loss: torch.Tensor, layers: dict) -> torch.Tensor:
    """``loss`` plus the penalty of ``net.regularization``, recorded per batch
    as ``reg_loss``; ``layers`` holds the training step's tapped layers
    (``{(module name, False): float32 output}``, see
    :class:`~sktransfer._training.step.LayerTaps`)."""
    setup = net.regularization
    params = dict(net.module_.named_parameters())
    if net.regularization_start_ is None:
        # The starting point L2-SP pulls towards: the transferred weights
        # as training starts, before the first step moves them.
        net.regularization_start_ = {
            name: params[name].detach().clone() for name in setup.transferred
        }
    features = {}
    for layer, name in setup.layers.items():
        if (name, False) not in layers:
            raise ValueError(
                f"The regularization takes features at layer={layer!r} "
                f"({name!r}), which the training forward pass did not run: "
                "choose a layer of the network's forward pass."
            )
        features[layer] = layers[name, False]
    step = RegularizationStep(
        network=net.module_,
        transferred={
            name: (params[name], start)
            for name, start in net.regularization_start_.items()
        },
        fresh={name: params[name] for name in setup.fresh},
        features=features,
        device=loss.device,
    )
    penalty = setup.regularization.penalty(step)
    net.history.record_batch("reg_loss", penalty.item())
    return loss + penalty
