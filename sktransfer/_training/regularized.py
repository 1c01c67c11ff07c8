"""What a regularised fit hands its skorch net, where its features are, and
the net mixin that adds the penalty to every training step.

The estimator's ``regularization`` (a
:class:`~sktransfer.regularization.Regularization`) is resolved against the
prepared network once per fit: which trainable
parameters were transferred and which start fresh (from the transfer
report), and which modules' outputs the penalty needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .._network import Cut, PreparedNetwork
from .._network.blocks import resolve_layer
from .._network.modes import capture, eval_mode
from .._precision import as_float32
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


class Regularized:
    """A penalty added to the training loss (``regularization``, a
    :class:`~sktransfer._training.regularized.RegularizationSetup`), and
    recorded per batch as ``reg_loss``.

    The training steps capture the penalty's layers during their forward
    pass (:meth:`regularization_capture`) and add the penalty to their loss
    (:meth:`regularized`). Without ``regularization`` both do nothing, so the
    loss is the very same tensor.
    """

    def __init__(self, *args, regularization: RegularizationSetup | None = None, **kw):
        self.regularization = regularization
        super().__init__(*args, **kw)

    def initialize_module(self):
        super().initialize_module()
        # Recorded at the first training step, on the training device.
        self.regularization_start_ = None
        if self.regularization is not None:
            # Saved with the network (skorch maps them to the device at load).
            attributes = self.cuda_dependent_attributes_
            if "regularization_start_" not in attributes:
                self.cuda_dependent_attributes_ = [*attributes, "regularization_start_"]
        return self

    def regularization_capture(self):
        """A context collecting the outputs of the penalty's layers:
        ``{module name: [output]}`` once the forward pass is done."""
        setup = self.regularization
        if setup is None or not setup.layers:
            return contextlib.nullcontext({})
        return _capturing(self.module_, set(setup.layers.values()))

    def regularized(self, loss: torch.Tensor, captured: dict) -> torch.Tensor:
        """``loss`` plus the penalty (``loss`` itself without one)."""
        setup = self.regularization
        if setup is None:
            return loss
        params = dict(self.module_.named_parameters())
        if self.regularization_start_ is None:
            # The starting point L2-SP pulls towards: the transferred weights
            # as training starts, before the first step moves them.
            self.regularization_start_ = {
                name: params[name].detach().clone() for name in setup.transferred
            }
        features = {}
        for layer, name in setup.layers.items():
            if not captured[name]:
                raise ValueError(
                    f"The regularization takes features at layer={layer!r} "
                    f"({name!r}), which the training forward pass did not run: "
                    "choose a layer of the network's forward pass."
                )
            features[layer] = as_float32(captured[name][0])
        step = RegularizationStep(
            network=self.module_,
            transferred={
                name: (params[name], start)
                for name, start in self.regularization_start_.items()
            },
            fresh={name: params[name] for name in setup.fresh},
            features=features,
            device=loss.device,
        )
        penalty = setup.regularization.penalty(step)
        self.history.record_batch("reg_loss", penalty.item())
        return loss + penalty


@contextlib.contextmanager
def _capturing(module: torch.nn.Module, names: set[str]) -> Iterator[dict]:
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(capture(module, name, first_only=True))
            for name in names
        }
