"""The skorch net that TransferClassifier trains."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from skorch import NeuralNetClassifier
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler


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
    """skorch classifier that respects frozen blocks.

    Frozen parameters (``requires_grad=False``) are kept out of the optimizer,
    and the normalisation layers listed in ``frozen_norms_`` stay in eval mode
    while the rest of the module trains, so their running statistics stay
    those of the source.
    """

    frozen_norms_: list[torch.nn.Module] = []
    augment_ = None

    def get_all_learnable_params(self) -> Iterator[tuple[str, torch.nn.Parameter]]:
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def infer(self, x, **fit_params):
        # skorch switches the whole module to train mode before each training
        # step; put the frozen norm layers back into eval mode right before
        # the forward pass.
        if self.module_.training:
            for layer in self.frozen_norms_:
                layer.eval()
            if self.augment_ is not None:  # training batches only
                x = self.augment_(x)
        return super().infer(x, **fit_params)
