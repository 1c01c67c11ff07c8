"""The skorch net class a fit trains: sktransfer's own, the user's mixins first.

``net_mixins=skorch.hf.AccelerateMixin`` trains ``class
AccelerateMixinClassifierNet(AccelerateMixin, ClassifierNet)``: the mixins
come first in the method resolution order, so they may override any of the
net's methods. Classes made here are cached (every fit with the same mixins
trains the same class), and their instances pickle by rebuilding the class
from its parts: a class made at run time cannot be found by name.
"""

from __future__ import annotations

import threading

_CLASSES: dict[tuple[type, ...], type] = {}
_LOCK = threading.Lock()


def mixins_of(value) -> tuple[type, ...]:
    """``net_mixins`` (``None``, a class, or a list or tuple of classes) as a tuple."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def compose(base: type, mixins: tuple[type, ...]) -> type:
    """``class <Mixins><Base>(*mixins, base)``, made once per ``(base, mixins)``."""
    if not mixins:
        return base
    key = (base, *mixins)
    with _LOCK:
        cls = _CLASSES.get(key)
        if cls is None:
            name = "".join(m.__name__ for m in mixins) + base.__name__
            namespace = {
                "__module__": __name__,
                "__qualname__": name,
                "_composed_from": (base, mixins),
                "__reduce_ex__": _reduce_ex,
            }
            try:
                cls = type(name, (*mixins, base), namespace)
            except TypeError as exc:  # e.g. an inconsistent MRO, a repeated class
                raise ValueError(
                    f"net_mixins {_names(mixins)} cannot be placed before "
                    f"sktransfer's skorch net {base.__name__}: {exc}."
                ) from exc
            _CLASSES[key] = cls
    return cls


def _reduce_ex(self, protocol):
    # Pickled as "rebuild the class from (base, mixins), then set the state".
    return (_new_instance, type(self)._composed_from, self.__getstate__())


def _new_instance(base: type, mixins: tuple[type, ...]):
    cls = compose(base, mixins)
    return cls.__new__(cls)


def overrides(mixins: tuple[type, ...], base: type, name: str) -> bool:
    """Whether a mixin, or a class it derives from that ``base`` does not,
    defines the method ``name``."""
    own = set(base.__mro__)
    return any(name in vars(c) for m in mixins for c in m.__mro__ if c not in own)


def check_net_mixins(
    mixins: tuple[type, ...],
    base: type,
    *,
    precision: str,
    across: bool,
    regularized: bool = False,
) -> None:
    """Refuse mixins that cannot work with what this fit asks of the net."""
    if not mixins:
        return
    compose(base, mixins)  # a bad combination fails now, not after preparing
    own_step = overrides(mixins, base, "train_step_single")
    if own_step and across:
        raise ValueError(
            f"net_mixins {_names(mixins)} replace the training step "
            "(train_step_single), which training across domains (a Source "
            "with data) needs: train on the target rows only, or use mixins "
            "that leave train_step_single alone."
        )
    if own_step and regularized:
        raise ValueError(
            f"net_mixins {_names(mixins)} replace the training step "
            "(train_step_single), where sktransfer adds the regularization's "
            "penalty to the loss: use regularization=None with them, or mixins "
            "that leave train_step_single alone."
        )
    if precision != "float32" and (
        own_step or overrides(mixins, base, "_step_optimizer")
    ):
        raise ValueError(
            f"precision={precision!r} is applied in sktransfer's training "
            f"step, which net_mixins {_names(mixins)} replace: keep "
            "precision='float32' and let the mixin handle mixed precision "
            "(e.g. Accelerator(mixed_precision='bf16') with AccelerateMixin)."
        )


def _names(mixins: tuple[type, ...]) -> str:
    return "(" + ", ".join(m.__name__ for m in mixins) + ")"
