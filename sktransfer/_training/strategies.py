"""The training strategies: fine-tuning, on a frozen prefix, across domains,
source-free adaptation.

Each takes the :class:`~sktransfer._network.PreparedNetwork` and the
estimator's :class:`Training` settings, refuses what it cannot train
(:meth:`Strategy.check`, run when the rule table picks it), configures its
skorch net through constructor parameters only, trains it, and returns it: a
net whose ``module_`` is the whole network, ready to predict from raw inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from skorch.callbacks import PassthroughScoring
from torch.utils.data import DataLoader

from .._network import PreparedNetwork
from .._network.blocks import resolve_layer
from .._network.modes import output_size
from ..adaptation.base import AdaptationLoss
from ..adaptation.objective import DomainSetup, LossNeeds
from ..regularization import Regularization
from .loaders import BatchLoader, DomainBatches
from .net_class import check_net_mixins, compose
from .nets import NETS, NonFiniteGuard
from .prefix_cache import prefix_outputs
from .regularized import regularization_setup


@dataclass(frozen=True)
class Training:
    """What an estimator asks of the training, fixed for one ``fit``.

    ``net_params`` are the skorch net's constructor parameters (criterion,
    optimizer, lr, epochs, callbacks, ``iterator_*``, dunder parameters...);
    the strategies add the network and what their net needs.
    """

    task: str  # "classifier" or "regressor": which skorch net
    net_params: dict
    augment: object = None
    cache_frozen: bool = True
    cache_dir: str | None = None  # prefix outputs also shared on disk there
    # The source's rows (X, encoded y), when the fit trains on them.
    source_data: tuple[np.ndarray, np.ndarray] | None = None
    labelled: np.ndarray | None = None  # target rows with a label (domains)
    target_weight: float = 1.0
    adaptation: AdaptationLoss | None = None
    adaptation_weight: float = 1.0
    net_mixins: tuple[type, ...] = ()  # placed before the net class in the MRO
    regularization: Regularization | None = None  # a penalty added to the loss
    # The fit's own generator: the order of the training rows (see _base.seeded).
    generator: torch.Generator | None = None

    @property
    def max_epochs(self) -> int:
        return self.net_params["max_epochs"]


class Strategy:
    """A way to train the prepared network; ``name`` picks its skorch net."""

    name: str
    #: Whether its training step reads batches of both domains.
    across = False

    def check(self, prepared: PreparedNetwork, training: Training) -> None:
        """Refuse what this strategy cannot train: by default, ``net_mixins``
        that cannot go with its net or with what the fit asks of it."""
        check_net_mixins(
            training.net_mixins,
            NETS[training.task, self.name],
            precision=training.net_params.get("precision", "float32"),
            across=self.across,
            regularized=training.regularization is not None,
        )

    def net(self, prepared: PreparedNetwork, training: Training, **params):
        """This strategy's skorch net for ``prepared``, configured by ``params``
        on top of the estimator's net parameters."""
        params = {**training.net_params, **params}
        callbacks = [
            *(params.get("callbacks") or []),
            ("nonfinite_guard", NonFiniteGuard()),
        ]
        if training.regularization is not None:
            params["regularization"] = regularization_setup(
                prepared, training.regularization
            )
            # Its epoch mean, next to skorch's train_loss (which includes it).
            callbacks.append(
                ("reg_loss", PassthroughScoring("reg_loss", on_train=True))
            )
        params["callbacks"] = callbacks
        params.update(loader_generators(params, training.generator))
        net_class = compose(NETS[training.task, self.name], training.net_mixins)
        return net_class(
            module=prepared.module, frozen_norms=prepared.frozen_norms, **params
        )


#: The loaders that take a ``generator`` (torch's DataLoader and ours).
_SEEDABLE_LOADERS = (BatchLoader, DataLoader, DomainBatches)


def loader_generators(params: dict, generator: torch.Generator | None) -> dict:
    """``iterator_*__generator`` for the net's loaders that take one and were
    given none: the fit's generator for the training rows' order, and a fresh
    one for the passes that predict.

    Without it, torch's DataLoader draws a seed from torch's *global*
    generator at every pass (and its shuffling sampler another): a
    ``predict`` in one thread would shift a seeded fit running in another.
    """
    # A prediction pass draws a seed it has no use for (it does not shuffle).
    wanted = {"iterator_valid": torch.Generator()}
    if generator is not None:
        wanted["iterator_train"] = generator
    return {
        name + "__generator": value
        for name, value in wanted.items()
        if params.get(name) in _SEEDABLE_LOADERS and name + "__generator" not in params
    }


def fit_net(net, X, y):
    """``net.fit(X, y)``, with a clear error when the net's own parameters
    (``optimizer__*``, ``criterion__*``, ...) do not let it be set up."""
    try:
        net.initialize()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The skorch net could not be set up from the parameters given: {exc} "
            "(check the optimizer__*, criterion__*, callbacks__* and module "
            "parameters)."
        ) from exc
    return net.partial_fit(X, y)  # initialised: what fit would do next


