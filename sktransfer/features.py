"""FeatureTransferTransformer: the activations of a source network as features."""

from __future__ import annotations

import contextlib
import copy
import itertools
from numbers import Integral

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._base import SourceEstimator, seeded
from ._base.validation import validate_samples
from ._network import trace
from ._network.blocks import resolve_layer
from ._network.layout import (
    MEMORY_FORMATS,
    channels_last,
    choose_memory_format,
    kept_layout,
)
from ._network.modes import StopForward, capture, eval_mode, lock_for
from ._params import Device, InstanceOf, Interval, Options, resolve_device
from ._precision import PRECISIONS, autocast, check_precision
from .models import MLP
from .source import SOURCE_KINDS, resolve_source

__all__ = ["FeatureTransferTransformer"]

_POOLINGS = (None, "avg", "max")
_DEFAULT_UNITS = 64  # width of both layers of the default random network


class FeatureTransferTransformer(TransformerMixin, SourceEstimator):
    """Activations of one layer of a source network, as features.

    The source network is used as a fixed feature extractor: ``transform``
    runs ``X`` through it in eval mode, without gradients and in batches, and
    returns the output of the chosen ``layer`` as a 2-D float32 array; the
    forward pass stops at that layer. Nothing is trained, so ``fit`` needs no
    labels: it checks ``X``, resolves the source and checks that the network
    takes ``X``. ``source`` is kept by reference through
    :func:`sklearn.base.clone`, so ``GridSearchCV`` can tune ``layer`` without
    copying the network per fold, and the source network is never modified
    (its training modes are restored and no hook outlives a call).

    Parameters
    ----------
    source : object, default=None
        The network: a fitted :class:`~sktransfer.TransferClassifier` or
        skorch net (its ``module_``), or a ``torch.nn.Module``. A state dict
        or path holds weights without an architecture and is refused. ``None``
        builds a randomly initialised
        ``MLP(n_features, n_classes=64, hidden_units=(64,))`` seeded by
        ``random_state``: random-projection features, meant for baselines and
        for scikit-learn's estimator checks, not for transfer.
    layer : int or str, default=-2
        Whose output is returned. An int indexes the network's *blocks* in
        forward order (negative indices count from the end, so ``-2`` is the
        penultimate block, e.g. ``fc1`` of :class:`~sktransfer.models.LeNet`).
        A block is a layer that owns parameters together with the
        normalisation layers that directly follow it (see ``freeze_depth``
        of :class:`~sktransfer.TransferClassifier`); its output is that of its
        last module, i.e. after its normalisation layer (LeNet's block ``0`` gives the
        output of ``bn1``). Activation functions applied functionally in
        ``forward`` (``torch.relu(...)``) are not included. A str names any
        module of ``named_modules()`` (e.g. ``"conv2"``, ``"bn2"``,
        ``"layers.2"``); a module called several times in one forward pass
        gives the output of its first call.
    pooling : {None, "avg", "max"}, default=None
        For a layer whose output is a 4-D map ``(n, C, H, W)``, ``"avg"`` and
        ``"max"`` pool globally over ``H`` and ``W`` (``C`` features); other
        outputs, and ``None``, are flattened to ``(n, -1)``.
    batch_size : int, default=256
        Number of samples per forward pass; bounds the memory used.
    device : str, default="cpu"
        Torch device to compute on (``"auto"``: CUDA when available). A
        network held on another device is copied to it once, in ``fit``;
        otherwise it is used in place. On CUDA, batches are copied from
        pinned memory with ``non_blocking=True``.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The dtype the forward passes compute in: ``"bfloat16"`` and
        ``"float16"`` run them under :func:`torch.autocast` (faster on GPUs);
        the features are returned as float32 either way. ``"float16"`` needs
        a GPU.
    memory_format : {"auto", "contiguous", "channels_last"}, default="auto"
        Memory layout of the forward passes for a convolutional network on
        image batches. ``"auto"`` runs them channels-last (NHWC) when the
        network gives the same output in it (faster on CPU:
        :doc:`/benchmarks`); the network's weights
        are converted for each :meth:`transform` and given back in their
        layout afterwards.
        ``"channels_last"`` raises a ``ValueError`` for a network that cannot
        take it.
    random_state : int, RandomState instance or None, default=None
        Seeds the default network when ``source`` is None; ignored otherwise.
        The global torch RNG is left as it was.

    Attributes
    ----------
    module_ : torch.nn.Module
        The network features are computed with: the source's own network
        (not a copy, unless it had to move to ``device``), or the default MLP.
    layer_name_ : str
        Name (in ``module_.named_modules()``) of the module whose output is
        returned; ``""`` for the whole network.
    blocks_ : list of str
        The network's blocks in forward order (what an int ``layer`` indexes).
    n_features_in_ : int
        ``X.shape[1]``: features for tables, channels for images.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string columns.
    input_shape_ : tuple of int
        The shape of one sample, ``X.shape[1:]``.
    n_features_out_ : int
        Number of output features.
    memory_format_ : str
        The layout the forward passes run in: ``"channels_last"`` or
        ``"contiguous"``.

    See Also
    --------
    sktransfer.TransferClassifier : Fine-tunes the source instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.features import FeatureTransferTransformer
    >>> from sktransfer.models import LeNet
    >>> X = np.random.RandomState(0).rand(6, 1, 28, 28)
    >>> features = FeatureTransferTransformer(LeNet(), layer="fc1").fit(X)
    >>> features.transform(X).shape
    (6, 128)
    >>> features.get_feature_names_out()[:3]
    array(['fc1_0', 'fc1_1', 'fc1_2'], dtype=object)
    >>> conv = FeatureTransferTransformer(LeNet(), layer="conv2", pooling="avg")
    >>> conv.fit_transform(X).shape
    (6, 64)
    """

    _constraints = {
        "layer": InstanceOf(
            (Integral, str), "an int (a block index) or a str (a module name)"
        ),
        "pooling": [None, Options("avg", "max")],
        "batch_size": Interval(Integral, 1),
        "device": Device(),
        "precision": Options(*PRECISIONS),
        "memory_format": Options(*MEMORY_FORMATS),
    }

    def __init__(
        self,
        source=None,
        *,
        layer=-2,
        pooling=None,
        batch_size=256,
        device="cpu",
        precision="float32",
        memory_format="auto",
        random_state=None,
    ):
        self.source = source
        self.layer = layer
        self.pooling = pooling
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory_format = memory_format
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, C, H, W) are taken too
        # The output is float32 whatever the input: float32 is what is kept.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- fit ------------------------------------------------------------------

    def fit(self, X, y=None):
        """Resolve the source and check that its network takes ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Inputs of the network: a table, or images in channels-first layout.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : FeatureTransferTransformer
            The fitted transformer.
        """
        X = validate_data(
            self, X, allow_nd=True, dtype=np.float32, ensure_all_finite=True
        )
        self._check_params()
        check_precision(self.precision, resolve_device(self.device))
        module = self._network(X)
        example = torch.tensor(X[:2], device=resolve_device(self.device))
        # trace resets every layer to the root's mode: keep each layer's own
        # mode (frozen batch norms of a fitted source).
        with eval_mode(module):
            blocks, _ = trace(module, example)
        self.module_ = module
        self.blocks_ = [b.name for b in blocks]
        self.layer_name_ = resolve_layer(module, blocks, self.layer)
        self.input_shape_ = tuple(X.shape[1:])
        self.memory_format_ = self._memory_format(module, example)
        self.n_features_out_ = self._extract(X[:2]).shape[1]
        return self

    def _memory_format(self, module: nn.Module, example: torch.Tensor) -> str:
        """The layout the forward passes run in, checked on ``example``; the
        network keeps its own layout."""
        if self.memory_format == "contiguous":
            return "contiguous"
        with kept_layout(module):  # the check converts the network
            return choose_memory_format(
                module, example, self.memory_format, resolve_device(self.device)
            )

    def _network(self, X: np.ndarray) -> nn.Module:
        """The source's network on ``device``, or the default random MLP."""
        source = resolve_source(self.source)
        if source is None:
            with seeded(self.random_state):  # built on the CPU
                module = MLP(
                    int(np.prod(X.shape[1:])),
                    n_classes=_DEFAULT_UNITS,
                    hidden_units=(_DEFAULT_UNITS,),
                )
            return module.to(resolve_device(self.device))
        self._source_description = source.description
        if source.module is None:
            raise ValueError(
                f"The source ({source.description}) holds weights without an "
                "architecture, so there are no layers to take features from. "
                f"Pass a torch.nn.Module or a fitted estimator; source can be "
                f"{SOURCE_KINDS}, but FeatureTransferTransformer needs a network."
            )
        module = source.module
        if not _is_on(module, torch.device(resolve_device(self.device))):
            # Moving the source itself would modify it.
            module = copy.deepcopy(module).to(resolve_device(self.device))
        return module

    # -- transform ------------------------------------------------------------

    def transform(self, X):
        """Run ``X`` through the network and return the layer's output.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        X_features : ndarray of shape (n_samples, ``n_features_out_``), dtype float32
            The output of ``layer``, pooled or flattened.
        """
        X = validate_samples(self, X)
        return self._extract(X)

    def _extract(self, X: np.ndarray) -> np.ndarray:
        """The pooled, flattened output of the layer, batch by batch."""
        module = self.module_
        chunks = []
        device = resolve_device(self.device)
        cuda = torch.device(device).type == "cuda"
        # A layer called twice gives its first output; nothing after it runs.
        # The hook lives on a network other threads may use: one at a time.
        fast = self.memory_format_ == "channels_last"
        with (
            lock_for(module),
            channels_last(module) if fast else contextlib.nullcontext(),
            capture(module, self.layer_name_, first_only=True, stop=True) as out,
        ):
            with eval_mode(module), torch.no_grad():
                for start in range(0, len(X), self.batch_size):
                    rows = X[start : start + self.batch_size]
                    # torch.tensor copies: read-only inputs are fine. On CUDA
                    # the copy goes through pinned memory, asynchronously.
                    batch = (
                        torch.tensor(rows).pin_memory().to(device, non_blocking=True)
                        if cuda
                        else torch.tensor(rows, device=device)
                    )
                    if fast:
                        batch = batch.contiguous(memory_format=torch.channels_last)
                    with (
                        contextlib.suppress(StopForward),
                        autocast(self.precision, device),
                    ):
                        module(batch)
                    chunks.append(self._features(out))
                    out.clear()
        return np.concatenate(chunks)

    def _features(self, captured: list[object]) -> np.ndarray:
        if not captured:
            raise ValueError(
                f"layer {self.layer_name_!r} is not called in the network's "
                "forward pass, so it has no output to return."
            )
        output = captured[0]
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f"layer {self.layer_name_!r} returns a {type(output).__name__}, "
                "not a tensor; choose another layer."
            )
        if output.dtype in (torch.float16, torch.bfloat16):  # under autocast
            output = output.float()  # pooled in float32
        if output.ndim == 4 and self.pooling == "avg":
            output = output.mean(dim=(2, 3))
        elif output.ndim == 4 and self.pooling == "max":
            output = output.amax(dim=(2, 3))
        return output.reshape(len(output), -1).float().cpu().numpy()

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``"<layer>_<i>"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``layer_name_`` followed by the feature's index, e.g. ``"fc1_0"``.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            names_in = getattr(self, "feature_names_in_", None)
            if names_in is not None and not np.array_equal(input_features, names_in):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to the number of "
                    f"features ({self.n_features_in_}), got {len(input_features)}."
                )
        prefix = self.layer_name_ or "output"
        return np.asarray(
            [f"{prefix}_{i}" for i in range(self.n_features_out_)], dtype=object
        )


def _is_on(module: nn.Module, device: torch.device) -> bool:
    """Whether all of the module's tensors are on ``device``."""
    return all(
        t.device.type == device.type
        and (device.index is None or t.device.index == device.index)
        for t in itertools.chain(module.parameters(), module.buffers())
    )
