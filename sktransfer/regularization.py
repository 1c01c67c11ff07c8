"""Regularised fine-tuning: penalties that keep a network close to what it
transferred, for targets with few labels.

Pass one as ``TransferClassifier(regularization=...)`` (or
``TransferRegressor``); its hyperparameters are ``regularization__*``
parameters, tunable with ``GridSearchCV``. The penalty is added to the
training loss in every training strategy (fine-tuning, on a cached frozen
prefix, across domains) and recorded as ``reg_loss`` in ``history_``.

A new penalty subclasses :class:`Regularization` and implements
``penalty(step)`` (a :class:`RegularizationStep`: the trainable parameters,
transferred or fresh, their starting values, and the features of the
layers it asks for in ``layers()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._params import InstanceOf, Interval, InvalidParameterError, check_params

__all__ = ["BSS", "L2SP", "Compose", "Regularization", "RegularizationStep"]

_LAYER = InstanceOf((Integral, str), "an int (a block index) or a str (a module name)")


@dataclass(frozen=True)
class RegularizationStep:
    """What one training step gives a penalty.

    Attributes
    ----------
    network : nn.Module
        The network being trained.
    transferred : mapping of str to (Parameter, Tensor)
        The trainable parameters that were transferred from the source
        (``status == "transferred"`` in ``transfer_report_``), by name, each
        with its value when training started (no gradient).
    fresh : mapping of str to Parameter
        The trainable parameters that started fresh (a new head, a
        re-initialised layer, or every parameter without a source).
    features : mapping of int or str to Tensor
        The output of each layer the penalty asks for in
        :meth:`Regularization.layers`, keyed by the layer as given (a block
        index or a module name), in float32, not flattened, with gradients.
    device : torch.device
        Where training runs (for a penalty with nothing to add: a zero there).

    Frozen parameters are in neither mapping: they do not move.
    """

    network: nn.Module
    transferred: Mapping[str, tuple[nn.Parameter, torch.Tensor]]
    fresh: Mapping[str, nn.Parameter]
    features: Mapping[int | str, torch.Tensor]
    device: torch.device


class Regularization(BaseEstimator):
    """Base class of the penalties added to the training loss.

    A subclass stores its hyperparameters in ``__init__`` (so they are
    reachable as ``regularization__<name>`` from ``TransferClassifier``'s
    ``set_params`` and ``GridSearchCV``), lists their rules in
    ``_constraints``, and implements :meth:`penalty`. One that looks at the
    features of a layer names it in :meth:`layers`: the estimator captures
    that layer's output in every training forward pass.
    """

    #: Rules for the parameters (see ``sktransfer._params``).
    _constraints: ClassVar[dict] = {}

    def check_params(self, prefix: str = "regularization__") -> None:
        """Raise a clear error, naming ``prefix + name``, for a parameter
        outside its rules."""
        check_params(self, self._constraints, prefix)

    def layers(self) -> dict[str, int | str]:
        """Where the penalty needs features: ``{parameter name: layer}``,
        each layer a block index or a module name; ``{}`` for none."""
        return {}

    def penalty(self, step: RegularizationStep) -> torch.Tensor:
        """The penalty for one training step: a scalar tensor with gradients,
        added to the loss as it is (its weight is the subclass's business)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement penalty.")


class L2SP(Regularization):
    """L2-SP: weight decay towards the source's weights, not towards zero
    (Li, Grandvalet & Davoine, ICML 2018).

    ``alpha/2 * ||w_S - w_S^0||^2 + beta/2 * ||w_F||^2``, where ``w_S`` are
    the trainable parameters transferred from the source, ``w_S^0`` their
    values when training starts (the source's weights), and ``w_F`` the
    trainable parameters that start fresh (e.g. a new head). Frozen
    parameters get nothing: they do not move. With few target labels,
    fine-tuning then stays near the source's solution instead of drifting
    to fit them.

    The penalty is added to the loss, so its pull is ``alpha * (w - w^0)`` on
    the gradient; an adaptive optimizer (Adam, the default) rescales it with
    the rest of the gradient. For plain weight decay on top, use
    ``optimizer__weight_decay``.

    Parameters
    ----------
    alpha : float, default=0.01
        Weight of the distance to the starting point of the transferred
        parameters (the paper's value); ``>= 0``.
    beta : float, default=0.01
        Weight of the squared norm of the fresh parameters (the paper's
        value); ``>= 0``.

    References
    ----------
    X. Li, Y. Grandvalet and F. Davoine, "Explicit Inductive Bias for
    Transfer Learning with Convolutional Networks", ICML 2018.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sktransfer.regularization import L2SP, RegularizationStep
    >>> w, head = nn.Parameter(torch.tensor([1.0, 2.0])), nn.Parameter(torch.ones(3))
    >>> step = RegularizationStep(
    ...     network=nn.Module(),
    ...     transferred={"w": (w, torch.tensor([1.0, 0.0]))},  # started at [1, 0]
    ...     fresh={"head": head},
    ...     features={},
    ...     device=torch.device("cpu"),
    ... )
    >>> round(L2SP(alpha=0.1, beta=0.01).penalty(step).item(), 6)  # 0.1/2*4 + 0.01/2*3
    0.215

    In a classifier, tuned like any other parameter:

    >>> from sklearn.datasets import make_classification
    >>> from sktransfer import TransferClassifier
    >>> X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    >>> source = TransferClassifier(random_state=0).fit(X, y)
    >>> clf = TransferClassifier(source=source, regularization=L2SP(), random_state=0)
    >>> clf.set_params(regularization__alpha=0.1).fit(X[:20], y[:20]).score(
    ...     X[20:], y[20:]) > 0.8
    True
    >>> "reg_loss" in clf.history_[-1]
    True
    """

    _constraints = {"alpha": Interval(Real, 0), "beta": Interval(Real, 0)}

    def __init__(self, alpha: float = 0.01, beta: float = 0.01):
        self.alpha = alpha
        self.beta = beta

    def penalty(self, step: RegularizationStep) -> torch.Tensor:
        total = torch.zeros((), device=step.device)
        # A term whose weight is 0 is left out: it adds no work and no gradient.
        if self.alpha:
            moved = sum((p - p0).pow(2).sum() for p, p0 in step.transferred.values())
            total = total + self.alpha / 2 * moved
        if self.beta:
            size = sum(p.pow(2).sum() for p in step.fresh.values())
            total = total + self.beta / 2 * size
        return total


class BSS(Regularization):
    """Batch Spectral Shrinkage (Chen, Wang, Fu, Long & Wang, NeurIPS 2019).

    ``eta * (sigma_{-1}^2 + ... + sigma_{-k}^2)``, the ``k`` smallest squared
    singular values of the batch's feature matrix at ``layer`` (one row per
    sample, flattened). Fine-tuning on few labels amplifies the feature
    directions with small singular values, which the paper finds are the
    ones that do not transfer; shrinking them keeps the network from
    relearning the target's noise (negative transfer) without holding its
    weights in place.

    The matrix is the batch the network trains on: the target rows when
    fine-tuning; the source rows, the labelled target rows and the target
    rows drawn for an adaptation loss together when training across
    domains. A batch has ``min(n_rows, n_features)`` singular values; with
    fewer than ``k``, all of them count.

    The paper trains on full batches only. The short last batch of an epoch
    (4 rows when 100 rows are batched by 32) has no small singular values,
    only its main directions, and shrinking those shrinks the features:
    drop it with ``iterator_train__drop_last=True`` when the number of rows
    is not a multiple of ``batch_size``.

    Parameters
    ----------
    eta : float, default=0.001
        Weight of the penalty (the paper's value); ``>= 0``.
    k : int, default=1
        How many of the smallest singular values are shrunk (the paper's
        value); ``>= 1``.
    layer : int or str, default=-2
        Where the features are taken: an index into the network's blocks in
        forward order (``-2``: the penultimate block, e.g.
        :class:`~sktransfer.models.LeNet`'s ``fc1``, the input of the
        classifier), or a module name, as for the adaptation losses.

    References
    ----------
    X. Chen, S. Wang, B. Fu, M. Long and J. Wang, "Catastrophic Forgetting
    Meets Negative Transfer: Batch Spectral Shrinkage for Safe Transfer
    Learning", NeurIPS 2019.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sktransfer.regularization import BSS, RegularizationStep
    >>> features = torch.diag(torch.tensor([3.0, 2.0, 0.5]))  # singular values
    >>> step = RegularizationStep(
    ...     network=nn.Module(), transferred={}, fresh={},
    ...     features={-2: features}, device=torch.device("cpu"),
    ... )
    >>> round(float(BSS(eta=1.0, k=2).penalty(step)), 4)  # 2**2 + 0.5**2
    4.25
    """

    _constraints = {
        "eta": Interval(Real, 0),
        "k": Interval(Integral, 1),
        "layer": _LAYER,
    }

    def __init__(self, eta: float = 0.001, k: int = 1, layer=-2):
        self.eta = eta
        self.k = k
        self.layer = layer

    def layers(self) -> dict[str, int | str]:
        return {"layer": self.layer}

    def penalty(self, step: RegularizationStep) -> torch.Tensor:
        if not self.eta:
            return torch.zeros((), device=step.device)
        features = step.features[self.layer].flatten(1)
        # Non-finite features make the SVD fail on the CPU; the loss built on
        # them is not finite anyway, which the training reports clearly.
        features = torch.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0)
        # svdvals (descending) has a gradient that is always defined.
        smallest = torch.linalg.svdvals(features)[-self.k :]
        return self.eta * smallest.pow(2).sum()


