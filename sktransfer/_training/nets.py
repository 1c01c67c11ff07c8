"""The skorch nets the training strategies configure, and the guard on their loss.

Every net is a :class:`~sktransfer._training.step.TrainingNet`: one
training step (training mode, frozen norms, precision, loss, penalty,
backward), one ``infer``, one ``fit_loop``. Fine-tuning uses its step as it
is; the prefix nets supply the inputs and forward pass of a step on cached
prefix outputs (``rest``), the domain nets those of a step on mixed-domain
batches and its joint objective. Everything a net needs comes in through its
constructor, and prediction always runs the whole network.
"""

from __future__ import annotations

import math
import warnings

import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from .._network.modes import eval_mode
from .._precision import as_float32
from ..adaptation.base import DomainBatch, TargetPass
from ..adaptation.objective import DomainSetup, joint_objective
from .step import TrainingNet


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss, or a network whose outputs
    are not finite."""


def check_finite_outputs(net, X) -> None:
    """Refuse a fitted ``net`` whose outputs for ``X`` (a batch of the
    training rows) are not finite.

    :class:`NonFiniteGuard` sees the loss *before* each step: the last step
    can still blow the weights up (a huge ``lr``), and a source's weights
    may give NaN with ``max_epochs=0``. Every prediction of such a network
    would be NaN, or a label read from NaN, without a word.
    """
    out = net.forward(X)
    outs = out if isinstance(out, tuple | list) else (out,)
    if all(
        bool(torch.isfinite(o).all())
        for o in outs
        if isinstance(o, torch.Tensor) and o.is_floating_point()
    ):
        return
    raise NonFiniteLossError(
        "fit ended with a network whose outputs are not finite (NaN or "
        "infinity) for the training rows, so its predictions would be "
        "meaningless: its weights grew too large or became NaN (the last "
        "step can do it after a finite loss). Lower lr, check that the "
        "inputs are finite and of a sensible scale, and that the source's "
        "weights are finite."
    )


class NonFiniteGuard(Callback):
    """Stops training with a clear error as soon as a batch's loss is not
    finite, instead of returning a NaN network that looks fitted.

    The loss is the one returned by the training step, unscaled: with
    ``precision="float16"`` the gradient scaler skips the steps whose scaled
    gradients overflow, which is normal, and those losses are finite.
    """

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        loss = kwargs.get("loss")
        if not training or loss is None:
            return
        record = net.history[-1]
        # skorch has already copied the loss to the host for the history:
        # reading it there spares a second device synchronisation per step.
        value = record["batches"][-1].get("train_loss")
        if value is None:  # a loop that records no train_loss
            value = float(loss.detach().sum())
        if math.isfinite(value):
            return
        terms = {k: v for k, v in record["batches"][-1].items() if k.endswith("_loss")}
        bad = [k for k, v in terms.items() if not math.isfinite(v)] or ["train_loss"]
        hint = (
            " With precision='float16' the forward pass can overflow float16's "
            "range (about 65504): try precision='bfloat16'."
            if getattr(net, "precision", None) == "float16"
            else ""
        )
        raise NonFiniteLossError(
            f"Training stopped in epoch {record['epoch']}, batch "
            f"{len(record['batches'])}: the loss is {value} ({', '.join(bad)} "
            f"not finite; terms: {terms}). Lower lr, check that the inputs and "
            "targets are finite and of a sensible scale, and check the "
            f"adaptation loss's settings.{hint}"
        )


class _PrefixSteps:
    """Training steps run ``rest`` on the frozen prefix's cached outputs.

    ``rest(prefix(X)) == module(X)``, and ``rest`` uses the module's own
    layers, so training it trains the network (and a tap on one of them
    records: the rule table only cuts before the penalty's layers);
    predictions, and any callback's, run the whole network on raw inputs.
    ``rest`` is released when the fit ends (it may be a closure, and later
    training is on raw inputs).
    """

    def __init__(self, *args, rest=None, **kwargs):
        self.rest = rest
        super().__init__(*args, **kwargs)

    def step_inputs(self, batch):
        if self.rest is None:
            return super().step_inputs(batch)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=None)  # placed by forward_pass
        return Xi, (Xi, yi)

    def step_forward(self, X, **fit_params):
        if self.rest is None:
            return super().step_forward(X, **fit_params)
        return self.forward_pass(self.rest, X, **fit_params)

    def release_after_fit(self) -> None:
        super().release_after_fit()
        self.rest = None


class _DomainSteps:
    """Training steps on mixed-domain batches, minimising the joint objective.

    Batches come from :class:`~sktransfer._training.loaders.DomainBatches`;
    the adaptation loss sees a :class:`~sktransfer.adaptation.base.DomainBatch`.
    What the loss needs is read once, from ``domain.needs``
    (:class:`~sktransfer.adaptation.objective.LossNeeds`): its parts
    (``build_for``: a domain critic, a mean teacher) are registered as the
    net's ``adaptation_parts_``, so they are trained, moved to the device and
    saved with the net; a loss that wants a pass over the target gets it at
    each epoch's start (``before_epoch``).
    """

    def __init__(self, *args, domain: DomainSetup | None = None, **kwargs):
        self.domain = domain
        super().__init__(*args, **kwargs)

    def initialize_module(self):
        super().initialize_module()
        self.domain_step_ = 0
        if self.domain.needs.parts:
            adaptation = self.domain.adaptation
            parts = adaptation.build_for(self.module_, self.domain.n_features)
            if parts is not None:
                self.adaptation_parts_ = parts.to(self.device)
        return self

    @property
    def critic_(self):
        """Deprecated: what the adaptation loss built, now
        ``adaptation_parts_`` (a domain critic or a mean teacher)."""
        warnings.warn(
            "net_.critic_ is renamed adaptation_parts_ (what the adaptation "
            "loss's build_for returned: a domain critic or a mean teacher); "
            "critic_ will be removed: use net_.adaptation_parts_.",
            FutureWarning,
            stacklevel=2,
        )
        return self.adaptation_parts_

    def __setstate__(self, state):
        super().__setstate__(state)
        # A net pickled before the rename holds its loss's parts as critic_.
        if "critic_" in vars(self):
            vars(self)["adaptation_parts_"] = vars(self).pop("critic_")
            renamed = {"critic": "adaptation_parts", "critic_": "adaptation_parts_"}
            for name in ("prefixes_", "cuda_dependent_attributes_", "_modules"):
                if name in vars(self):
                    vars(self)[name] = [renamed.get(n, n) for n in vars(self)[name]]

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        if self.domain.needs.target_pass:
            outputs = self.target_pass(dataset_train.X)
            self.domain.adaptation.before_epoch(outputs, self._adaptation_parts())

    def _adaptation_parts(self):
        """What the loss built (``None`` when it built nothing)."""
        return vars(self).get("adaptation_parts_")

    def target_pass(self, X) -> TargetPass:
        """The network's logits and ``layer`` features for every row of ``X``,
        in evaluation mode (frozen norms too) and without gradients; read
        through the fit loop's taps."""
        tap = (self.domain.layer, self.domain.layer_input)
        logits, features = [], []
        with eval_mode(self.module_), torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                rows = torch.as_tensor(X[start : start + self.batch_size])
                with self.taps_.recording() as layers:
                    logits.append(self.forward_pass(self.module_, rows))
                if tap[0] is not None:
                    features.append(as_float32(layers[tap]).flatten(1))
        return TargetPass(
            logits=torch.cat(logits), features=torch.cat(features) if features else None
        )

    def tapped_layers(self):
        taps = super().tapped_layers()
        if self.domain.layer is not None:
            taps.add((self.domain.layer, self.domain.layer_input))
        return taps

    def step_inputs(self, batch):
        X_s, y_s, X_t, X_l, y_l = (self.to_device(b) for b in batch)
        rows = self.to_device(getattr(batch, "target_rows", None))
        # One forward pass over the three batches.
        return torch.cat([X_s, X_l, X_t]), (X_s, y_s, X_t, X_l, y_l, rows)

    def step_forward(self, X, **fit_params):
        return self.forward_pass(self.module_, X)

    def step_loss(self, logits, loss_inputs, layers):
        setup = self.domain
        X_s, y_s, X_t, X_l, y_l, rows = loss_inputs
        sizes = [len(X_s), len(X_l), len(X_t)]
        logits_s, logits_l, logits_t = logits.split(sizes)
        features_s = features_t = None
        if setup.layer is not None and len(X_t):
            features = layers[setup.layer, setup.layer_input]
            features_s, _, features_t = features.split(sizes)
        step = self.domain_step_
        domain_batch = DomainBatch(
            X_source=X_s, y_source=y_s, X_target=X_t, X_labelled=X_l,
            y_labelled=y_l, logits_source=logits_s, logits_target=logits_t,
            logits_labelled=logits_l, features_source=features_s,
            features_target=features_t,
            progress=min(step / max(setup.total_steps, 1), 1.0), step=step,
            parts=self._adaptation_parts(), network=self.module_,
            target_rows=rows,
        )  # fmt: skip
        loss, terms = joint_objective(self.criterion_, domain_batch, setup)
        self.domain_step_ = step + 1
        for name, value in terms.items():
            self.history.record_batch(name, value)
        return loss, {"y_pred": logits_s, "domain_batch": domain_batch}

    def release_after_fit(self) -> None:
        super().release_after_fit()
        # Released when the fit ends, like a prefix net's ``rest``:
        # predicting needs no source row, and a fitted model would hold
        # its copy of Source.X for as long as it lives. Nothing trains
        # the net again (the estimator's fit builds a new one).
        self.iterator_train__source = None

    def __getstate__(self):
        # A net saved during its fit does not carry the source rows either.
        state = super().__getstate__()
        if "iterator_train__source" in state:
            state["iterator_train__source"] = None
        return state

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self.domain.adaptation is not None:
            self.domain.adaptation.after_step(step["domain_batch"])
        return step

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        if self.domain.adaptation is not None:
            parts = self._adaptation_parts()
            self.domain.adaptation.after_training(self.module_, parts)


class ClassifierNet(TrainingNet, NeuralNetClassifier):
    """Fine-tuning a classifier."""


class RegressorNet(TrainingNet, NeuralNetRegressor):
    """Fine-tuning a regressor."""


class PrefixClassifierNet(_PrefixSteps, ClassifierNet):
    """Fine-tuning a classifier on cached frozen-prefix outputs."""


class PrefixRegressorNet(_PrefixSteps, RegressorNet):
    """Fine-tuning a regressor on cached frozen-prefix outputs."""


class DomainClassifierNet(_DomainSteps, ClassifierNet):
    """Training a classifier across domains."""


class DomainRegressorNet(_DomainSteps, RegressorNet):
    """Training a regressor across domains."""


#: The net of each (task, strategy).
NETS = {
    ("classifier", "fine_tune"): ClassifierNet,
    ("regressor", "fine_tune"): RegressorNet,
    ("classifier", "frozen_prefix"): PrefixClassifierNet,
    ("regressor", "frozen_prefix"): PrefixRegressorNet,
    ("classifier", "across_domains"): DomainClassifierNet,
    ("regressor", "across_domains"): DomainRegressorNet,
    # Regressors refuse source-free adaptation (their outputs are no classes).
    ("classifier", "source_free"): DomainClassifierNet,
}
