"""Computing a frozen prefix of a network once, and sharing it across fits.

When the first blocks of a network are frozen, every epoch recomputes the
same outputs for them. :class:`~sktransfer.TransferClassifier` (with
``cache_frozen="auto"``) instead splits the network into ``prefix`` and
``rest`` at the input of the first trainable block, runs ``prefix`` over the
training inputs once, in batches and without gradients, and trains ``rest`` on
those outputs. ``rest`` is made of the network's own layers, so the trained
network is the full one and predicts from raw inputs.

When the cut is made
--------------------
A network's ``forward`` is arbitrary code, so the cut is made only where it is
known to be exact, and otherwise the plain path runs, silently:

1. The frozen blocks are a prefix of the blocks in forward order, at least
   one block is frozen and at least one is trainable; the fit is not across
   domains, has no ``augment`` (it would change the prefix's input every
   epoch) and trains at least one epoch; the rows reach the network as they
   are (skorch's default ``dataset`` and sktransfer's batch loaders, with no
   ``dataset__*`` and no ``iterator_*__*`` settings beyond ``shuffle``,
   ``drop_last``, ``num_workers`` and ``pin_memory``: a custom dataset or
   ``collate_fn`` could transform them).
2. The network can be split at ``layer``, the first module of the first
   trainable block:

   - a plain ``nn.Sequential`` (``forward`` not overridden, no hooks on it) is
     cut before the child that holds ``layer``, recursing into a child that
     is itself a plain ``nn.Sequential``; parameter-free children that
     depend on the training mode (dropout) just before the cut move to
     ``rest``;
   - any other network opts in by defining ``split_forward(layer)``, which
     returns ``(prefix, rest)``: two callables such that ``rest(prefix(X))``
     computes what ``forward(X)`` does, in training and in eval mode, where
     ``prefix`` uses no module from ``layer`` on; or ``None`` where it cannot
     cut there (:class:`~sktransfer.models.LeNet` and
     :class:`~sktransfer.models.MLP` define it). :func:`split_sequential`
     helps for networks built around an ``nn.Sequential``.
3. The prefix is the same function in training and in eval mode, and is
   deterministic, so that computing it once in eval mode equals computing it
   every step in training mode: every module it calls is of a type in
   :data:`MODE_INDEPENDENT` (exact type: a subclass could override
   ``forward``), dropout with ``p = 0``, a frozen batch norm with running
   statistics (kept in eval mode while training anyway), or an instance norm
   that is frozen or uses each sample's statistics. A custom layer, dropout
   with ``p > 0``, a normalisation layer that uses batch statistics, any
   randomness: no cut.
4. Checked on two samples: the prefix's output is one tensor that needs no
   gradient (so it depends on no trainable parameter); ``rest(prefix(X))``
   equals ``forward(X)``; the prefix gives the same output in training mode
   and leaves the torch random state untouched (so dropout in ``rest`` and
   the shuffling draw the same random numbers as in the plain path).

The cache
---------
Across the folds and candidates of a ``GridSearchCV`` with a fixed freeze
depth, the same prefix runs over the same training rows again and again. The
outputs are therefore kept in a per-process LRU cache keyed by a BLAKE2b hash
of the network's structure (module types and their plain settings), the cut,
the frozen parameters and all buffers, the device, and the bytes of ``X``; a
grid over the learning rate pays for the prefix once per distinct fold. The
cache holds at most :func:`get_cache_limit` bytes (1 GiB by default;
:func:`set_cache_limit`), evicting the least recently used outputs first, and
a fit whose prefix outputs would exceed that limit does not cut at all (they
could be much larger than ``X``). :func:`clear_cache` empties it and
:func:`cache_info` reports its use. Each process (e.g. each joblib worker) has
its own cache; keys depend on content only, never on object identities.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from . import freezing

__all__ = [
    "MODE_INDEPENDENT",
    "cache_info",
    "clear_cache",
    "get_cache_limit",
    "set_cache_limit",
    "split_network",
    "split_sequential",
]

Split = tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], object]]

#: Module types whose output does not depend on the training mode and that
#: draw no random numbers: a prefix made of these (and of frozen
#: normalisation layers) may be computed once.
MODE_INDEPENDENT: frozenset[type[nn.Module]] = frozenset(
    {
        nn.Sequential,
        nn.Identity,
        nn.Flatten,
        nn.Unflatten,
        nn.Linear,
        nn.Bilinear,
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.ConvTranspose1d,
        nn.ConvTranspose2d,
        nn.ConvTranspose3d,
        nn.Embedding,
        nn.EmbeddingBag,
        nn.LayerNorm,
        nn.GroupNorm,
        nn.ReLU,
        nn.ReLU6,
        nn.LeakyReLU,
        nn.PReLU,
        nn.ELU,
        nn.SELU,
        nn.CELU,
        nn.GELU,
        nn.SiLU,
        nn.Mish,
        nn.Sigmoid,
        nn.Tanh,
        nn.Hardtanh,
        nn.Hardswish,
        nn.Hardsigmoid,
        nn.Softplus,
        nn.Softsign,
        nn.Tanhshrink,
        nn.Softshrink,
        nn.Hardshrink,
        nn.Threshold,
        nn.LogSigmoid,
        nn.Softmax,
        nn.LogSoftmax,
        nn.Softmin,
        nn.GLU,
        nn.MaxPool1d,
        nn.MaxPool2d,
        nn.MaxPool3d,
        nn.AvgPool1d,
        nn.AvgPool2d,
        nn.AvgPool3d,
        nn.AdaptiveAvgPool1d,
        nn.AdaptiveAvgPool2d,
        nn.AdaptiveAvgPool3d,
        nn.AdaptiveMaxPool1d,
        nn.AdaptiveMaxPool2d,
        nn.AdaptiveMaxPool3d,
        nn.LPPool1d,
        nn.LPPool2d,
        nn.ZeroPad2d,
        nn.ConstantPad1d,
        nn.ConstantPad2d,
        nn.ConstantPad3d,
        nn.ReflectionPad1d,
        nn.ReflectionPad2d,
        nn.ReplicationPad1d,
        nn.ReplicationPad2d,
        nn.ReplicationPad3d,
        nn.Upsample,
        nn.PixelShuffle,
        nn.PixelUnshuffle,
        nn.ChannelShuffle,
    }
)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_COMPUTE_BATCH = 256  # samples per forward pass of the prefix


# -- splitting ----------------------------------------------------------------


def split_sequential(seq: nn.Sequential, layer: str) -> Split | None:
    """Cut ``seq`` before the child that holds ``layer`` (a name inside ``seq``).

    Returns ``(prefix, rest)`` as two ``nn.Sequential`` sharing ``seq``'s
    layers, or ``None`` when ``seq`` is not a plain ``nn.Sequential``, does
    not hold ``layer``, or the prefix would be empty. A child that is itself
    a plain ``nn.Sequential`` is cut inside; parameter-free children that
    depend on the training mode (dropout) just before the cut go to ``rest``.

    Examples
    --------
    >>> from torch import nn
    >>> from sktransfer.prefix import split_sequential
    >>> seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 2))
    >>> prefix, rest = split_sequential(seq, "3")
    >>> len(prefix), len(rest)
    (2, 2)
    """
    if not _plain_sequential(seq):
        return None
    head, _, tail = layer.partition(".")
    names = [name for name, _ in seq.named_children()]
    if head not in names:
        return None
    i = names.index(head)
    children = list(seq.children())
    inner = None
    if tail and _plain_sequential(children[i]):
        inner = split_sequential(children[i], tail)
    if inner is not None:
        prefix = nn.Sequential(*children[:i], inner[0])
        rest = nn.Sequential(inner[1], *children[i + 1 :])
        return prefix, rest
    while i > 0 and _movable(children[i - 1]):
        i -= 1
    if i == 0:
        return None
    return nn.Sequential(*children[:i]), nn.Sequential(*children[i:])


def split_network(module: nn.Module, layer: str) -> Split | None:
    """``(prefix, rest)`` of ``module`` cut before ``layer``, or ``None``.

    ``layer`` is a name of ``module.named_modules()``: the first module of the
    first trainable block. Uses ``module.split_forward(layer)`` when the
    network defines it, else cuts a plain ``nn.Sequential``. A subclass that
    overrides ``forward`` but not ``split_forward`` is not cut.
    """
    split_forward = getattr(module, "split_forward", None)
    if callable(split_forward):
        cls = type(module)
        if not issubclass(_owner(cls, "split_forward"), _owner(cls, "forward")):
            return None
        return split_forward(layer)
    if isinstance(module, nn.Sequential):
        return split_sequential(module, layer)
    return None


def _owner(cls: type, name: str) -> type:
    """The class of ``cls.__mro__`` that defines ``name``."""
    return next((c for c in cls.__mro__ if name in vars(c)), object)


def _plain_sequential(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.Sequential)
        and type(module).forward is nn.Sequential.forward
        and not (module._forward_hooks or module._forward_pre_hooks)
    )


def _movable(module: nn.Module) -> bool:
    """Parameter-free, mode-dependent: may move from the prefix to the rest."""
    return isinstance(module, _DROPOUTS) and not any(
        True for _ in itertools.chain(module.parameters(), module.buffers())
    )


# -- the safety criterion -----------------------------------------------------


def safe_split(
    module: nn.Module,
    blocks: Sequence[freezing.Block],
    frozen: Sequence[freezing.Block],
    example: torch.Tensor,
) -> tuple[Split, str, torch.Tensor] | None:
    """The network's split at its first trainable block, when computing the
    prefix once is exact (see the module's docstring); else ``None``.

    Returns ``((prefix, rest), layer, hidden)``, ``hidden`` the prefix's
    output for ``example``. ``module`` must already be frozen.
    """
    m = len(frozen)
    if not 0 < m < len(blocks) or [id(b) for b in frozen] != [
        id(b) for b in blocks[:m]
    ]:
        return None
    layer = blocks[m].layers[0]
    try:
        split = split_network(module, layer)
    except Exception:  # a split_forward that cannot cut there
        return None
    if split is None:
        return None
    prefix, rest = split
    frozen_norms = {id(n) for n in freezing.frozen_norm_layers(module, frozen)}
    called: list[nn.Module] = []
    handles = [
        sub.register_forward_pre_hook(lambda mod, args: called.append(mod))
        for sub in module.modules()
    ]
    try:
        with _mode(module, training=False):
            hidden = prefix(example)
    finally:
        for handle in handles:
            handle.remove()
    if (
        not isinstance(hidden, torch.Tensor)
        or hidden.requires_grad
        or hidden.dtype not in (torch.float16, torch.float32, torch.float64)
    ):
        return None
    if not all(_fixed(mod, frozen_norms) for mod in called):
        return None
    with torch.no_grad():
        with _mode(module, training=False):
            full = module(example)
            joined = rest(hidden)
        state = torch.random.get_rng_state()
        with _mode(module, training=True, frozen_norms=frozen_norms):
            hidden_train = prefix(example)
        if not torch.equal(state, torch.random.get_rng_state()):
            return None
    if not (
        isinstance(joined, torch.Tensor)
        and isinstance(full, torch.Tensor)
        and joined.shape == full.shape
        and torch.allclose(joined, full, rtol=1e-4, atol=1e-5)
        and torch.equal(hidden, hidden_train)
    ):
        return None
    return split, layer, hidden


def _fixed(module: nn.Module, frozen_norms: set[int]) -> bool:
    """Whether ``module`` computes the same per-sample function in training
    mode (frozen norms in eval mode) as in eval mode, with no randomness."""
    if type(module) in MODE_INDEPENDENT:
        return True
    if isinstance(module, _DROPOUTS):
        return module.p == 0
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        # In eval mode, running statistics if it tracks them, else the batch's.
        return id(module) in frozen_norms and module.running_mean is not None
    if isinstance(module, nn.modules.instancenorm._InstanceNorm):
        # Each sample's own statistics, or (eval mode) the running ones.
        return id(module) in frozen_norms or not module.track_running_stats
    return False


@contextlib.contextmanager
def _mode(
    module: nn.Module, training: bool, frozen_norms: set[int] = frozenset()
) -> Iterator[None]:
    """Training or eval mode (frozen norms in eval), every layer's mode restored."""
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.train(training)
        for m in module.modules():
            if id(m) in frozen_norms:
                m.eval()
        yield
    finally:
        for m, was in modes:
            m.train(was)


# -- computing and caching ------------------------------------------------------


class CacheInfo(NamedTuple):
    """Use of the prefix cache in this process."""

    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int


class _Cache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, key: bytes) -> np.ndarray | None:
        with self.lock:
            value = self.items.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self.items.move_to_end(key)
            return value

    def put(self, key: bytes, value: np.ndarray) -> None:
        with self.lock:
            if key in self.items or value.nbytes > self.max_bytes:
                return
            self.items[key] = value
            self.nbytes += value.nbytes
            self._evict()

    def _evict(self) -> None:
        while self.nbytes > self.max_bytes and self.items:
            _, old = self.items.popitem(last=False)
            self.nbytes -= old.nbytes

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.nbytes = self.hits = self.misses = 0


