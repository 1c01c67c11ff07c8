"""Deep CORAL: match the covariances of source and target features."""

from __future__ import annotations

import torch

from .base import AdaptationLoss


def covariance(X: torch.Tensor) -> torch.Tensor:
    """Unbiased covariance matrix of the rows of ``X``."""
    centred = X - X.mean(dim=0, keepdim=True)
    return centred.T @ centred / max(len(X) - 1, 1)


class DeepCORAL(AdaptationLoss):
    """Deep CORAL loss (Sun & Saenko, ECCV 2016 workshops).

    ``||C_source - C_target||_F^2 / (4 d^2)`` for the covariance matrices of
    the ``d``-dimensional features of a source and a target batch.

    Parameters
    ----------
    layer : int or str, default=-2
        Where the features are taken (see :class:`AdaptationLoss`).

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import DeepCORAL
    >>> X = torch.randn(50, 3)
    >>> float(DeepCORAL().loss(X, X, module=None, progress=0.0))
    0.0
    """

    def loss(self, source, target, *, module, progress):
        d = source.shape[1]
        diff = covariance(source) - covariance(target)
        return (diff * diff).sum() / (4 * d * d)
