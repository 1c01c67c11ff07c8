"""The skorch net that TransferClassifier trains."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from skorch import NeuralNetClassifier
from skorch.utils import to_device, to_tensor
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from .adaptation.objective import DomainSetup, joint_objective


class BatchLoader(DataLoader):
    """DataLoader that fetches each mini-batch with one fancy-indexing call.

    skorch's datasets accept an array of indices, so a batch is one
    ``X[indices]`` instead of ``batch_size`` single-row lookups followed by a
    stack: the per-sample Python overhead of the default loader goes away.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, **kw):
        order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        sampler = BatchSampler(order, batch_size, drop_last)
        super().__init__(dataset, batch_size=None, sampler=sampler, **kw)


class TransferNet(NeuralNetClassifier):
    """skorch classifier that respects frozen blocks and trains across domains.

    Frozen parameters (``requires_grad=False``) are kept out of the optimizer,
    and the normalisation layers listed in ``frozen_norms_`` stay in eval mode
    while the rest of the module trains, so their running statistics stay
    those of the source. With a ``domain_`` setup, each training step takes a
    mixed batch from :class:`~sktransfer.adaptation.batches.DomainBatches`
    and minimises the joint objective. While ``rest_`` is set (during a fit on
    the outputs of a frozen prefix, see :mod:`sktransfer.prefix`), inputs of
    the prefix's output shape go through ``rest_`` instead of the module.
    """

    frozen_norms_: list[torch.nn.Module] = []
    augment_ = None
    domain_: DomainSetup | None = None
    rest_ = None
    rest_shape_: tuple[int, ...] | None = None

    def initialize_module(self):
        super().initialize_module()
        if self.domain_ is not None and self.domain_.critic is not None:
            # Registered as a module of the net: trained by the optimizer,
            # moved to the device, saved with the net.
            self.critic_ = self.domain_.critic.to(self.device)
        return self

    def get_all_learnable_params(self) -> Iterator[tuple[str, torch.nn.Parameter]]:
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def _train_mode(self) -> None:
        for layer in self.frozen_norms_:
            layer.eval()

    def infer(self, x, **fit_params):
        # skorch switches the whole module to train mode before each training
        # step; put the frozen norm layers back into eval mode right before
        # the forward pass.
        if self.module_.training:
            self._train_mode()
            if self.augment_ is not None:  # training batches only
                x = self.augment_(x)
        shape = getattr(x, "shape", None)
        if (
            self.rest_ is not None
            and shape is not None
            and shape[1:] == self.rest_shape_
        ):
            return self.rest_(to_tensor(x, device=self.device), **fit_params)
        return super().infer(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        setup = self.domain_
        if setup is None:
            return super().train_step_single(batch, **fit_params)
        X_s, y_s, X_t, X_l, y_l = (to_device(b, self.device) for b in batch)
        self.module_.train()
        if setup.critic is not None:
            self.critic_.train()
        self._train_mode()
        sizes = [len(X_s), len(X_l), len(X_t)]
        X = torch.cat([X_s, X_l, X_t])
        if self.augment_ is not None:
            X = self.augment_(X)
        captured = []
        handle = None
        if setup.layer is not None and len(X_t):
            layer = self.module_.get_submodule(setup.layer)
            handle = layer.register_forward_hook(lambda m, a, out: captured.append(out))
        try:
            logits = self.module_(X)
        finally:
            if handle is not None:
                handle.remove()
        logits_s, logits_l, _ = logits.split(sizes)
        features_s = features_t = None
        if captured:
            features_s, _, features_t = captured[0].split(sizes)
        progress = min(setup.step / max(setup.total_steps, 1), 1.0)
        loss, parts = joint_objective(
            self.criterion_, logits_s, y_s, logits_l, y_l,
            features_s, features_t, setup, progress,
        )  # fmt: skip
        loss.backward()
        setup.step += 1
        for name, value in parts.items():
            self.history.record_batch(name, value)
        return {"loss": loss, "y_pred": logits_s}
