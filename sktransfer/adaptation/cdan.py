"""CDAN: domain-adversarial training conditioned on the predictions."""

from __future__ import annotations

import math
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from .._params import InstanceOf, Interval
from .base import AdaptationLoss, DomainBatch
from .dann import DANN, reverse_gradient
from .information import certainty_weights


def _n_outputs(network: nn.Module) -> int:
    # The output layer is the last module registered with a size (an
    # nn.Linear for the networks of sktransfer.models): build_for gets no
    # example to run the network on.
    for module in reversed(list(network.modules())):
        size = getattr(module, "out_features", None)
        if isinstance(size, int) and not isinstance(size, bool):
            if size < 2:  # a softmax over one output is 1: CDAN would be DANN
                raise ValueError(
                    "CDAN conditions on class predictions, but the network has "
                    f"{size} output; for a regressor use DANN."
                )
            return size
    raise ValueError(
        "CDAN conditions its critic on the network's predictions but found no "
        "output layer (a module with out_features, e.g. nn.Linear) in the "
        f"network {type(network).__name__}."
    )


class _ConditionalCritic(nn.Module):
    """A DANN critic reading the multilinear map of features and predictions.

    Holds the random matrices of the randomized map as buffers, so they move
    to the training device and are saved with the net, but are not trained.
    """

    def __init__(
        self,
        classifier: nn.Module,
        n_features: int,
        n_classes: int,
        random_dim: int | None = None,
    ):
        super().__init__()
        self.classifier = classifier
        if random_dim is None:
            self.register_buffer("random_features", None)
            self.register_buffer("random_predictions", None)
        else:
            # Drawn from torch's RNG, which the estimator seeds from its
            # random_state: the same map on every run.
            r_f = torch.randn(n_features, random_dim)
            r_g = torch.randn(n_classes, random_dim)
            self.register_buffer("random_features", r_f)
            self.register_buffer("random_predictions", r_g)

    def multilinear_map(
        self, features: torch.Tensor, proba: torch.Tensor
    ) -> torch.Tensor:
        """``f ⊗ g`` flattened to ``d * k`` values per row, or the randomized
        ``(f R_f) ⊙ (g R_g) / sqrt(m)`` with ``m`` values per row."""
        if self.random_features is None:
            return (features.unsqueeze(2) * proba.unsqueeze(1)).flatten(1)
        m = self.random_features.shape[1]
        return (
            (features @ self.random_features)
            * (proba @ self.random_predictions)
            / math.sqrt(m)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(h)


class CDAN(AdaptationLoss):
    """Conditional Domain Adversarial Network loss (Long, Cao, Wang & Jordan,
    NeurIPS 2018).

    DANN aligns the distributions of the features ``f``; CDAN aligns their
    joint distribution with the class predictions ``g = softmax(logits)``, so
    the source and target rows of one class are matched with each other
    rather than with the whole other domain. A domain critic (DANN's: linear,
    batch norm, ReLU, linear) reads the multilinear map

    ``h = f ⊗ g``, the outer product flattened to ``d * k`` values,

    through a gradient reversal layer with DANN's warm-up
    ``2 / (1 + exp(-gamma * progress)) - 1``, and is trained with binary
    cross-entropy (source rows labelled 0, target rows 1, as in DANN).

    When ``d * k`` exceeds ``max_features`` and ``randomized=True``, the map
    is the randomized ``(R_f f) ⊙ (R_g g) / sqrt(max_features)`` with fixed
    Gaussian matrices ``R_f``, ``R_g`` of ``max_features`` outputs, drawn in
    :meth:`build_for` from torch's RNG (so ``random_state`` fixes them).

    With ``entropy=True`` (CDAN+E) each row's critic loss is weighted by its
    certainty ``1 + exp(-H(g))``, the weights rescaled to sum to each
    domain's row count, so confident predictions, more likely right, condition
    the alignment most.

    The predictions condition the critic but are not trained through it (no
    gradient flows into ``g`` from this loss): the network aligns its features,
    not its predictions. The number of classes ``k`` is read from the
    network's output layer (its last module with ``out_features``).

    Parameters
    ----------
    layer : int or str, default=-2
        Where the features ``f`` are taken (see :class:`AdaptationLoss`).
    hidden_units : int, default=100
        Width of the domain critic's hidden layer.
    gamma : float, default=10.0
        Steepness of the warm-up of the reversal coefficient; ``0`` turns the
        warm-up off (coefficient 1 from the start).
    entropy : bool, default=False
        Whether to weight each row by the certainty of its prediction (CDAN+E).
    randomized : bool, default=False
        Whether to use the randomized multilinear map when ``d * k`` exceeds
        ``max_features``; without it such a map is refused with an error.
    max_features : int, default=4096
        The largest exact map, and the size of the randomized one.

    References
    ----------
    M. Long, Z. Cao, J. Wang and M. I. Jordan, "Conditional Adversarial
    Domain Adaptation", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import CDAN
    >>> from sktransfer.models import MLP
    >>> network = MLP(n_features=4, n_classes=3, hidden_units=(8,))
    >>> cdan = CDAN(hidden_units=16)
    >>> critic = cdan.build_for(network, n_features=8)
    >>> f, g = torch.rand(6, 8), torch.randn(6, 3).softmax(dim=1)
    >>> critic.multilinear_map(f, g).shape
    torch.Size([6, 24])
    >>> small = CDAN(randomized=True, max_features=10).build_for(network, 8)
    >>> small.multilinear_map(f, g).shape
    torch.Size([6, 10])
    >>> loss = cdan.domain_loss(f, f + 1, torch.randn(6, 3), torch.randn(6, 3),
    ...                         module=critic, progress=0.5)
    >>> bool(loss > 0)
    True
    """

    reads_class_probabilities = True  # conditions on softmax(logits)

    _constraints = {
        **AdaptationLoss._constraints,
        # The critic reads features: a layer is needed.
        "layer": InstanceOf(
            (Integral, str), "an int (a block index) or a str (a module name)"
        ),
        "hidden_units": DANN._constraints["hidden_units"],
        "gamma": DANN._constraints["gamma"],
        "entropy": InstanceOf(bool, "a bool"),
        "randomized": InstanceOf(bool, "a bool"),
        "max_features": Interval(Integral, 1),
    }

    def __init__(
        self,
        layer=-2,
        hidden_units: int = 100,
        gamma: float = 10.0,
        entropy: bool = False,
        randomized: bool = False,
        max_features: int = 4096,
    ):
        self.layer = layer
        self.hidden_units = hidden_units
        self.gamma = gamma
        self.entropy = entropy
        self.randomized = randomized
        self.max_features = max_features

    def _adversary(self) -> DANN:
        # DANN's critic and reversal schedule, so that the two cannot drift.
        return DANN(layer=self.layer, hidden_units=self.hidden_units, gamma=self.gamma)

    def build_for(self, network: nn.Module, n_features: int | None) -> nn.Module:
        if n_features is None:
            raise ValueError("CDAN reads features: its layer cannot be None.")
        n_classes = _n_outputs(network)
        size = n_features * n_classes
        random_dim = None
        if size > self.max_features:
            if not self.randomized:
                raise ValueError(
                    f"CDAN's multilinear map has {n_features} features x "
                    f"{n_classes} classes = {size} values, more than "
                    f"max_features={self.max_features}. Set randomized=True "
                    "(adaptation__randomized=True) for a randomized map of "
                    "max_features values, raise max_features, or take the "
                    "features at a narrower layer."
                )
            random_dim = self.max_features
        critic = self._adversary().build(random_dim or size)
        return _ConditionalCritic(critic, n_features, n_classes, random_dim)

    def batch_loss(self, batch: DomainBatch) -> torch.Tensor:
        return self.domain_loss(
            batch.features_source.flatten(1),
            batch.features_target.flatten(1),
            batch.logits_source,
            batch.logits_target,
            module=batch.parts,
            progress=batch.progress,
        )

    def domain_loss(
        self,
        features_source: torch.Tensor,
        features_target: torch.Tensor,
        logits_source: torch.Tensor,
        logits_target: torch.Tensor,
        *,
        module: nn.Module,
        progress: float,
    ) -> torch.Tensor:
        """The critic's loss on a source and a target batch.

        Parameters
        ----------
        features_source, features_target : Tensor of shape (n, d)
            Flattened features at ``layer`` of a source and a target batch.
        logits_source, logits_target : Tensor of shape (n, k)
            The network's outputs for the same rows.
        module : nn.Module
            What :meth:`build_for` returned, being trained.
        progress : float
            Fraction of the training done, in [0, 1] (for the warm-up).
        """
        n_source = len(features_source)
        features = torch.cat([features_source, features_target])
        proba = torch.cat([logits_source, logits_target]).softmax(dim=1).detach()
        h = module.multilinear_map(features, proba)
        coefficient = self._adversary().coefficient(progress)
        logits = module(reverse_gradient(h, coefficient)).squeeze(1)
        domain = torch.cat(
            [torch.zeros(n_source), torch.ones(len(features_target))]
        ).to(logits)
        losses = F.binary_cross_entropy_with_logits(logits, domain, reduction="none")
        return (self.row_weights(proba, n_source) * losses).mean()

    def row_weights(self, proba: torch.Tensor, n_source: int) -> torch.Tensor:
        """Each row's weight in the critic's loss: 1, or with ``entropy`` its
        certainty ``1 + exp(-H(p))`` rescaled to sum to its domain's row count
        (the first ``n_source`` rows are source rows)."""
        if not self.entropy:
            return torch.ones(len(proba), dtype=proba.dtype, device=proba.device)
        weights = certainty_weights(proba.detach())
        # Per domain, so neither domain outweighs the other in the critic.
        domains = weights.split([n_source, len(proba) - n_source])
        return torch.cat([w * len(w) / w.sum() for w in domains])

    def loss(
        self,
        source: torch.Tensor,
        target: torch.Tensor,
        *,
        module: nn.Module | None,
        progress: float,
    ) -> torch.Tensor:
        raise NotImplementedError(
            "CDAN needs the predictions as well as the features: use "
            "batch_loss, or domain_loss with the logits."
        )
