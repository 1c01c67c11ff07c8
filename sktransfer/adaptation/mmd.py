"""Multi-kernel maximum mean discrepancy between source and target features."""

from __future__ import annotations

from numbers import Real

import torch

from .._params import Interval, SequenceOf
from .base import AdaptationLoss


class MMD(AdaptationLoss):
    """Multi-kernel MMD loss (as in DAN, Long et al., ICML 2015).

    The squared MMD under a sum of Gaussian kernels whose bandwidths are
    ``multipliers`` times the mean pairwise squared distance of the batch
    (biased estimate over the joint batch).

    Parameters
    ----------
    layer : int or str, default=-2
        Where the features are taken (see :class:`AdaptationLoss`).
    multipliers : tuple of float, default=(0.25, 0.5, 1.0, 2.0, 4.0)
        Bandwidths of the kernels relative to the mean squared distance.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import MMD
    >>> X = torch.randn(40, 3)
    >>> near = MMD().loss(X, X + 0.1, module=None, progress=0.0)
    >>> far = MMD().loss(X, X + 3.0, module=None, progress=0.0)
    >>> bool(far > near)
    True
    """

    _constraints = {
        **AdaptationLoss._constraints,
        "multipliers": SequenceOf(Interval(Real, 0, open_low=True)),
    }

    def __init__(self, layer=-2, multipliers=(0.25, 0.5, 1.0, 2.0, 4.0)):
        self.layer = layer
        self.multipliers = multipliers

    def loss(self, source, target, *, module, progress):
        n = len(source)
        joint = torch.cat([source, target])
        distances = torch.cdist(joint, joint).pow(2)
        # The bandwidth follows the data but is not trained through.
        scale = distances.detach().mean().clamp_min(1e-12)
        kernel = sum(torch.exp(-distances / (scale * m)) for m in self.multipliers)
        ss, tt, st = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
        return ss.mean() + tt.mean() - 2 * st.mean()
