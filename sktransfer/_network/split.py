"""Where a network can be cut so that its frozen prefix is computed once.

The split protocol: a plain ``nn.Sequential`` is cut between its children;
any other network opts in by defining ``split_forward(layer)``, which returns
``(prefix, rest)``, two callables with ``rest(prefix(X)) == forward(X)`` in
training and in eval mode, or ``None`` where it cannot cut there.
:func:`safe_split` adds the exactness rule (see :mod:`sktransfer.prefix`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .blocks import Block, frozen_norm_names
from .modes import mode

__all__ = ["MODE_INDEPENDENT", "safe_split", "split_network", "split_sequential"]

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
    blocks: Sequence[Block],
    frozen: Sequence[Block],
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
    norm_layers = [module.get_submodule(n) for n in frozen_norm_names(frozen)]
    frozen_norms = {id(n) for n in norm_layers}
    called: list[nn.Module] = []
    handles = [
        sub.register_forward_pre_hook(lambda mod, args: called.append(mod))
        for sub in module.modules()
    ]
    try:
        with mode(module, training=False):
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
        with mode(module, training=False):
            full = module(example)
            joined = rest(hidden)
        state = torch.random.get_rng_state()
        with mode(module, training=True, keep_eval=norm_layers):
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
