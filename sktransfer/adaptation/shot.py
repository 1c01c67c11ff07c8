"""SHOT: source-free adaptation by information maximisation and pseudo-labels
from the target's own feature clusters."""

from __future__ import annotations

from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import nn

from .._params import InstanceOf, Interval
from .base import AdaptationLoss, DomainBatch, TargetPass
from .information import _entropy


class _PseudoLabels(nn.Module):
    """The class centroids of the target features and each target row's
    pseudo-label, refreshed at the start of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("centroids", torch.empty(0))
        self.register_buffer("labels", torch.empty(0, dtype=torch.long))


def _normalized(features: torch.Tensor) -> torch.Tensor:
    # SHOT appends a constant 1 before normalising: cosine distance in the
    # augmented space keeps the features' overall scale in play.
    ones = torch.ones(len(features), 1, dtype=features.dtype, device=features.device)
    return F.normalize(torch.cat([features, ones], dim=1), dim=1)


def cluster_centroids(
    features: torch.Tensor, proba: torch.Tensor, rounds: int = 1
) -> torch.Tensor:
    """Class centroids of ``features``: weighted by the class probabilities
    ``proba`` first, then ``rounds`` times re-computed from the rows' nearest
    centroid (cosine), as in SHOT's self-supervised pseudo-labelling.

    Parameters
    ----------
    features : Tensor of shape (n, d)
    proba : Tensor of shape (n, k)
    rounds : int, default=1

    Returns
    -------
    Tensor of shape (k, d + 1)
        Centroids in the normalised, augmented feature space that
        :func:`nearest_centroid` compares with; a class no row is nearest to
        keeps its previous centroid.
    """
    x = _normalized(features)
    centroids = proba.T @ x / proba.sum(dim=0).clamp_min(1e-8)[:, None]
    for _ in range(rounds):
        labels = nearest_centroid(x, centroids, normalized=True)
        onehot = F.one_hot(labels, len(centroids)).to(x)
        counts = onehot.sum(dim=0)
        hard = onehot.T @ x / counts.clamp_min(1)[:, None]
        centroids = torch.where(counts[:, None] > 0, hard, centroids)
    return centroids


def nearest_centroid(
    features: torch.Tensor, centroids: torch.Tensor, *, normalized: bool = False
) -> torch.Tensor:
    """The index of each row's nearest centroid by cosine distance."""
    x = features if normalized else _normalized(features)
    return (x @ F.normalize(centroids, dim=1).T).argmax(dim=1)


class SHOT(AdaptationLoss):
    """Source hypothesis transfer (Liang, Hu & Feng, ICML 2020): adapt without
    the source data.

    SHOT keeps the source's classifier head (its *hypothesis*) fixed and
    trains the rest of the network on unlabelled target rows with

    - information maximisation: ``mean_i H(p_i) - diversity * H(mean_i p_i)``
      over the target's class probabilities (confident and diverse
      predictions, see :class:`InformationMaximization`);
    - self-supervised pseudo-labels, weighted by ``pseudo_label_weight``
      (the paper's β = 0.3): at the start of every epoch, class centroids of
      the target features at ``layer`` are computed from the network's
      predictions in evaluation mode (probability-weighted, then once more
      from the nearest centroids, cosine distance); each target row's
      pseudo-label for the epoch is its nearest centroid, and the loss adds
      the cross-entropy between the predictions and these labels.

    It looks at target rows only, so ``TransferClassifier`` accepts it with a
    source that gives weights but no rows (``source=`` a fitted classifier, a
    state dict, ``Source(weights=...)``): the source-free setting, when the
    source data cannot be shared. With source rows, their loss is added as
    for any adaptation loss.

    The labels are assigned once per epoch, for all rows, from the
    evaluation-mode features: assigning them per batch from training-mode
    features (batch-norm statistics of the batch) against those centroids
    mislabels rows as the statistics drift (:doc:`/benchmarks`).

    Parameters
    ----------
    layer : int or str, default=-1
        The features for the centroids are what this layer *takes in*: by
        default the input of the last block, i.e. what the source's
        hypothesis reads (after the previous block's activation).
    diversity : float, default=1.0
        Weight of the diversity term of information maximisation.
    pseudo_label_weight : float, default=0.3
        Weight of the pseudo-label cross-entropy; ``0`` gives SHOT-IM.
    freeze_head : bool, default=True
        Keep the network's last block (the source's hypothesis) fixed.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import TransferClassifier
    >>> from sktransfer.adaptation import SHOT
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(200, 4)).astype(np.float32)
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> source = TransferClassifier(max_epochs=5, random_state=0).fit(
    ...     X_source, y_source)
    >>> X_target = X_source + 0.5
    >>> clf = TransferClassifier(source=source, adaptation=SHOT(), max_epochs=2,
    ...                          random_state=0)
    >>> clf = clf.fit(X_target, np.full(200, -1))  # -1: no target label
    >>> clf.predict(X_target[:3]).shape
    (3,)
    """

    needs_source_data = False  # target rows and the source's weights only
    reads_class_probabilities = True
    reads_layer_input = True  # the features the head reads

    _constraints = {
        "layer": [
            InstanceOf(
                (Integral, str), "an int (a block index) or a str (a module name)"
            )
        ],
        "diversity": Interval(Real, 0),
        "pseudo_label_weight": Interval(Real, 0),
        "freeze_head": [InstanceOf(bool, "a bool")],
    }

    def __init__(
        self, layer=-1, diversity=1.0, pseudo_label_weight=0.3, freeze_head=True
    ):
        self.layer = layer
        self.diversity = diversity
        self.pseudo_label_weight = pseudo_label_weight
        self.freeze_head = freeze_head

    def freezes_head(self) -> bool:
        return self.freeze_head

    def build_for(self, network: nn.Module, n_features: int | None) -> nn.Module:
        return _PseudoLabels()

    def before_epoch(self, target: TargetPass, parts: nn.Module | None) -> None:
        if self.pseudo_label_weight:
            proba = target.logits.softmax(dim=1)
            parts.centroids = cluster_centroids(target.features, proba)
            parts.labels = nearest_centroid(target.features, parts.centroids)

    def batch_loss(self, batch: DomainBatch) -> torch.Tensor:
        proba = batch.logits_target.softmax(dim=1)
        loss = _entropy(proba).mean() - self.diversity * _entropy(proba.mean(dim=0))
        labels = batch.parts.labels
        if self.pseudo_label_weight and labels.numel():
            pseudo = F.cross_entropy(batch.logits_target, labels[batch.target_rows])
            loss = loss + self.pseudo_label_weight * pseudo
        return loss