_CACHE = _Cache(max_bytes=1 << 30)


def cache_info() -> CacheInfo:
    """Hits (fits that reused outputs), misses (prefix computations), entries
    and bytes of this process's prefix cache, and its limit.

    Examples
    --------
    >>> from sktransfer.prefix import cache_info, clear_cache
    >>> clear_cache()
    >>> cache_info().entries
    0
    """
    c = _CACHE
    with c.lock:
        return CacheInfo(c.hits, c.misses, len(c.items), c.nbytes, c.max_bytes)


def clear_cache() -> None:
    """Drop every cached prefix output and reset the counters."""
    _CACHE.clear()


def get_cache_limit() -> int:
    """The most bytes of prefix outputs kept, and computed for one fit."""
    return _CACHE.max_bytes


def set_cache_limit(nbytes: int) -> None:
    """Set the most bytes of prefix outputs the cache keeps (evicting at once).

    It also bounds the prefix outputs of a single fit: a fit whose outputs
    would be larger trains on the plain path. ``0`` turns the cut off.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0; got {nbytes!r}.")
    with _CACHE.lock:
        _CACHE.max_bytes = nbytes
        _CACHE._evict()


def _key(module: nn.Module, layer: str, X: np.ndarray, device: str) -> bytes:
    h = hashlib.blake2b(digest_size=32)

    def add(*parts: object) -> None:
        for part in parts:
            h.update(repr(part).encode())
            h.update(b"\x00")

    add("sktransfer.prefix/2", layer, str(torch.device(device)), torch.__version__)
    for name, sub in module.named_modules():
        settings = sorted(
            (k, v)
            for k, v in vars(sub).items()
            if k != "training" and not k.startswith("_") and _plain(v)
        )
        add(name, type(sub).__module__, type(sub).__qualname__, settings)
    tensors = [(n, p) for n, p in module.named_parameters() if not p.requires_grad]
    tensors += list(module.named_buffers())
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        # The strides tell the memory layout (channels-last or not), which
        # changes the outputs by rounding: part of the key.
        add(name, t.dtype, tuple(t.shape), tensor.stride())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    add(X.dtype.str, X.shape)
    h.update(np.ascontiguousarray(X).reshape(-1).view(np.uint8))
    return h.digest()


def _plain(value: object) -> bool:
    if isinstance(value, bool | int | float | str | type(None)):
        return True
    if isinstance(value, tuple | list):
        return all(_plain(v) for v in value)
    return False


def prefix_outputs(
    module: nn.Module,
    prefix: Callable[[torch.Tensor], torch.Tensor],
    layer: str,
    X: np.ndarray,
    device: str,
    example: torch.Tensor,
) -> np.ndarray | None:
    """The prefix's outputs for every row of ``X`` (a read-only array), from
    the cache or computed in batches; ``None`` when they would exceed the
    cache limit. ``example`` is the prefix's output for two rows."""
    nbytes = example[0].numel() * example.element_size() * len(X)
    if nbytes > _CACHE.max_bytes:
        return None
    key = _key(module, layer, X, device)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    dtype = torch.empty(0, dtype=example.dtype).numpy().dtype
    out = np.empty((len(X), *example.shape[1:]), dtype=dtype)
    with _mode(module, training=False), torch.no_grad():
        for start in range(0, len(X), _COMPUTE_BATCH):
            # A copy: an in-place first layer must not write into X.
            batch = torch.tensor(X[start : start + _COMPUTE_BATCH], device=device)
            out[start : start + len(batch)] = prefix(batch).cpu().numpy()
    out.flags.writeable = False
    _CACHE.put(key, out)
    return out


