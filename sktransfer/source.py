"""Resolve what a user passes as ``source`` into a network and its weights.

Accepted: ``None``; a fitted :class:`~sktransfer.TransferClassifier`; a
fitted skorch net; a ``torch.nn.Module`` holding pretrained weights; a state
dict; a path to a state dict saved with ``torch.save``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import check_array, check_consistent_length
from torch import nn

from ._base.sharing import (
    DetachedSource,
    SharedSource,
    SlimWeights,
    array_by_reference,
    fitted_module,
    slim,
)

SOURCE_KINDS = (
    "None, a fitted TransferClassifier or skorch net, a torch.nn.Module, "
    "a state dict, the path of a state dict saved with torch.save, or a "
    "sktransfer.Source"
)


class Source:
    """A source task: pretrained weights, labelled source data, or both.

    Pass it as ``TransferClassifier(source=Source(...))``. Like any source it
    is kept by reference through ``clone`` (a ``Source`` carries that rule
    itself, wherever it sits), so ``GridSearchCV`` neither copies the data
    per fold nor lets source rows into a test fold: the folds are made of the
    target rows given to ``fit``. Under ``joblib.parallel_backend("dask")`` a
    source is sent to each Dask worker once, not with every task (see the
    guide's section on parallel searches).

    Parameters
    ----------
    weights : object, default=None
        Any weight source ``TransferClassifier`` accepts: a fitted estimator
        or skorch net, a ``torch.nn.Module``, a state dict or a path.
    X : array-like of shape (n_samples, ...) or path, default=None
        Labelled source inputs, already in the target's input format (source
        rows do not pass through the ``Pipeline`` steps before the
        classifier). The path of a ``.npy`` file is opened memory-mapped
        (``np.load(path, mmap_mode="r")``) when fitting; a path, or an array
        memory-mapped from a file, pickles as the file's name, so the tasks of
        a parallel search do not carry the data (the file must be readable
        where they run).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), or path, \
default=None
        Source labels, from the same label set as the target's (or, for
        :class:`~sktransfer.TransferRegressor`, targets of the target's
        width); a ``.npy`` path as for ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import Source
    >>> source = Source(X=np.zeros((4, 2)), y=[0, 1, 0, 1])
    >>> source
    Source(X=<4 rows>, y=<4 labels>)
    >>> from sklearn.base import clone
    >>> clone(source) is source
    True
    """

    def __init__(self, weights=None, X=None, y=None):
        self.weights = weights
        self.X = X
        self.y = y

    def __sklearn_clone__(self):
        # Shared, never copied: cloning would deep-copy the data and turn a
        # fitted estimator in ``weights`` into an unfitted one.
        return self

    def __reduce__(self):
        # Pickled slim (a fitted estimator as its network and classes) and a
        # memory-mapped array as its file: what a parallel search's tasks carry.
        return (
            type(self),
            (
                slim(self.weights),
                array_by_reference(self.X),
                array_by_reference(self.y),
            ),
        )

    def __repr__(self) -> str:
        def size(value, unit: str) -> str:
            if isinstance(value, str | os.PathLike):
                return repr(os.fspath(value))
            return f"<{len(value)} {unit}>"

        parts = []
        if self.weights is not None:
            parts.append(f"weights={type(self.weights).__name__}")
        if self.X is not None:
            parts.append(f"X={size(self.X, 'rows')}")
        if self.y is not None:
            parts.append(f"y={size(self.y, 'labels')}")
        return f"Source({', '.join(parts)})"


# Keys under which common checkpoint formats nest the state dict.
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")


@dataclass
class ResolvedSource:
    """A source reduced to what transfer needs.

    Attributes
    ----------
    state_dict : dict of str to Tensor or None
        The source weights (parameters and buffers), on the CPU; ``None`` for
        a source of data only.
    module : nn.Module or None
        The source network itself, when known: its architecture can be reused.
    description : str
        A short human-readable name of the source, for messages.
    X, y : ndarray or None
        Labelled source data, when the source carries it.
    classes : ndarray or None
        The class labels of a fitted classifier given as source (what its
        output units stand for), else ``None``.
    """

    state_dict: dict[str, torch.Tensor] | None
    module: nn.Module | None
    description: str
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    classes: np.ndarray | None = None


def resolve_source(source: object) -> ResolvedSource | None:
    """Turn ``source`` into a :class:`ResolvedSource` (``None`` for ``None``).

    Raises ``TypeError`` for unsupported kinds and ``ValueError`` for sources
    that cannot be used (unfitted, unreadable file, not a state dict).
    """
    if source is None:
        return None
    if isinstance(source, SharedSource):
        return resolve_source(source.get())
    if isinstance(source, SlimWeights):
        resolved = _from_module(source.module_, source.description)
        resolved.classes = _matching_classes(source.classes_, source.module_)
        return resolved
    if isinstance(source, Source):
        return _from_source(source)
    if isinstance(source, nn.Module):
        return _from_module(source, type(source).__name__)
    if isinstance(source, str | os.PathLike):
        return _from_path(Path(source))
    if isinstance(source, Mapping):
        return ResolvedSource(_check_state_dict(source, "source"), None, "state dict")
    module = fitted_module(source)
    if module is not None:
        resolved = _from_module(module, type(source).__name__)
        resolved.classes = _matching_classes(getattr(source, "classes_", None), module)
        return resolved
    if isinstance(source, DetachedSource):
        raise ValueError(source.message())
    raise TypeError(
        f"source must be {SOURCE_KINDS}; got an object of type {type(source).__name__}."
    )


def _matching_classes(classes, module: nn.Module) -> np.ndarray | None:
    """A fitted classifier's classes, when its output units stand for them."""
    if classes is not None and len(classes) == _n_outputs(module):
        return np.asarray(classes)
    return None


