"""The interface every adaptation loss implements."""

from __future__ import annotations

import torch
from sklearn.base import BaseEstimator
from torch import nn


class AdaptationLoss(BaseEstimator):
    """Base class of the losses that pull source and target features together.

    A subclass stores its hyperparameters in ``__init__`` (so they are
    reachable as ``adaptation__<name>`` from ``TransferClassifier``'s
    ``set_params`` and ``GridSearchCV``) and implements :meth:`loss`. A loss
    with trainable parts (DANN's domain classifier) also implements
    :meth:`build`; ``TransferClassifier`` trains those parts with the network.

    Parameters
    ----------
    layer : int or str, default=-2
        Where the features are taken: an index into the network's blocks in
        forward order (``-2``: the penultimate block, e.g. LeNet's ``fc1``) or
        a module name.
    """

    def __init__(self, layer=-2):
        self.layer = layer

    def build(self, n_features: int) -> nn.Module | None:
        """The trainable parts of the loss for features of ``n_features``."""
        return None

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
        raise NotImplementedError