class FineTune(Strategy):
    """Train the whole network (frozen blocks stay fixed) on the target rows."""

    name = "fine_tune"

    def train(self, prepared: PreparedNetwork, X, y, training: Training):
        return fit_net(self.net(prepared, training, augment=training.augment), X, y)


class FrozenPrefix(Strategy):
    """Compute the frozen prefix once (cached across fits), train the rest on
    its outputs; the returned net holds the whole network."""

    name = "frozen_prefix"

    def train(self, prepared: PreparedNetwork, X, y, training: Training):
        cut = prepared.cut
        hidden = prefix_outputs(
            prepared.module, cut.prefix, cut.layer, X, prepared.device, cut.hidden,
            directory=training.cache_dir,
        )  # fmt: skip
        return fit_net(self.net(prepared, training, rest=cut.rest), hidden, y)


class AcrossDomains(Strategy):
    """Train on source and target rows together:
    ``L_source + target_weight * L_target + adaptation_weight * L_adapt``."""

    name = "across_domains"
    across = True

    def train(self, prepared: PreparedNetwork, X, y, training: Training):
        setup = self.setup(prepared, X, training)
        # Epoch means of the loss terms, next to skorch's train_loss.
        callbacks = list(training.net_params.get("callbacks") or []) + [
            (name, PassthroughScoring(name, on_train=True))
            for name in setup.loss_terms()
        ]
        net = self.net(
            prepared,
            training,
            augment=training.augment,
            domain=setup,
            callbacks=callbacks,
            iterator_train=DomainBatches,
            iterator_train__source=training.source_data,
            iterator_train__adapt=training.adaptation is not None,
            iterator_train__labelled=training.labelled,
        )
        return fit_net(net, X, y)

    @staticmethod
    def setup(prepared: PreparedNetwork, X, training: Training) -> DomainSetup:
        adaptation, layer, n_features = training.adaptation, None, None
        needs = LossNeeds.of(adaptation)
        if needs.layer is not None:
            layer = resolve_layer(prepared.module, prepared.blocks, needs.layer)
            n_features, n_outputs = output_size(
                prepared.module, layer, prepared.example, inputs=needs.layer_input
            )
            _check_reads_logits(adaptation, needs, n_features, n_outputs)
        X_source = training.source_data[0]
        batch_size = training.net_params["batch_size"]
        steps = math.ceil(max(len(X_source), len(X)) / batch_size)
        return DomainSetup(
            target_weight=training.target_weight,
            adaptation=adaptation,
            adaptation_weight=training.adaptation_weight,
            layer=layer,
            layer_input=needs.layer_input,
            n_features=n_features,
            total_steps=steps * training.max_epochs,
            has_labelled_target=bool(training.labelled.any()),
            has_source_data=len(X_source) > 0,
        )


class SourceFree(AcrossDomains):
    """Adapt the source's weights to the target without the source's rows:
    ``target_weight * L_target + adaptation_weight * L_adapt``, every step
    on target batches only (an adaptation loss on the target's predictions,
    and the labelled target rows if any)."""

    name = "source_free"

    def check(self, prepared: PreparedNetwork, training: Training) -> None:
        super().check(prepared, training)
        # Without source rows every step's loss comes from the target: the
        # adaptation loss, or the labelled rows' (weighted by target_weight).
        if not training.adaptation_weight and not (
            training.labelled.any() and training.target_weight
        ):
            raise ValueError(
                "Without source data, adaptation_weight=0 leaves nothing to "
                "train on unless labelled target rows count (target_weight > "
                "0): give adaptation_weight > 0."
            )
        _check_head_transferred(prepared)

    def train(self, prepared: PreparedNetwork, X, y, training: Training):
        # No rows: every step draws target batches only.
        no_rows = replace(training, source_data=(X[:0], y[:0]))
        return super().train(prepared, X, y, no_rows)


def _check_head_transferred(prepared: PreparedNetwork) -> None:
    """Source-free adaptation keeps the source's hypothesis: a fresh output
    layer would be a random one (and frozen, with SHOT)."""
    report = prepared.report
    head = report[report["block"] == len(prepared.blocks) - 1]
    fresh = head[head["status"] != "transferred"]
    if len(fresh):
        # By label: a row's .shape is the Series' own, (n_columns,).
        row = fresh.iloc[0]
        raise ValueError(
            "Source-free adaptation needs the source's output layer, but "
            f"{row['parameter']} was not transferred (source shape "
            f"{row['source_shape']}, target {row['shape']}). Give classes= with "
            "all the classes the source predicts, in its order."
        )


def _check_reads_logits(
    adaptation: AdaptationLoss, needs: LossNeeds, n_features: int, n_outputs
) -> None:
    """A loss that reads class scores from the features at its ``layer``
    (InformationMaximization, MCC) must get the logits there: as many values
    as the network has outputs, not a hidden layer's softmax."""
    if (
        not needs.class_probabilities
        or not needs.features
        or n_outputs in (None, n_features)
    ):
        return
    raise ValueError(
        f"adaptation__layer={adaptation.layer!r}: {type(adaptation).__name__} "
        "reads class scores (logits) there, but that layer gives "
        f"{n_features} values per sample and the network has {n_outputs} "
        "outputs; use layer=-1 (the network's last block)."
    )
