"""Which training strategy a fit uses: one table of rules, read top to bottom.

The first strategy whose every condition holds trains the network, once its
own checks (:meth:`~sktransfer._training.strategies.Strategy.check`) pass.
Each condition is named for what it guarantees, so ``why_not`` can say which
one failed.
"""

from __future__ import annotations

from collections.abc import Callable

from skorch.callbacks import EpochScoring
from skorch.dataset import Dataset

from .._network import PreparedNetwork
from .loaders import BatchLoader
from .net_class import overrides
from .nets import NETS
from .prefix_cache import fits
from .regularized import resolve_layers, runs_after_cut
from .strategies import AcrossDomains, FineTune, FrozenPrefix, SourceFree, Training

Condition = Callable[[PreparedNetwork, Training, int], bool]

# Loader settings that cannot change the rows a batch holds.
_LOADER_SETTINGS = {"shuffle", "drop_last", "num_workers", "pin_memory"}


def _rows_reach_network_unchanged(p: PreparedNetwork, t: Training, n: int) -> bool:
    """skorch's default dataset and our batch loaders with harmless settings:
    a custom dataset or ``collate_fn`` could transform the rows."""
    params = t.net_params

    def settings(prefix: str) -> set[str]:
        return {k.split("__", 1)[1] for k in params if k.startswith(prefix + "__")}

    return (
        params.get("dataset", Dataset) is Dataset
        and not settings("dataset")
        and all(
            params.get(name, BatchLoader) is BatchLoader
            and settings(name) <= _LOADER_SETTINGS
            for name in ("iterator_train", "iterator_valid")
        )
    )


def _no_callback_predicts_training_rows(p, t: Training, n: int) -> bool:
    """Such a callback would hand prefix outputs to ``predict``."""
    callbacks = t.net_params.get("callbacks") or []
    callbacks = [c[1] if isinstance(c, tuple) else c for c in callbacks]
    return not any(
        isinstance(c, EpochScoring) and c.on_train and not c.use_caching
        for c in callbacks
    )


def _source_data(p, t: Training, n: int) -> bool:
    return t.source_data is not None


def _adaptation_without_source_rows(p, t: Training, n: int) -> bool:
    """The estimator has refused an adaptation loss without source rows
    unless the loss needs none and the source gives weights."""
    return t.adaptation is not None and t.source_data is None


def _cache_on(p, t: Training, n: int) -> bool:
    return t.cache_frozen


def _trains(p, t: Training, n: int) -> bool:
    return t.max_epochs > 0 and n > 0


def _no_augment(p, t: Training, n: int) -> bool:
    return t.augment is None


def _no_validation_split(p, t: Training, n: int) -> bool:
    return t.net_params.get("train_split") is None


def _own_training_step(p, t: Training, n: int) -> bool:
    """A net mixin with its own training step would run the whole network on
    prefix outputs."""
    base = NETS[t.task, FrozenPrefix.name]
    return not overrides(t.net_mixins, base, "train_step_single")


def _exact_cut(p: PreparedNetwork, t, n: int) -> bool:
    return p.cut is not None  # computed here, after the cheap rules


def _penalty_features_after_prefix(p: PreparedNetwork, t: Training, n: int) -> bool:
    """A penalty on the features of a layer in the frozen prefix (BSS) would
    see none: the prefix runs once, before training."""
    if t.regularization is None:
        return True
    names = set(resolve_layers(p, t.regularization).values())
    return not names or runs_after_cut(p, p.cut, names)


def _outputs_fit(p: PreparedNetwork, t, n: int) -> bool:
    return fits(p.cut.hidden, n)


#: (strategy, conditions): the first strategy whose conditions all hold.
RULES: tuple[tuple[type, tuple[tuple[str, Condition], ...]], ...] = (
    (AcrossDomains, (("the source carries labelled data", _source_data),)),
    (
        SourceFree,
        (("an adaptation loss adapts the source's weights without its rows",
          _adaptation_without_source_rows),),
    ),
    (
        FrozenPrefix,
        (
            ("cache_frozen is not False", _cache_on),
            ("at least one epoch on some rows", _trains),
            ("no augment (it changes the prefix's input every epoch)", _no_augment),
            ("no validation split (its rows would be prefix outputs)",
             _no_validation_split),
            ("no callback predicting the training rows",
             _no_callback_predicts_training_rows),
            ("the rows reach the network unchanged", _rows_reach_network_unchanged),
            ("no net mixin replaces the training step", _own_training_step),
            ("the network is cut exactly after its frozen blocks", _exact_cut),
            ("the regularization's layers come after the frozen prefix",
             _penalty_features_after_prefix),
            ("the prefix outputs fit in the cache limit", _outputs_fit),
        ),
    ),
    (FineTune, ()),
)  # fmt: skip


def choose_strategy(prepared: PreparedNetwork, training: Training, n_rows: int):
    """The strategy that trains this fit (see :data:`RULES`), once its own
    checks have passed (``Strategy.check``: the ``net_mixins``, and
    source-free adaptation's)."""
    for strategy, conditions in RULES:
        if all(holds(prepared, training, n_rows) for _, holds in conditions):
            chosen = strategy()
            chosen.check(prepared, training)
            return chosen
    raise AssertionError("the last rule always holds")  # pragma: no cover


def why_not(strategy: type, prepared, training: Training, n_rows: int) -> str | None:
    """The first condition of ``strategy`` that fails, or ``None``."""
    for name, holds in dict(RULES)[strategy]:
        if not holds(prepared, training, n_rows):
            return name
    return None