def _n_outputs(module: nn.Module) -> int | None:
    """Width of the last ``nn.Linear`` (the output layer, for our networks)."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else None


def _from_source(source: Source) -> ResolvedSource:
    if (source.X is None) != (source.y is None):
        raise ValueError("Source needs both X and y, or neither.")
    if source.weights is None and source.X is None:
        raise ValueError("Source needs weights, data (X and y), or both.")
    if source.weights is not None:
        if isinstance(source.weights, Source):
            raise TypeError("Source(weights=...) cannot be another Source.")
        resolved = resolve_source(source.weights)
    else:
        resolved = ResolvedSource(None, None, "source data")
    if source.X is not None:
        X = check_array(
            opened(source.X, "Source.X"), allow_nd=True, dtype=np.float32,
            ensure_all_finite=True, input_name="Source.X",
        )  # fmt: skip
        y = np.asarray(opened(source.y, "Source.y"))
        if y.ndim not in (1, 2):
            raise ValueError(
                f"Source.y must be 1-D (or 2-D for multi-output regression); "
                f"got shape {y.shape}."
            )
        check_consistent_length(X, y)
        resolved.X, resolved.y = X, y
        resolved.description += f" + {len(X)} labelled source rows"
    return resolved


def opened(value, name: str):
    """``value``, or the ``.npy`` file it names opened memory-mapped."""
    if not isinstance(value, str | os.PathLike):
        return value
    path = Path(value).expanduser()
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{name} is the path {str(path)!r}, which could not be opened as a "
            f".npy file (np.save writes one): {exc}"
        ) from exc


def _from_module(module: nn.Module, description: str) -> ResolvedSource:
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    return ResolvedSource(_strip_prefix(state), module, description)


def _from_path(path: Path) -> ResolvedSource:
    path = path.expanduser()
    if not path.is_file():
        raise ValueError(
            f"source path {str(path)!r} does not exist or is not a file; pass "
            "the path of a state dict saved with torch.save(module.state_dict(), "
            "path)."
        )
    try:
        # weights_only=True: a file holding arbitrary pickled objects is
        # refused instead of executed.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not zipfile.is_zipfile(path):  # not written by torch.save at all
            raise ValueError(
                f"source file {str(path)!r} could not be read as a state dict "
                f"saved with torch.save: {exc}"
            ) from exc
        raise ValueError(
            f"source file {str(path)!r} holds more than tensors and is refused "
            "(it is loaded with weights_only=True so that no pickled code runs). "
            "Save a state dict instead: torch.save(module.state_dict(), path)."
        ) from exc
    except Exception as exc:  # torch raises several types for corrupt files
        raise ValueError(
            f"source file {str(path)!r} could not be read as a state dict saved "
            f"with torch.save: {exc}"
        ) from exc
    if isinstance(obj, Mapping):
        for key in _CHECKPOINT_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"source file {str(path)!r} holds a {type(obj).__name__}, not a state "
            "dict (a mapping of parameter names to tensors)."
        )
    state = _check_state_dict(obj, f"source file {str(path)!r}")
    return ResolvedSource(state, None, path.name)


def _check_state_dict(obj: Mapping, what: str) -> dict[str, torch.Tensor]:
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad or not obj:
        detail = f"non-tensor values under {bad[:3]}" if bad else "no entries"
        raise ValueError(
            f"{what} is not a state dict (a mapping of names to tensors): {detail}."
        )
    return _strip_prefix({str(k): v.detach().cpu() for k, v in obj.items()})


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # Weights saved from nn.DataParallel / DistributedDataParallel carry "module.".
    prefix = "module."
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state
