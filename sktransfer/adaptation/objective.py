"""The joint objective L_source + lambda * L_target + mu * L_adapt."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import AdaptationLoss, DomainBatch


@dataclass(frozen=True)
class DomainSetup:
    """What a training step across domains needs, fixed for one ``fit``."""

    target_weight: float
    adaptation: AdaptationLoss | None
    adaptation_weight: float
    layer: str | None  # module whose output the adaptation loss sees
    layer_input: bool = False  # ...or whose input
    n_features: int | None = None  # values per sample at ``layer``
    total_steps: int = 1
    has_labelled_target: bool = True
    has_source_data: bool = True  # False: source-free adaptation

    def loss_terms(self) -> list[str]:
        """Names of the loss terms that ``joint_objective`` records."""
        terms = ["source_loss"] if self.has_source_data else []
        if self.target_weight and self.has_labelled_target:
            terms.append("target_loss")
        if self.adaptation is not None and self.adaptation_weight:
            terms.append("adapt_loss")
        return terms


def joint_objective(
    criterion: nn.Module, batch: DomainBatch, setup: DomainSetup
) -> tuple[torch.Tensor, dict[str, float]]:
    """``L_source + target_weight * L_target + adaptation_weight * L_adapt``.

    ``L_source`` and ``L_target`` are mean losses over the labelled source and
    target rows of the batch; a term whose weight is 0 or whose batch is empty
    is left out, so it adds no gradient at all (without source data,
    ``L_source`` is left out).
    """
    terms: list[torch.Tensor] = []
    parts: dict[str, float] = {}
    if len(batch.y_source):
        source = criterion(batch.logits_source, batch.y_source)
        terms.append(source)
        parts["source_loss"] = source.item()
    if setup.target_weight and len(batch.y_labelled):
        target = criterion(batch.logits_labelled, batch.y_labelled)
        terms.append(setup.target_weight * target)
        parts["target_loss"] = target.item()
    if setup.adaptation is not None and setup.adaptation_weight:
        adapt = setup.adaptation.batch_loss(batch)
        terms.append(setup.adaptation_weight * adapt)
        parts["adapt_loss"] = adapt.item()
    # Never empty: fit refuses source-free adaptation with nothing to learn.
    return sum(terms[1:], terms[0]), parts
