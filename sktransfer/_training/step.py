"""The one training step every strategy's skorch net runs, and what it shares.

:class:`TrainingNet` is placed before skorch's ``NeuralNetClassifier`` or
``NeuralNetRegressor``. Its :meth:`~TrainingNet.train_step_single` is the
template of every training step, written once:

1. training mode (frozen norm layers kept in eval mode);
2. the batch's inputs on the device, ``augment`` applied
   (:meth:`~TrainingNet.step_inputs`);
3. the forward pass under ``precision``'s autocast, its outputs (and the
   captured layers) back in float32 (:meth:`~TrainingNet.step_forward`
   through :meth:`~TrainingNet.forward_pass`);
4. the loss (:meth:`~TrainingNet.step_loss`), plus the regularization's penalty;
5. the backward pass, scaled with float16 (the gradient scaler also steps
   the optimizers).

A strategy supplies only what differs, by overriding the three ``step_*``
hooks: how a batch becomes inputs, which network runs on them, and what the
loss reads. Fine-tuning's hooks are the defaults here; the prefix and domain
nets (:mod:`sktransfer._training.nets`) override them. A non-finite loss stops
the fit through :class:`~sktransfer._training.nets.NonFiniteGuard`, the one
guard every strategy's net gets.

The layers a step reads (the penalty's, an adaptation loss's) are tapped by
forward hooks registered once per fit (:class:`LayerTaps`), not once per step;
they record only during a training step's forward pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from skorch.dataset import unpack_data

from .._precision import as_float32, autocast, grad_scaler
from .regularized import RegularizationSetup, penalized

#: A tapped layer: (module name, whether its input rather than its output).
Tap = tuple[str, bool]


class LayerTaps:
    """Forward hooks on named layers, registered once, that keep the first
    output (or input) of each layer while :meth:`recording`.

    Outside a recording block the hooks do nothing: validation passes,
    callbacks' predictions and a loss's own forward passes record nothing.
    A network pickled or copied while tapped carries inert hooks (the taps
    pickle without their hooks' state).
    """

    def __init__(self, module: torch.nn.Module, taps: Iterable[Tap]) -> None:
        self.recorded: dict[Tap, torch.Tensor] | None = None
        self.handles = [
            module.get_submodule(tap[0]).register_forward_hook(_Hook(self, tap))
            for tap in sorted(set(taps))
        ]

    @contextlib.contextmanager
    def recording(self) -> Iterator[dict[Tap, torch.Tensor]]:
        """A block whose forward pass fills the yielded ``{tap: tensor}``."""
        self.recorded = recorded = {}
        try:
            yield recorded
        finally:
            self.recorded = None

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def __getstate__(self):
        return {"recorded": None, "handles": []}


class _Hook:
    """One layer's hook (a class, so a tapped network still pickles)."""

    __slots__ = ("taps", "tap")

    def __init__(self, taps: LayerTaps, tap: Tap) -> None:
        self.taps, self.tap = taps, tap

    def __call__(self, module, args, output) -> None:
        recorded = self.taps.recorded
        if recorded is not None and self.tap not in recorded:
            recorded[self.tap] = args[0] if self.tap[1] else output


class TrainingNet:
    """The template training step, and what every strategy's net shares.

    Frozen blocks stay frozen: frozen parameters are left out of the
    optimizer and ``frozen_norms`` stay in eval mode. ``augment`` transforms
    training batches. ``regularization`` (a
    :class:`~sktransfer._training.regularized.RegularizationSetup`) adds its
    penalty to every step's loss, recorded per batch as ``reg_loss``.

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

    # Set before skorch's __init__, which guards torch components set after it.
    def __init__(
        self,
        *args,
        frozen_norms=(),
        augment=None,
        precision="float32",
        regularization: RegularizationSetup | None = None,
        **kwargs,
    ):
        self.frozen_norms = frozen_norms
        self.augment = augment
        self.precision = precision
        self.regularization = regularization
        super().__init__(*args, **kwargs)

    # -- set-up -----------------------------------------------------------------

    def initialize_module(self):
        super().initialize_module()
        self.taps_ = None  # the fit loop's LayerTaps
        # Recorded at the first training step, on the training device.
        self.regularization_start_ = None
        if self.regularization is not None:
            # Saved with the network (skorch maps them to the device at load).
            attributes = self.cuda_dependent_attributes_
            if "regularization_start_" not in attributes:
                self.cuda_dependent_attributes_ = [*attributes, "regularization_start_"]
        return self

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        # A fresh optimizer starts from a fresh scale.
        self.grad_scaler_ = grad_scaler(self.precision, self.device)
        return self

    def get_all_learnable_params(self) -> Iterator[tuple[str, torch.nn.Parameter]]:
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    # -- the fit loop -------------------------------------------------------------

    def fit_loop(self, *args, **kwargs):
        # skorch ends a fit quietly on Ctrl-C; the estimator re-raises it.
        self.interrupted_ = False
        try:
            with self.tapping():
                return super().fit_loop(*args, **kwargs)
        except KeyboardInterrupt:
            self.interrupted_ = True
            raise
        finally:
            self.release_after_fit()

    @contextlib.contextmanager
    def tapping(self) -> Iterator[None]:
        """The training steps' layer taps, registered for the block."""
        self.taps_ = LayerTaps(self.module_, self.tapped_layers())
        try:
            yield
        finally:
            self.taps_.remove()
            self.taps_ = None

    def tapped_layers(self) -> set[Tap]:
        """The layers a training step reads: the penalty's outputs."""
        setup = self.regularization
        return {(name, False) for name in setup.layers.values()} if setup else set()

    def release_after_fit(self) -> None:
        """Drop what only the fit needed (a strategy's hook)."""

    def __getstate__(self):
        # A net pickled during its fit leaves the taps to the running fit.
        state = super().__getstate__()
        if state.get("taps_") is not None:
            state["taps_"] = None
        return state

    # -- the training step ----------------------------------------------------------

    def train_step_single(self, batch, **fit_params):
        """One training step: the template every strategy shares."""
        if getattr(self, "taps_", None) is None:  # a step outside the fit loop
            with self.tapping():
                return self.train_step_single(batch, **fit_params)
        self._set_training(True)
        X, loss_inputs = self.step_inputs(batch)
        with self.taps_.recording() as layers:
            y_pred = self.step_forward(X, **fit_params)
        if self.precision != "float32":
            layers = {tap: as_float32(out) for tap, out in layers.items()}
        loss, step = self.step_loss(y_pred, loss_inputs, layers)
        if self.regularization is not None:
            loss = penalized(self, loss, layers)
        self.backward(loss)
        return {"loss": loss, **step}

    # What a strategy supplies; fine-tuning's are the defaults.

    def step_inputs(self, batch):
        """The network's inputs for ``batch``, and what the loss needs besides
        the outputs."""
        Xi, yi = unpack_data(batch)
        return Xi, (Xi, yi)

    def step_forward(self, X, **fit_params):
        """The outputs the loss reads, from :meth:`forward_pass`."""
        return self.infer(X, **fit_params)

    def step_loss(self, y_pred, loss_inputs, layers: dict[Tap, torch.Tensor]):
        """The loss, and the step's results besides it (``y_pred``...);
        ``layers`` holds the tapped layers' float32 outputs."""
        Xi, yi = loss_inputs
        return self.get_loss(y_pred, yi, X=Xi, training=True), {"y_pred": y_pred}

    # -- forward passes --------------------------------------------------------------

    def forward_pass(self, network, x, **fit_params):
        """``network(x)`` on the device in ``precision``, outputs in float32;
        in training mode with frozen norms in eval and ``augment`` applied."""
        x = self.to_device(x)
        if self.module_.training:
            self.keep_frozen_norms_in_eval()
            if self.augment is not None:  # training batches only
                x = self.augmented(x)
        with self.autocast():
            out = network(x, **fit_params)
        return as_float32(out) if self.precision != "float32" else out

    def infer(self, x, **fit_params):
        # The whole network: predictions, validation, fine-tuning's steps
        # (and those of a mixin with its own step, e.g. AccelerateMixin).
        return self.forward_pass(super().infer, x, **fit_params)

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

    def autocast(self):
        """The context the network's forward passes run in."""
        return autocast(self.precision, self.device)

    def to_device(self, x):
        """A tensor on the net's device; non-blocking to CUDA."""
        if self.device is None or not isinstance(x, torch.Tensor):
            return x  # placed by someone else (an accelerator), or skorch's job
        return x.to(self.device, non_blocking=str(self.device).startswith("cuda"))

    # -- loss, backward, optimizer step ------------------------------------------------

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
