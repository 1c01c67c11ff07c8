"""The joint objective L_source + lambda * L_target + mu * L_adapt, and what
an adaptation loss needs of the training (:class:`LossNeeds`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from .base import AdaptationLoss, DomainBatch


@dataclass(frozen=True)
class LossNeeds:
    """What an adaptation loss needs of the training, read once from what its
    class declares: the one place the training code (and the estimators)
    looks at the kind of a loss.

    A loss says it as data (the class variables of
    :class:`~sktransfer.adaptation.AdaptationLoss`) or by the methods it
    overrides; a new loss on the logits, say, declares nothing and is one
    class, with no change elsewhere.
    """

    #: Compares source and target rows (``needs_source_data``); ``False``:
    #: target rows only, so it can adapt a source's weights without its rows.
    source_rows: bool = False
    #: Where its features are taken (``layer``): ``None``, no layer tapped.
    layer: int | str | None = None
    #: The features are what ``layer`` takes in (``reads_layer_input``).
    layer_input: bool = False
    #: ``loss`` gets the features at ``layer`` (``reads_features()``).
    features: bool = False
    #: Reads the outputs as class scores (``reads_class_probabilities``).
    class_probabilities: bool = False
    #: Has parts of its own, trained or kept with the network (a domain
    #: critic, a teacher): it overrides ``build`` or ``build_for``.
    parts: bool = False
    #: Wants the outputs for every target row at each epoch's start: it
    #: overrides ``before_epoch``.
    target_pass: bool = False

    @classmethod
    def of(cls, loss: AdaptationLoss | None) -> LossNeeds:
        """What ``loss`` needs; nothing without a loss."""
        if loss is None:
            return cls()
        kind = type(loss)
        return cls(
            source_rows=loss.needs_source_data,
            layer=loss.layer,
            layer_input=loss.reads_layer_input,
            features=loss.reads_features(),
            class_probabilities=loss.reads_class_probabilities,
            parts=any(
                getattr(kind, name) is not getattr(AdaptationLoss, name)
                for name in ("build", "build_for")
            ),
            target_pass=kind.before_epoch is not AdaptationLoss.before_epoch,
        )


@dataclass(frozen=True)
class DomainSetup:
    """What a training step across domains needs, fixed for one ``fit``;
    ``needs`` is what its adaptation loss needs (:class:`LossNeeds`)."""

    target_weight: float
    adaptation: AdaptationLoss | None
    adaptation_weight: float
    layer: str | None  # module whose output the adaptation loss sees
    layer_input: bool = False  # ...or whose input
    n_features: int | None = None  # values per sample at ``layer``
    total_steps: int = 1
    has_labelled_target: bool = True
    has_source_data: bool = True  # False: source-free adaptation

    @cached_property
    def needs(self) -> LossNeeds:
        """What the adaptation loss needs, read once."""
        return LossNeeds.of(self.adaptation)

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