class Compose(Regularization):
    """The sum of several penalties, e.g. L2-SP and BSS together.

    Each step is named after its class in lower case (``"l2sp"``, ``"bss"``;
    ``"bss-1"``, ``"bss-2"`` for a class that appears twice), so its
    hyperparameters are ``regularization__<name>__<parameter>``, as in a
    :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    steps : list of Regularization
        The penalties, added up.

    Examples
    --------
    >>> from sktransfer.regularization import BSS, L2SP, Compose
    >>> both = Compose([L2SP(), BSS()])
    >>> both.set_params(l2sp__alpha=0.1).get_params()["l2sp__alpha"]
    0.1
    >>> both.layers()
    {'bss__layer': -2}
    """

    _constraints = {
        "steps": InstanceOf(
            (list, tuple), "a non-empty list of sktransfer.regularization penalties"
        )
    }

    def __init__(self, steps):
        self.steps = steps

    def named_steps(self) -> list[tuple[str, Regularization]]:
        """``(name, step)`` pairs: class names in lower case, numbered when a
        class appears more than once."""
        names = [type(step).__name__.lower() for step in self.steps]
        counts = {name: names.count(name) for name in names}
        seen: dict[str, int] = {}
        named = []
        for name, step in zip(names, self.steps, strict=True):
            if counts[name] > 1:
                seen[name] = seen.get(name, 0) + 1
                name = f"{name}-{seen[name]}"
            named.append((name, step))
        return named

    def get_params(self, deep: bool = True) -> dict:
        params = super().get_params(deep=False)
        if deep and isinstance(self.steps, list | tuple):
            for name, step in self.named_steps():
                params[name] = step
                if isinstance(step, BaseEstimator):
                    for key, value in step.get_params(deep=True).items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params) -> Compose:
        if "steps" in params:
            self.steps = params.pop("steps")
        if not params:
            return self
        steps = dict(self.named_steps())
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in steps:
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: its "
                    f"steps are {sorted(steps)} (and 'steps')."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                steps[name] = value
        for name, sub in nested.items():
            steps[name].set_params(**sub)
        self.steps = list(steps.values())
        return self

    def check_params(self, prefix: str = "regularization__") -> None:
        super().check_params(prefix)
        bad = [s for s in self.steps if not isinstance(s, Regularization)]
        if not self.steps or bad:
            raise InvalidParameterError(
                f"{prefix}steps must be a non-empty list of sktransfer."
                "regularization penalties (e.g. [L2SP(), BSS()]); got "
                f"{self.steps!r}."
            )
        for name, step in self.named_steps():
            step.check_params(f"{prefix}{name}__")

    def layers(self) -> dict[str, int | str]:
        return {
            f"{name}__{key}": layer
            for name, step in self.named_steps()
            for key, layer in step.layers().items()
        }

    def penalty(self, step: RegularizationStep) -> torch.Tensor:
        return sum(
            (s.penalty(step) for s in self.steps),
            start=torch.zeros((), device=step.device),
        )
