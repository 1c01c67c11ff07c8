"""skorch-style parameters of the network estimators: ``**kwargs`` stored as
attributes and forwarded to the skorch net (``optimizer__momentum``,
``iterator_train__shuffle``, ``net__accelerator``...), their round trip
through ``get_params`` / ``set_params``, and their checks in ``fit``."""

from __future__ import annotations

import inspect
from numbers import Integral

from skorch.callbacks import Callback

from ._base import SourceEstimator
from ._params import InstanceOf, Interval, check_params

# Prefixes of the skorch parameters that the estimators forward to their net.
FORWARDED_PREFIXES = (
    "module",
    "optimizer",
    "criterion",
    "callbacks",
    "iterator_train",
    "iterator_valid",
    "dataset",
    "net",  # the skorch net's own constructor (e.g. a mixin's net__accelerator)
)

# What sktransfer gives the skorch net itself: not settable through ``net__``.
_NET_ARGUMENTS = frozenset(
    {"module", "criterion", "optimizer", "lr", "max_epochs", "batch_size",
     "train_split", "callbacks", "device", "verbose", "classes", "precision",
     "frozen_norms", "augment", "rest", "domain", "iterator_train",
     "iterator_valid", "dataset", "regularization"}
)  # fmt: skip


# The DataLoader settings checked before they reach torch.
_LOADER_RULES = {
    "batch_size": Interval(Integral, 1),
    "shuffle": InstanceOf(bool, "a bool"),
    "drop_last": InstanceOf(bool, "a bool"),
    "pin_memory": InstanceOf(bool, "a bool"),
    "num_workers": Interval(Integral, 0),
}


class ForwardedParams(SourceEstimator):
    """The estimator's explicit parameters plus the skorch parameters it
    forwards: stored unchanged, listed by ``get_params``, set by
    ``set_params``, checked by :meth:`_check_forwarded` in ``fit``."""

    def _store(self, params: dict) -> None:
        """``__init__``'s body: every parameter stored unchanged, ``**kwargs``
        (skorch's dunder parameters) as attributes, like skorch does."""
        kwargs = params.pop("kwargs")
        params.pop("self")
        params.pop("__class__", None)
        for key, value in {**params, **kwargs}.items():
            setattr(self, key, value)

    def _forwarded_params(self) -> dict:
        """The ``**kwargs`` given to ``__init__`` or ``set_params``.

        Fitted attributes end in ``_`` and private ones start with ``_``, so
        neither is counted.
        """
        explicit = _explicit_params(type(self))
        return {
            k: v
            for k, v in vars(self).items()
            if k not in explicit and not k.startswith("_") and not k.endswith("_")
        }

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._forwarded_params())
        return params

    def set_params(self, **params):
        explicit = _explicit_params(type(self))
        nested = sorted(k for k in params if k.startswith("source__"))
        if nested:
            raise ValueError(
                f"{nested[0]}: the source is shared by reference (by clone and "
                "by every GridSearchCV fold), so setting its parameters through "
                "this estimator would change it for all of them. Pass a new "
                "source instead: set_params(source=...)."
            )

        def is_extra(key: str) -> bool:
            # skorch-style ``optimizer__momentum`` is stored for the net; the
            # nested parameters of an explicit parameter (``source__lr``) go
            # to scikit-learn; anything else is stored and checked in ``fit``.
            prefix, nested, _ = key.partition("__")
            if nested:
                return prefix in FORWARDED_PREFIXES or prefix not in explicit
            return key not in explicit

        for key, value in params.items():
            if is_extra(key):
                setattr(self, key, value)
        rest = {k: v for k, v in params.items() if not is_extra(k)}
        return super().set_params(**rest) if rest else self

    def _check_forwarded(self) -> None:
        """Callbacks, loader settings, unknown prefixes and ``net__*`` names."""
        for callback in self.callbacks or []:
            named = isinstance(callback, tuple) and len(callback) == 2
            if not isinstance(callback[1] if named else callback, Callback):
                raise TypeError(
                    "callbacks must hold skorch callbacks (instances of "
                    "skorch.callbacks.Callback) or (name, callback) pairs; got "
                    f"{callback!r}."
                )
        loader_rules = {
            key: rule
            for key in self._forwarded_params()
            for setting, rule in _LOADER_RULES.items()
            if key.startswith("iterator_") and key.endswith("__" + setting)
        }
        check_params(self, loader_rules)
        for key in self._forwarded_params():
            if key.split("__", 1)[0] not in FORWARDED_PREFIXES:
                raise ValueError(
                    f"Unknown parameter {key!r} of {type(self).__name__}: extra "
                    "parameters are forwarded to skorch and must start with one "
                    f"of {[p + '__' for p in FORWARDED_PREFIXES]}."
                )
        for name in self._net_kwargs():
            if name in _NET_ARGUMENTS or "__" in name:
                raise ValueError(
                    f"net__{name} would set the skorch net's {name!r}, which "
                    "sktransfer sets from the estimator's parameters: use them "
                    "(lr=, device=, callbacks=, optimizer__*, iterator_train__*, "
                    "...). net__* is for other arguments of the net, e.g. those "
                    "of net_mixins (net__accelerator)."
                )

    def _net_kwargs(self) -> dict:
        """The ``net__*`` parameters, as the net's constructor takes them."""
        return {
            k.split("__", 1)[1]: v
            for k, v in self._forwarded_params().items()
            if k.startswith("net__")
        }


def _explicit_params(cls) -> set[str]:
    """Names of the explicit ``__init__`` parameters (no ``self``, no ``**kwargs``)."""
    return {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_KEYWORD
    }
