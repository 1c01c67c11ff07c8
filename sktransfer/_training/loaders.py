"""How training rows reach a skorch net: plain batches, and mixed-domain batches."""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler
from torch.utils.data import Dataset as TorchDataset


class BatchLoader(DataLoader):
    """DataLoader that fetches each mini-batch with one fancy-indexing call.

    skorch's datasets accept an array of indices, so a batch is one
    ``X[indices]`` instead of ``batch_size`` single-row lookups followed by a
    stack: the per-sample Python overhead of the default loader goes away.
    ``generator`` draws the shuffles (and the loader's per-pass seed), as in
    torch's DataLoader.
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        drop_last=False,
        generator=None,
        **kw,
    ):
        order = (
            RandomSampler(dataset, generator=generator)
            if shuffle
            else SequentialSampler(dataset)
        )
        sampler = BatchSampler(order, batch_size, drop_last)
        super().__init__(
            _Rows(dataset), batch_size=None, sampler=sampler, generator=generator, **kw
        )


class _Rows(TorchDataset):
    """A skorch dataset indexed by a batch of rows.

    skorch indexes arrays through scikit-learn's ``_safe_indexing`` (about
    50 µs a call here, twice a batch): at GPU step times that is a good part
    of a step. Its plain ``Dataset`` of NumPy arrays is indexed directly,
    with the same result; any other dataset is asked as usual.
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.plain = (
            type(dataset) is Dataset
            and not dataset.X_is_ndframe
            and isinstance(dataset.X, np.ndarray)
            and (dataset.y is None or isinstance(dataset.y, np.ndarray))
        )

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, rows):
        data = self.dataset
        if not self.plain:
            return data[rows]
        return data.transform(data.X[rows], None if data.y is None else data.y[rows])


class IndexStream:
    """Endless shuffled passes over ``range(n)``, drawn ``k`` indices at a time.

    The position survives across epochs, so a small domain cycles through its
    rows while a large one is still on its first pass, and no data set is
    re-scanned at the start of an epoch. Shuffles draw from ``generator``
    (the fit's own), else from torch's global RNG.
    """

    def __init__(self, n: int, generator: torch.Generator | None = None) -> None:
        self.n = n
        self.generator = generator
        self.order = torch.randperm(n, generator=generator)
        self.position = 0

    def take(self, k: int) -> np.ndarray:
        out = []
        while k > 0:
            if self.position == self.n:
                self.order = torch.randperm(self.n, generator=self.generator)
                self.position = 0
            step = min(k, self.n - self.position)
            out.append(self.order[self.position : self.position + step])
            self.position += step
            k -= step
        return torch.cat(out).numpy() if out else np.empty(0, dtype=np.int64)


class DomainStep:
    """The five batches of one step across domains, unpacked by iteration.

    Not a tuple on purpose: skorch weighs each step's loss by ``len(batch[0])``
    for a tuple (the source batch, empty in source-free adaptation) and by
    ``len(batch)`` otherwise, which is the step's largest batch here.
    """

    __slots__ = ("batches", "target_rows")

    def __init__(self, *batches: torch.Tensor, target_rows: torch.Tensor) -> None:
        self.batches = batches
        self.target_rows = target_rows  # indices of X_t's rows in the target

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return max(len(b) for b in self.batches)


class DomainBatches:
    """skorch training iterator yielding ``(X_s, y_s, X_t, X_l, y_l)`` per step
    (a :class:`DomainStep`).

    ``X_s, y_s``: a batch of labelled source rows; ``X_t``: a batch of target
    rows, labelled or not, for the adaptation loss (empty without one);
    ``X_l, y_l``: a batch of labelled target rows (empty when there are
    none). An epoch has ``ceil(max(n_source, n_target) / batch_size)`` steps.

    Parameters
    ----------
    dataset : skorch Dataset
        The target rows.
    batch_size : int
        Rows per domain and step.
    source : tuple of arrays
        The source rows and their encoded labels (or targets); none for
        source-free adaptation.
    adapt : bool
        Whether target batches are drawn for an adaptation loss.
    labelled : ndarray of bool
        Which target rows are labelled.
    pin_memory : bool, default=False
        Yield batches in pinned memory, for asynchronous copies to CUDA.
    generator : torch.Generator, default=None
        Draws the shuffles; ``None``: torch's global RNG.
    """

    def __init__(
        self,
        dataset,
        batch_size=64,
        shuffle=True,
        *,
        source,
        adapt,
        labelled,
        pin_memory=False,
        generator=None,
        **_,
    ):
        if source is None:
            raise ValueError(
                "This net's source rows were released when the fit ended (a "
                "fitted model keeps none): fit the estimator again to train "
                "across domains."
            )
        self.X_target, y = dataset.X, np.asarray(dataset.y)
        self.X_source, self.y_source = source
        self.batch_size = batch_size
        self.adapt = adapt
        self.labelled = np.flatnonzero(labelled)
        self.y_labelled = y[self.labelled]
        self.steps = math.ceil(max(len(self.X_source), len(self.X_target)) / batch_size)
        self.pin_memory = pin_memory
        self.generator = generator
        self.streams = None

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        if self.streams is None:  # created lazily, under the estimator's seed
            g = self.generator
            self.streams = (
                IndexStream(len(self.X_source), g),
                IndexStream(len(self.X_target), g),
                IndexStream(len(self.labelled), g) if len(self.labelled) else None,
            )
        source, target, labelled = self.streams
        empty_x = torch.empty((0, *self.X_target.shape[1:]))
        empty_y = torch.as_tensor(self.y_labelled[:0])
        # Source-free adaptation: no source rows to draw.
        take_source = self.batch_size if len(self.X_source) else 0
        for _ in range(self.steps):
            s = source.take(take_source)
            t = target.take(self.batch_size if self.adapt else 0)
            X_t = torch.as_tensor(self.X_target[t]) if self.adapt else empty_x
            if labelled is not None:
                rows = labelled.take(min(self.batch_size, len(self.labelled)))
                X_l = torch.as_tensor(self.X_target[self.labelled[rows]])
                y_l = torch.as_tensor(self.y_labelled[rows])
            else:
                X_l, y_l = empty_x, empty_y
            batch = (
                torch.as_tensor(self.X_source[s]),
                torch.as_tensor(self.y_source[s]),
                X_t,
                X_l,
                y_l,
            )
            if self.pin_memory:
                batch = tuple(b.pin_memory() for b in batch)
            yield DomainStep(*batch, target_rows=torch.as_tensor(t))
