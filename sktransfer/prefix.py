"""Computing a frozen prefix of a network once, and sharing it across fits.

When the first blocks of a network are frozen, every epoch recomputes the
same outputs for them. :class:`~sktransfer.TransferClassifier` (with
``cache_frozen="auto"``) instead splits the network into ``prefix`` and
``rest`` at the input of the first trainable block, runs ``prefix`` over the
training inputs once, in batches and without gradients, and trains ``rest`` on
those outputs. ``rest`` is made of the network's own layers, so the trained
network is the full one: only the training steps run ``rest`` on cached
outputs, and everything else (``predict``, a callback predicting raw inputs
during ``fit``) runs the whole network.

When the cut is made
--------------------
A network's ``forward`` is arbitrary code, so the cut is made only where it is
known to be exact, and otherwise the plain path runs, silently:

1. The frozen blocks are a prefix of the blocks in forward order, at least
   one block is frozen and at least one is trainable; the fit is not across
   domains, has no ``augment`` (it would change the prefix's input every
   epoch), has no validation split (``train_split=None``: validation rows
   would be prefix outputs that a scoring callback could hand to
   ``predict``), no ``EpochScoring(on_train=True, use_caching=False)``
   (it predicts the training rows), and trains at least one epoch; the rows
   reach the network as they
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

``cache_frozen=<folder>`` (an existing folder or a ``joblib.Memory``) shares
the outputs between processes, such as the workers of a search on a Dask
cluster: a miss in memory reads ``<folder>/sktransfer-prefix-<key>.npy``
(memory-mapped, counted in ``cache_info().disk_hits``) before computing, and
a computed output is written there atomically under the same key. The cut
is made by the same rules; the folder only changes where outputs come from.

Each ``.npy`` file has a record ``sktransfer-prefix-<key>.json`` (its key,
size and the sha256 of its bytes), written before it; a file is used only
when its bytes match its record, and its array has the shape and dtype the
fit expects. A file that is truncated, overwritten (even with other values of
the same shape), corrupted or without a record is not used: the outputs are
computed again, with a warning naming the file, and rewritten.

The folder keeps at most :func:`get_disk_cache_limit` bytes of entries (4 GiB
by default; :func:`set_disk_cache_limit` stores another limit in the folder
itself, ``sktransfer-prefix-limit.json``, so that every process sharing it
keeps to it). After each write the least recently used entries (by the
``.npy`` file's modification time, which every read from the folder
refreshes) are deleted until the rest fit; outputs larger than the limit are
not written there (they are still cached in memory). sktransfer deletes no
other file in the folder, except its own partly written
``.sktransfer-prefix-*.part`` files left for over a day by a crashed process.

The rules read as one table in ``sktransfer/_training/choose.py``; the
implementation is in ``sktransfer/_network/split.py`` (the protocol and the
exactness check) and ``sktransfer/_training/prefix_cache.py`` (the cache).
"""

from ._network.split import MODE_INDEPENDENT, split_network, split_sequential
from ._training.prefix_cache import (
    CacheInfo,
    cache_info,
    clear_cache,
    get_cache_limit,
    get_disk_cache_limit,
    set_cache_limit,
    set_disk_cache_limit,
)

__all__ = [
    "MODE_INDEPENDENT",
    "CacheInfo",
    "cache_info",
    "clear_cache",
    "get_cache_limit",
    "get_disk_cache_limit",
    "set_cache_limit",
    "set_disk_cache_limit",
    "split_network",
    "split_sequential",
]
