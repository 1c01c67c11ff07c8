"""DANN: domain-adversarial training through a gradient reversal layer."""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import nn

from .._params import Interval
from .base import AdaptationLoss


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; multiplies the gradient by ``-scale`` backward."""
    return _ReverseGradient.apply(x, scale)


class DANN(AdaptationLoss):
    """Domain-adversarial neural network loss (Ganin et al., JMLR 2016).

    A domain classifier learns to tell source from target features while the
    network, through a gradient reversal layer, learns features it cannot
    tell apart. The classifier (linear, batch norm, ReLU, linear) ends in one
    logit trained with binary cross-entropy, so it does learn; the reversal
    coefficient warms up as
    ``2 / (1 + exp(-gamma * progress)) - 1``. Its weight under
    ``adaptation_weight="auto"`` is 0.3 (why: :doc:`/benchmarks`).

    Parameters
    ----------
    layer : int or str, default=-2
        Where the features are taken (see :class:`AdaptationLoss`).
    hidden_units : int, default=100
        Width of the domain classifier's hidden layer.
    gamma : float, default=10.0
        Steepness of the warm-up of the reversal coefficient; ``0`` turns the
        warm-up off (coefficient 1 from the start).

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import DANN
    >>> dann = DANN(hidden_units=8)
    >>> critic = dann.build(n_features=4)
    >>> loss = dann.loss(torch.randn(6, 4), torch.randn(6, 4) + 1,
    ...                  module=critic, progress=0.5)
    >>> loss.shape
    torch.Size([])
    """

    # Measured on the digit tasks: docs/benchmarks.md, "Default adaptation weights".
    default_weight = 0.3

    _constraints = {
        **AdaptationLoss._constraints,
        "hidden_units": Interval(Integral, 1),
        "gamma": Interval(Real, 0),
    }

    def __init__(self, layer=-2, hidden_units=100, gamma=10.0):
        self.layer = layer
        self.hidden_units = hidden_units
        self.gamma = gamma

    def build(self, n_features: int) -> nn.Module:
        # Batch normalisation keeps the critic working when the network
        # answers the reversed gradient by inflating its feature norms.
        return nn.Sequential(
            nn.Linear(n_features, self.hidden_units),
            nn.BatchNorm1d(self.hidden_units),
            nn.ReLU(),
            nn.Linear(self.hidden_units, 1),
        )

    def coefficient(self, progress: float) -> float:
        """The gradient reversal coefficient at ``progress`` in [0, 1]."""
        if not self.gamma:
            return 1.0
        return 2.0 / (1.0 + math.exp(-self.gamma * progress)) - 1.0

    def loss(self, source, target, *, module, progress):
        features = torch.cat([source, target])
        logits = module(reverse_gradient(features, self.coefficient(progress)))
        domain = torch.cat([torch.zeros(len(source)), torch.ones(len(target))]).to(
            logits
        )
        return F.binary_cross_entropy_with_logits(logits.squeeze(1), domain)
