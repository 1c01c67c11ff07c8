"""Self-ensembling: a mean teacher's confident target predictions, taught to
the network on a second view of the same rows."""

from __future__ import annotations

import copy
from numbers import Real

import torch
from torch import nn

from .._params import Interval, InvalidParameterError, IsCallable, Options
from .base import AdaptationLoss, DomainBatch


class MeanTeacher(AdaptationLoss):
    """Self-ensembling with a mean teacher (French, Mackiewicz & Fisher, ICLR 2018).

    The teacher is a copy of the network whose weights follow the network's
    as an exponential moving average (``ema``) after every step; it is never
    trained by gradient. On each target batch:

    1. the network (the student) and the teacher each see their own
       augmented view of the rows: ``augment(X_target)``, drawn
       independently; both forward passes see target rows only, so batch
       normalisation uses target statistics, as in the paper;
    2. consistency: the squared difference of the two softmax predictions,
       summed over classes, on the rows whose teacher confidence (highest
       probability) exceeds ``threshold``, averaged over the batch;
    3. class balance (``class_balance > 0``): the binary cross-entropy
       between the student's mean prediction over the batch and the uniform
       distribution, scaled by the fraction of confident rows, so that the
       student does not collapse onto a few classes.

    The loss is ``consistency + class_balance * balance``; its weight is
    ``adaptation_weight`` (``"auto"``: 3, the paper's). When training ends the fitted
    network takes the teacher's weights (``predict_with="teacher"``, as the
    mean-teacher papers evaluate), or keeps the student's; the teacher stays
    in ``net_.adaptation_parts_``.

    The teacher averages over many steps, so the method wants a longer
    schedule than the other losses: tens of epochs at ``lr=1e-3`` (the
    paper's and the library's default) rather than a few at a smaller
    ``lr``. To choose the number of epochs without target labels, fit a few
    and keep the one whose target predictions score highest on
    :func:`~sktransfer.metrics.information_maximization_score` (how that
    choice did on the digit tasks: :doc:`/benchmarks`).

    Parameters
    ----------
    layer : None, default=None
        Unused: the loss reads the networks' outputs, not features.
    ema : float, default=0.99
        Weight of the teacher's old weights in each update, in ``[0, 1]``.
        Buffers (batch-norm statistics) are copied from the student. ``1``
        keeps the teacher at the starting network, so it goes with
        ``predict_with="student"`` only.
    threshold : float, default=0.968
        Teacher confidence a target row needs to count (its highest
        probability must exceed it), in ``[0, 1)``; the paper's value for
        ten classes.
    class_balance : float, default=0.005
        Weight of the class-balance term; ``0`` leaves it out.
    augment : callable, default=None
        Draws a view of a batch (a tensor in, a tensor of the same shape
        out), called once for the student and once for the teacher. ``None``
        adds Gaussian noise of standard deviation 0.1, which suits inputs
        scaled to about unit range; for images, an affine augmentation such
        as :class:`~sktransfer.augmentation.RandomAffine` is what the paper
        uses.
    predict_with : {"teacher", "student"}, default="teacher"
        Which weights the fitted network keeps when training ends: the
        teacher's average (usually the better one) or the student's.

    References
    ----------
    G. French, M. Mackiewicz and M. Fisher, "Self-ensembling for visual
    domain adaptation", ICLR 2018. A. Tarvainen and H. Valpola, "Mean
    teachers are better role models", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import Source, TransferClassifier
    >>> from sktransfer.adaptation import MeanTeacher
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(200, 4)).astype(np.float32)
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> X_target = X_source + 0.5
    >>> clf = TransferClassifier(
    ...     source=Source(X=X_source, y=y_source),
    ...     adaptation=MeanTeacher(threshold=0.6),
    ...     max_epochs=3, random_state=0,
    ... ).fit(X_target, np.full(len(X_target), -1))
    >>> teacher = clf.net_.adaptation_parts_  # what the loss built
    >>> teacher is not clf.module_  # the teacher, a separate copy
    True
    >>> import torch  # the fitted network kept the teacher's weights
    >>> all(torch.equal(a, b) for a, b in zip(clf.module_.parameters(),
    ...                                       teacher.parameters()))
    True
    """

    needs_source_data = False  # target predictions only
    reads_class_probabilities = True
    default_weight = 3.0  # the paper's; the consistency term is small

    _constraints = {
        "layer": [None],
        "ema": Interval(Real, 0, 1),
        # No probability exceeds 1: threshold=1 would count no row at all.
        "threshold": Interval(Real, 0, 1, open_high=True),
        "class_balance": Interval(Real, 0),
        "augment": [None, IsCallable()],
        "predict_with": Options("teacher", "student", text='"teacher" or "student"'),
    }

    def __init__(
        self,
        layer=None,
        ema: float = 0.99,
        threshold: float = 0.968,
        class_balance: float = 0.005,
        augment=None,
        predict_with: str = "teacher",
    ):
        self.layer = layer
        self.ema = ema
        self.threshold = threshold
        self.class_balance = class_balance
        self.augment = augment
        self.predict_with = predict_with

    def check_params(self, prefix: str = "adaptation__") -> None:
        super().check_params(prefix)
        if self.ema == 1 and self.predict_with == "teacher":
            raise InvalidParameterError(
                f"{prefix}ema=1 never updates the teacher, so "
                f'{prefix}predict_with="teacher" would return the network as '
                "it was before training; use ema < 1 (e.g. 0.99) or "
                'predict_with="student".'
            )

    def build_for(self, network: nn.Module, n_features: int | None) -> nn.Module:
        teacher = copy.deepcopy(network)
        for param in teacher.parameters():
            param.requires_grad_(False)  # follows the student; never trained
        return teacher

    def _view(self, X: torch.Tensor) -> torch.Tensor:
        if self.augment is None:
            return X + 0.1 * torch.randn_like(X)
        out = self.augment(X)
        if not isinstance(out, torch.Tensor) or out.shape != X.shape:
            raise ValueError(
                "MeanTeacher's augment must return a tensor of the batch's shape "
                f"{tuple(X.shape)}."
            )
        return out

    def batch_loss(self, batch: DomainBatch) -> torch.Tensor:
        X = batch.X_target
        student = batch.network(self._view(X)).float().softmax(dim=1)
        with torch.no_grad():
            teacher = batch.parts(self._view(X)).float().softmax(dim=1)
        confident = (teacher.max(dim=1).values > self.threshold).float()
        squared = ((student - teacher) ** 2).sum(dim=1)
        loss = (squared * confident).mean()
        if self.class_balance:
            mean = student.mean(dim=0).clamp(1e-6, 1 - 1e-6)
            u = 1.0 / mean.numel()
            # binary_cross_entropy(mean, u) written out: torch's refuses NaN
            # (a NaN batch from augment) with an error of its own, where this
            # hands the NaN loss to the estimator's non-finite check.
            balance = -(u * mean.log() + (1 - u) * (1 - mean).log()).mean()
            loss = loss + self.class_balance * balance * confident.mean()
        return loss

    @torch.no_grad()
    def after_step(self, batch: DomainBatch) -> None:
        teacher, student = batch.parts, batch.network
        for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
            t.mul_(self.ema).add_(s.detach(), alpha=1 - self.ema)
        for t, s in zip(teacher.buffers(), student.buffers(), strict=True):
            t.copy_(s)

    def after_training(self, network: nn.Module, parts: nn.Module | None) -> None:
        if self.predict_with == "teacher" and parts is not None:
            network.load_state_dict(parts.state_dict())
