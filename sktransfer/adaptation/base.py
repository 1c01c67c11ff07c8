"""The interface every adaptation loss implements, and the batch it receives."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import ClassVar

import torch
from sklearn.base import BaseEstimator
from torch import nn

from .._params import InstanceOf, InvalidParameterError, check_params


@dataclass(frozen=True)
class DomainBatch:
    """Everything one training step across domains knows, for a loss to use.

    Attributes
    ----------
    X_source, y_source : Tensor
        A batch of labelled source rows (encoded labels, or regression
        targets).
    X_target : Tensor
        A batch of target rows, labelled or not, drawn for the adaptation
        loss.
    X_labelled, y_labelled : Tensor
        A batch of the labelled target rows (empty when there are none).
    logits_source, logits_target, logits_labelled : Tensor
        The network's outputs for the three batches, in training mode, with
        gradients (``augment`` applied to the inputs first).
    features_source, features_target : Tensor or None
        The outputs of the loss's ``layer`` (not flattened) for the source and
        target batches; ``None`` when the loss's ``layer`` is ``None``.
    progress : float
        Fraction of the training done, in [0, 1] (for schedules).
    step : int
        Number of training steps taken before this one.
    parts : nn.Module or None
        What the loss's :meth:`AdaptationLoss.build_for` returned (a domain
        critic, a teacher network), on the training device.
    network : nn.Module
        The target network being trained.
    target_rows : Tensor or None
        The indices of ``X_target``'s rows among the fit's target rows (the
        order of :class:`TargetPass`), e.g. to look up per-row pseudo-labels.
    """

    X_source: torch.Tensor
    y_source: torch.Tensor
    X_target: torch.Tensor
    X_labelled: torch.Tensor
    y_labelled: torch.Tensor
    logits_source: torch.Tensor
    logits_target: torch.Tensor
    logits_labelled: torch.Tensor
    features_source: torch.Tensor | None
    features_target: torch.Tensor | None
    progress: float
    step: int
    parts: nn.Module | None
    network: nn.Module
    target_rows: torch.Tensor | None = None


@dataclass(frozen=True)
class TargetPass:
    """The network's outputs for every target row (in the order of the
    target's ``X``), in evaluation mode and without gradients, at the start
    of an epoch.

    Attributes
    ----------
    logits : Tensor of shape (n_target, n_outputs)
        The network's outputs.
    features : Tensor of shape (n_target, n_features) or None
        The flattened outputs of the loss's ``layer`` (``None`` when the
        loss's ``layer`` is ``None``).
    """

    logits: torch.Tensor
    features: torch.Tensor | None


class AdaptationLoss(BaseEstimator):
    """Base class of the losses that adapt the network to the target domain.

    A subclass stores its hyperparameters in ``__init__`` (so they are
    reachable as ``adaptation__<name>`` from ``TransferClassifier``'s
    ``set_params`` and ``GridSearchCV``) and implements one of:

    - :meth:`loss`, for a loss between source and target *features* at
      ``layer`` (MMD, Deep CORAL, DANN);
    - :meth:`batch_loss`, for a loss that needs more of the step: logits,
      labels, the network (:class:`DomainBatch` lists what it gets).

    A loss with trainable parts (DANN's domain classifier) implements
    :meth:`build`; one whose parts depend on the network (a teacher copy)
    implements :meth:`build_for`. The estimator trains those parts with the
    network (parameters that require gradients), calls :meth:`after_step`
    after every optimizer step (e.g. to update a mean teacher) and
    :meth:`after_training` when training ends. A loss that overrides
    :meth:`before_epoch` gets the network's outputs for every target row at
    the start of each epoch (e.g. to compute pseudo-labels).

    A loss that looks at target rows only sets ``needs_source_data = False``:
    it can then adapt a classifier whose source gives weights but no rows
    (source-free adaptation).

    What a loss needs of the training is declared here, once: these class
    variables, ``layer``, and which of :meth:`build`, :meth:`build_for` and
    :meth:`before_epoch` it overrides. The training reads them in one place
    (``LossNeeds`` in ``sktransfer.adaptation.objective``); a new loss on the
    logits (``batch_loss`` alone) is one class, with no change elsewhere.

    Parameters
    ----------
    layer : int, str or None, default=-2
        Where the features are taken: an index into the network's blocks in
        forward order (``-2``: the penultimate block, e.g. LeNet's ``fc1``), a
        module name, or ``None`` for a loss that uses no features (no hook is
        placed).
    """

    #: Whether the loss compares source and target rows (``False``: it looks
    #: at target rows only and works without source data).
    needs_source_data: ClassVar[bool] = True

    #: μ when the estimator's ``adaptation_weight`` is ``"auto"`` (how each
    #: loss's value was chosen: :doc:`/benchmarks`).
    default_weight: ClassVar[float] = 1.0

    #: Whether the features are what ``layer`` takes in rather than what it
    #: puts out (``layer=-1`` then means what the network's head reads).
    reads_layer_input: ClassVar[bool] = False

    #: Whether the loss reads the network's outputs as class scores (a
    #: softmax over them): meaningless for a regressor's outputs.
    reads_class_probabilities: ClassVar[bool] = False

    #: Rules for the parameters (see ``sktransfer._params``); a subclass
    #: extends them with its own: ``{**AdaptationLoss._constraints, ...}``.
    _constraints: ClassVar[dict] = {
        "layer": [
            None,
            InstanceOf(
                (Integral, str), "an int (a block index) or a str (a module name)"
            ),
        ],
    }

    def __init__(self, layer=-2):
        self.layer = layer

    def check_params(self, prefix: str = "adaptation__") -> None:
        """Raise a clear error for a parameter outside its rules."""
        check_params(self, self._constraints, prefix)
        if self.reads_features() and self.layer is None:
            raise InvalidParameterError(
                f"{prefix}layer must be an int (a block index) or a str (a "
                f"module name) for {type(self).__name__}, which reads the "
                "features at a layer; got None."
            )

    @classmethod
    def reads_features(cls) -> bool:
        """Whether the loss reads the features at ``layer``: the default
        ``batch_loss`` hands them to ``loss``; an override may read others."""
        return cls.batch_loss is AdaptationLoss.batch_loss

    def build(self, n_features: int) -> nn.Module | None:
        """The trainable parts of the loss for features of ``n_features``."""
        return None

    def build_for(self, network: nn.Module, n_features: int | None) -> nn.Module | None:
        """The parts of the loss for ``network``; by default :meth:`build`.

        ``n_features`` is the number of values per sample at ``layer``
        (``None`` when ``layer`` is ``None``). Parameters of the returned
        module that require gradients are trained with the network.
        """
        return None if n_features is None else self.build(n_features)

    def batch_loss(self, batch: DomainBatch) -> torch.Tensor:
        """The loss for one training step; by default :meth:`loss` on the
        flattened features of the batch."""
        return self.loss(
            batch.features_source.flatten(1),
            batch.features_target.flatten(1),
            module=batch.parts,
            progress=batch.progress,
        )

    def freezes_head(self) -> bool:
        """Whether training keeps the network's last block (its head) fixed."""
        return False

    def before_epoch(self, target: TargetPass, parts: nn.Module | None) -> None:
        """Called at the start of each epoch when a subclass overrides it, with
        the network's outputs for every target row (:class:`TargetPass`)."""

    def after_step(self, batch: DomainBatch) -> None:
        """Called after each optimizer step (the parameters are updated)."""

    def after_training(self, network: nn.Module, parts: nn.Module | None) -> None:
        """Called once when training ends (e.g. to keep a teacher's weights)."""

    def loss(
        self,
        source: torch.Tensor,
        target: torch.Tensor,
        *,
        module: nn.Module | None,
        progress: float,
    ) -> torch.Tensor:
        """The discrepancy between ``source`` and ``target`` features.

        Parameters
        ----------
        source, target : Tensor of shape (n, n_features)
            Features of a source and a target batch (flattened).
        module : nn.Module or None
            What :meth:`build` returned, being trained.
        progress : float
            Fraction of the training done, in [0, 1] (for schedules).
        """
        raise NotImplementedError(
            f"{type(self).__name__} implements neither loss nor batch_loss."
        )
