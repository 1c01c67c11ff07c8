"""Information maximisation on the target's predictions."""

from __future__ import annotations

from numbers import Real

import torch

from .._params import Interval
from .base import AdaptationLoss


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-8))).sum(dim=-1)


def certainty_weights(proba: torch.Tensor) -> torch.Tensor:
    """``1 + exp(-H(p_i))`` for each row ``p_i`` of class probabilities: 2 for
    a one-hot row, down to ``1 + 1/k`` for a uniform one over ``k`` classes
    (CDAN+E's and MCC's weights)."""
    return 1.0 + torch.exp(-_entropy(proba))


class InformationMaximization(AdaptationLoss):
    """Make target predictions confident and diverse (as in SHOT, Liang et al. 2020).

    ``mean_i H(p_i) - diversity * H(mean_i p_i)`` over the class
    probabilities ``p_i`` of a target batch: the first term pushes each target
    sample away from the decision boundaries, the second keeps the batch from
    collapsing into one class. It looks at target rows only, so it takes the
    network's logits (``layer=-1``, the last block) rather than hidden features.

    Parameters
    ----------
    layer : int or str, default=-1
        Where the logits are taken: the last block by default.
    diversity : float, default=1.0
        Weight of the diversity term.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import InformationMaximization
    >>> im = InformationMaximization()
    >>> sharp = torch.eye(4) * 10
    >>> flat = torch.zeros(4, 4)
    >>> bool(im.loss(sharp, sharp, module=None, progress=0.0)
    ...      < im.loss(flat, flat, module=None, progress=0.0))
    True
    """

    needs_source_data = False  # target predictions only
    reads_class_probabilities = True

    _constraints = {**AdaptationLoss._constraints, "diversity": Interval(Real, 0)}

    def __init__(self, layer=-1, diversity=1.0):
        self.layer = layer
        self.diversity = diversity

    def loss(self, source, target, *, module, progress):
        proba = target.softmax(dim=1)
        return _entropy(proba).mean() - self.diversity * _entropy(proba.mean(dim=0))
