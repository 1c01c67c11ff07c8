"""The skorch nets the training strategies configure, one behaviour per mixin.

Every net keeps frozen blocks frozen (``frozen_norms`` in eval mode, frozen
parameters out of the optimizer), applies ``augment`` to training batches, and
runs forward passes in its ``precision`` with asynchronous copies to a CUDA
device.
The prefix nets run their training steps on cached prefix outputs through
``rest``; the domain nets train on mixed-domain batches. With a
``regularization``, every training step adds its penalty to the loss. Everything a net
needs comes in through its constructor, and prediction always runs the
whole network.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from .._network.modes import capture, eval_mode
from .._precision import as_float32, autocast, grad_scaler
from ..adaptation.base import AdaptationLoss, DomainBatch, TargetPass
from ..adaptation.objective import DomainSetup, joint_objective
from .regularized import Regularized as _Regularized


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


class _FrozenBlocks:
    """Frozen parameters out of the optimizer, frozen norms in eval mode, and
    ``augment`` on training batches."""

    # Set before skorch's __init__, which guards torch components set after it.
    def __init__(self, *args, frozen_norms=(), augment=None, **kwargs):
        self.frozen_norms = frozen_norms
        self.augment = augment
        super().__init__(*args, **kwargs)

    def get_all_learnable_params(self) -> Iterator[tuple[str, torch.nn.Parameter]]:
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def keep_frozen_norms_in_eval(self) -> None:
        # skorch switches every module to train mode before a training step.
        for name in self.frozen_norms:
            self.module_.get_submodule(name).eval()

    def augmented(self, x):
        """``augment(x)``, checked: a batch of the same shape comes back."""
        out = self.augment(x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                "augment must return a tensor of the batch's shape "
                f"{tuple(x.shape)}; got {got}."
            )
        return out

    def fit_loop(self, *args, **kwargs):
        # skorch ends a fit quietly on Ctrl-C; the estimator re-raises it.
        self.interrupted_ = False
        try:
            return super().fit_loop(*args, **kwargs)
        except KeyboardInterrupt:
            self.interrupted_ = True
            raise

    def infer(self, x, **fit_params):
        if self.module_.training:
            self.keep_frozen_norms_in_eval()
            if self.augment is not None:  # training batches only
                x = self.augmented(x)
        return super().infer(x, **fit_params)


class _DeviceSteps:
    """Forward passes in ``precision``, asynchronous copies to a CUDA device.

    ``precision`` is ``"float32"``, ``"bfloat16"`` or ``"float16"``: forward
    passes run under :func:`torch.autocast` and their outputs come back as
    float32, so losses are computed in float32 and predictions are float32.
    With float16, backward passes are scaled by a gradient scaler
    (``grad_scaler_``), which also steps the optimizers: steps whose scaled
    gradients overflowed are skipped and the scale is lowered. Callbacks see
    unscaled gradients (``on_grad_computed``, e.g. gradient clipping).

    On CUDA, tensors are copied with ``non_blocking=True``: from pinned
    memory (the loaders pin batches on CUDA) the copy overlaps with the host's
    work. Elsewhere nothing changes.
    """

    def __init__(self, *args, precision="float32", **kwargs):
        self.precision = precision
        super().__init__(*args, **kwargs)

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        # A fresh optimizer starts from a fresh scale.
        self.grad_scaler_ = grad_scaler(self.precision, self.device)
        return self

    def autocast(self):
        """The context the network's forward passes run in."""
        return autocast(self.precision, self.device)

    def to_device(self, x):
        """A tensor on the net's device; non-blocking to CUDA."""
        if self.device is None or not isinstance(x, torch.Tensor):
            return x  # placed by someone else (an accelerator), or skorch's job
        return x.to(self.device, non_blocking=str(self.device).startswith("cuda"))

    def infer(self, x, **fit_params):
        x = self.to_device(x)
        with self.autocast():
            out = super().infer(x, **fit_params)
        return as_float32(out) if self.precision != "float32" else out

    def get_loss(self, y_pred, y_true, *args, **kwargs):
        return super().get_loss(y_pred, self.to_device(y_true), *args, **kwargs)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, scaled with float16; gradients left unscaled."""
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            loss.backward()
            return
        scaler.scale(loss).backward()
        for name in self._optimizers:
            scaler.unscale_(getattr(self, name + "_"))

    def train_step_single(self, batch, **fit_params):
        # skorch's step, with the backward pass through ``backward``.
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with self.regularization_capture() as captured:
            y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss = self.regularized(loss, captured)
        self.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            return super()._step_optimizer(step_fn)
        # GradScaler takes no closure: one forward and backward pass, then
        # each optimizer steps unless the scaled gradients overflowed.
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()


class _PrefixSteps:
    """Training steps run ``rest`` on the frozen prefix's cached outputs.

    ``rest(prefix(X)) == module(X)``, and ``rest`` uses the module's own
    layers, so training it trains the network; predictions, and any
    callback's, run the whole network on raw inputs. ``rest`` is released
    when the fit ends (it may be a closure, and later training is on raw
    inputs).
    """

    def __init__(self, *args, rest=None, **kwargs):
        self.rest = rest
        super().__init__(*args, **kwargs)

    def train_step_single(self, batch, **fit_params):
        if self.rest is None:
            return super().train_step_single(batch, **fit_params)
        self.module_.train()
        self.keep_frozen_norms_in_eval()
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(self.to_device(Xi), device=self.device)
        # ``rest`` runs the module's own layers: a hook on one of them fires
        # (the rule table only cuts before the penalty's layers).
        with self.regularization_capture() as captured, self.autocast():
            y_pred = self.rest(Xi, **fit_params)
        if self.precision != "float32":
            y_pred = as_float32(y_pred)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss = self.regularized(loss, captured)
        self.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def fit_loop(self, *args, **kwargs):
        try:
            return super().fit_loop(*args, **kwargs)
        finally:
            self.rest = None


class _DomainSteps:
    """Training steps on mixed-domain batches, minimising the joint objective.

    Batches come from :class:`~sktransfer._training.loaders.DomainBatches`;
    the adaptation loss sees a :class:`~sktransfer.adaptation.base.DomainBatch`
    and its parts (``build_for``) are registered as the net's ``critic_``, so
    they are trained, moved to the device and saved with the net.
    """

    def __init__(self, *args, domain: DomainSetup | None = None, **kwargs):
        self.domain = domain
        super().__init__(*args, **kwargs)

    def initialize_module(self):
        super().initialize_module()
        self.domain_step_ = 0
        adaptation = self.domain.adaptation
        if adaptation is not None:
            parts = adaptation.build_for(self.module_, self.domain.n_features)
            if parts is not None:
                self.critic_ = parts.to(self.device)
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        adaptation = self.domain.adaptation
        if adaptation is not None and _overrides_before_epoch(adaptation):
            outputs = self.target_pass(dataset_train.X)
            adaptation.before_epoch(outputs, getattr(self, "critic_", None))

    def target_pass(self, X) -> TargetPass:
        """The network's logits and ``layer`` features for every row of ``X``,
        in evaluation mode (frozen norms too) and without gradients."""
        layer, module = self.domain.layer, self.module_
        logits, features = [], []
        with eval_mode(module), torch.no_grad(), self.autocast():
            for start in range(0, len(X), self.batch_size):
                rows = torch.as_tensor(X[start : start + self.batch_size])
                rows = self.to_device(rows)
                if layer is None:
                    logits.append(as_float32(module(rows)))
                    continue
                with capture(module, layer, inputs=self.domain.layer_input) as captured:
                    logits.append(as_float32(module(rows)))
                features.append(as_float32(captured[0]).flatten(1))
        return TargetPass(
            logits=torch.cat(logits), features=torch.cat(features) if features else None
        )

    def train_step_single(self, batch, **fit_params):
        setup = self.domain
        X_s, y_s, X_t, X_l, y_l = (self.to_device(b) for b in batch)
        parts = getattr(self, "critic_", None)
        for module in (self.module_, parts):
            if module is not None:
                module.train()
        self.keep_frozen_norms_in_eval()
        sizes = [len(X_s), len(X_l), len(X_t)]
        X = torch.cat([X_s, X_l, X_t])
        if self.augment is not None:
            X = self.augmented(X)
        hooked = setup.layer is not None and len(X_t)
        features = None
        with self.regularization_capture() as reg_captured, self.autocast():
            if hooked:
                with capture(
                    self.module_, setup.layer, inputs=setup.layer_input
                ) as captured:
                    logits = self.module_(X)
                features = captured[0]
            else:
                logits = self.module_(X)
        if self.precision != "float32":
            # The objective, adaptation losses and critics run in float32.
            logits, features = as_float32(logits), as_float32(features)
        features_s = features_t = None
        if hooked:
            features_s, _, features_t = features.split(sizes)
        logits_s, logits_l, logits_t = logits.split(sizes)
        step = self.domain_step_
        domain_batch = DomainBatch(
            X_source=X_s, y_source=y_s, X_target=X_t, X_labelled=X_l,
            y_labelled=y_l, logits_source=logits_s, logits_target=logits_t,
            logits_labelled=logits_l, features_source=features_s,
            features_target=features_t,
            progress=min(step / max(setup.total_steps, 1), 1.0), step=step,
            parts=parts, network=self.module_,
            target_rows=self.to_device(getattr(batch, "target_rows", None)),
        )  # fmt: skip
        loss, terms = joint_objective(self.criterion_, domain_batch, setup)
        loss = self.regularized(loss, reg_captured)
        self.backward(loss)
        self.domain_step_ = step + 1
        for name, value in terms.items():
            self.history.record_batch(name, value)
        return {"loss": loss, "y_pred": logits_s, "domain_batch": domain_batch}

    def fit_loop(self, *args, **kwargs):
        try:
            return super().fit_loop(*args, **kwargs)
        finally:
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
            parts = getattr(self, "critic_", None)
            self.domain.adaptation.after_training(self.module_, parts)


def _overrides_before_epoch(adaptation: AdaptationLoss) -> bool:
    return type(adaptation).before_epoch is not AdaptationLoss.before_epoch


class ClassifierNet(_Regularized, _FrozenBlocks, _DeviceSteps, NeuralNetClassifier):
    """Fine-tuning a classifier."""


class RegressorNet(_Regularized, _FrozenBlocks, _DeviceSteps, NeuralNetRegressor):
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
}
