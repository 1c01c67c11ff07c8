"""Random image augmentations applied to training batches on the fly.

Each augmentation is a callable on a batch tensor ``(n, C, H, W)`` and a
scikit-learn style object (``get_params`` / ``set_params``), so its settings
are tunable through ``TransferClassifier(augment=...)`` as ``augment__*``.
They draw from torch's random number generator, which ``TransferClassifier``
seeds from ``random_state``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

__all__ = ["Compose", "RandomAffine", "RandomStrokeWidth"]


class RandomAffine(BaseEstimator):
    """Random rotation, scaling and translation of each image in a batch.

    Parameters
    ----------
    degrees : float, default=10.0
        Rotations are drawn uniformly from ``[-degrees, degrees]``.
    translate : float, default=0.1
        Shifts are drawn uniformly from ``[-translate, translate]`` times the
        image size, independently along each axis.
    scale : tuple of float, default=(0.9, 1.1)
        Zoom factors are drawn uniformly from this range.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.augmentation import RandomAffine
    >>> RandomAffine(degrees=15)(torch.rand(4, 1, 28, 28)).shape
    torch.Size([4, 1, 28, 28])
    """

    def __init__(self, degrees=10.0, translate=0.1, scale=(0.9, 1.1)):
        self.degrees = degrees
        self.translate = translate
        self.scale = scale

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        n = X.shape[0]

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n, device=X.device) * (high - low) + low

        angle = uniform(-self.degrees, self.degrees) * (math.pi / 180)
        zoom = uniform(*self.scale)
        # affine_grid maps output to input coordinates in [-1, 1]: the inverse
        # transform, so divide by the zoom and shift by twice the fraction.
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        tx = uniform(-self.translate, self.translate) * 2
        ty = uniform(-self.translate, self.translate) * 2
        theta = torch.stack(
            [torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1
        )
        grid = F.affine_grid(theta.to(X.dtype), list(X.shape), align_corners=False)
        return F.grid_sample(X, grid, padding_mode="zeros", align_corners=False)


class RandomStrokeWidth(BaseEstimator):
    """Randomly thicken or thin the strokes of bright-on-dark images.

    A 3x3 grey-level dilation (thicker) or erosion (thinner), each applied to
    a random fraction of the batch: handwriting from another scanner or pen
    (USPS against MNIST) differs in stroke width.

    Parameters
    ----------
    p_thicker : float, default=0.3
        Fraction of the images that are dilated.
    p_thinner : float, default=0.1
        Fraction of the images that are eroded.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.augmentation import RandomStrokeWidth
    >>> X = torch.zeros(2, 1, 5, 5); X[:, :, 2, 2] = 1
    >>> int(RandomStrokeWidth(p_thicker=1.0, p_thinner=0.0)(X)[0].sum())
    9
    """

    def __init__(self, p_thicker=0.3, p_thinner=0.1):
        self.p_thicker = p_thicker
        self.p_thinner = p_thinner

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        u = torch.rand(X.shape[0], device=X.device).view(-1, 1, 1, 1)
        thick = F.max_pool2d(X, 3, stride=1, padding=1)
        thin = -F.max_pool2d(-X, 3, stride=1, padding=1)
        out = torch.where(u < self.p_thicker, thick, X)
        return torch.where(u > 1 - self.p_thinner, thin, out)


class Compose(BaseEstimator):
    """Apply several augmentations in turn.

    Parameters
    ----------
    steps : list of callables
        Each takes and returns a batch tensor.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.augmentation import Compose, RandomAffine, RandomStrokeWidth
    >>> aug = Compose([RandomStrokeWidth(), RandomAffine()])
    >>> aug(torch.rand(3, 1, 28, 28)).shape
    torch.Size([3, 1, 28, 28])
    """

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            X = step(X)
        return X