_LOADER_SETTINGS = {"shuffle", "drop_last", "num_workers", "pin_memory"}


def _rows_reach_module_unchanged(net) -> bool:
    from skorch.dataset import Dataset

    from ._net import BatchLoader

    return (
        net.dataset is Dataset
        and not net.get_params_for("dataset")
        and all(
            getattr(net, name) is BatchLoader
            and set(net.get_params_for(name)) <= _LOADER_SETTINGS
            for name in ("iterator_train", "iterator_valid")
        )
    )


def _call(function: Callable, *args, **kwargs):
    return function(*args, **kwargs)


@contextlib.contextmanager
def frozen_prefix(
    net,
    blocks: Sequence[freezing.Block],
    frozen: Sequence[freezing.Block],
    X: np.ndarray,
    enabled: bool,
) -> Iterator[tuple[np.ndarray, str | None]]:
    """Yield ``(inputs, layer)`` to train ``net`` on.

    When ``enabled`` and the cut is safe, the inputs are the frozen prefix's
    outputs and ``net`` runs ``rest`` on its inputs until the block exits;
    ``layer`` names where the rest begins. Otherwise ``(X, None)``. ``net``
    is a :class:`~sktransfer._net.TransferNet` about to be fitted: no cut
    with ``net.augment_``, ``net.domain_`` or ``max_epochs=0``.
    """
    module = net.module
    found = None
    enabled = (
        enabled
        and net.augment_ is None
        and net.domain_ is None
        and net.max_epochs > 0
        and len(X) > 0
        and _rows_reach_module_unchanged(net)
    )
    if enabled:
        module.to(net.device)
        example = torch.tensor(X[:2], device=net.device)
        found = safe_split(module, blocks, frozen, example)
    hidden = None
    if found is not None:
        (prefix, rest), layer, hidden_example = found
        shape = tuple(hidden_example.shape[1:])
        # Raw inputs that reach the net during fit (a callback predicting,
        # a predefined validation set) go through the whole network when
        # their shape tells them from prefix outputs; otherwise no cut.
        if shape != tuple(X.shape[1:]) or not (net.callbacks or net.train_split):
            hidden = prefix_outputs(
                module, prefix, layer, X, net.device, hidden_example
            )
    if hidden is None:
        yield X, None
        return
    # A plain function: skorch refuses modules set outside initialize().
    net.rest_ = functools.partial(_call, rest)
    net.rest_shape_ = shape
    try:
        yield hidden, layer
    finally:
        net.rest_ = None
        net.rest_shape_ = None
