"""Minimum class confusion on the target's predictions."""

from __future__ import annotations

from numbers import Real

import torch

from .._params import Interval
from .base import AdaptationLoss
from .information import certainty_weights


class MCC(AdaptationLoss):
    """Minimum Class Confusion loss (Jin, Wang, Long & Wang, ECCV 2020).

    Penalises how much the target predictions confuse pairs of classes, so
    the network learns target features whose classes do not overlap. On a
    target batch of ``n`` rows and ``k`` classes:

    1. ``p = softmax(logits / temperature)``;
    2. certainty weights ``w_i = 1 + exp(-H(p_i))`` (``H`` the entropy),
       rescaled to sum to ``n``;
    3. the class correlation matrix ``C = p^T diag(w) p`` (``k x k``), each
       row rescaled to sum to 1;
    4. the loss ``(sum(C) - trace(C)) / k``: the mean mass a class shares
       with the others, in ``[0, 1]``.

    It looks at target rows only, so it takes the network's logits
    (``layer=-1``, the last block), as
    :class:`~sktransfer.adaptation.InformationMaximization` does.

    Parameters
    ----------
    layer : int or str, default=-1
        Where the logits are taken: the last block by default.
    temperature : float, default=2.5
        Softens the predictions before the confusion is measured (the
        paper's value); must be positive.

    References
    ----------
    Y. Jin, X. Wang, M. Long and J. Wang, "Minimum Class Confusion for
    Versatile Domain Adaptation", ECCV 2020.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.adaptation import MCC
    >>> mcc = MCC()
    >>> separated = 10 * torch.eye(3).repeat(2, 1)  # each row sure of its class
    >>> confused = torch.tensor([[5.0, 5.0, -5.0]]).repeat(6, 1)  # 0 or 1?
    >>> bool(mcc.loss(separated, separated, module=None, progress=0.0)
    ...      < mcc.loss(confused, confused, module=None, progress=0.0))
    True
    """

    needs_source_data = False  # target predictions only
    reads_class_probabilities = True

    _constraints = {
        **AdaptationLoss._constraints,
        "temperature": Interval(Real, 0, open_low=True),
    }

    def __init__(self, layer=-1, temperature: float = 2.5):
        self.layer = layer
        self.temperature = temperature

    def loss(
        self,
        source: torch.Tensor,
        target: torch.Tensor,
        *,
        module: torch.nn.Module | None,
        progress: float,
    ) -> torch.Tensor:
        proba = (target / self.temperature).softmax(dim=1)
        n, k = proba.shape
        # The weights say how much each row counts; they are not something
        # for the network to optimise, so no gradient flows through them.
        weights = certainty_weights(proba).detach()
        weights = weights * n / weights.sum()
        correlation = proba.T @ (weights[:, None] * proba)
        # A class absent from the batch has an all-zero row: it confuses
        # nothing, and the clamp keeps 0 / 0 out of the loss.
        correlation = correlation / correlation.sum(dim=1, keepdim=True).clamp_min(
            1e-12
        )
        return (correlation.sum() - correlation.trace()) / k
