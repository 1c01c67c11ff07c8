"""The fit that TransferClassifier and TransferRegressor share.

``fit`` checks the parameters, resolves the source, validates the data into
one :class:`FitData`, prepares the network (torch only,
:mod:`sktransfer._network`), lets one table of rules choose the training
strategy (:mod:`sktransfer._training`, which runs that strategy's own checks),
trains, and writes the fitted attributes in one place (``_set_fitted``).
Subclasses say how the targets are validated and encoded and which skorch net
(``_task``) trains.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ._base import fitting, seeded
from ._forwarded import ForwardedParams
from ._network import prepare
from ._network.layout import MEMORY_FORMATS, restore_memory_format
from ._params import (
    CacheLocation,
    Device,
    InstanceOf,
    Interval,
    IsCallable,
    Options,
    SequenceOf,
    Subclass,
    cache_directory,
    resolve_device,
)
from ._precision import PRECISIONS, check_precision
from ._training import FrozenPrefix, Training, choose_strategy
from ._training.loaders import BatchLoader
from ._training.net_class import mixins_of
from ._training.nets import check_finite_outputs
from ._training.progress import Progress
from .adaptation.base import AdaptationLoss
from .adaptation.objective import LossNeeds
from .models import MLP
from .regularization import Regularization
from .source import ResolvedSource, resolve_source


@dataclass(frozen=True)
class FitData:
    """One fit's validated data, and the fitted attributes it settles.

    Attributes
    ----------
    X : ndarray
        The target inputs, float32.
    y : ndarray
        The targets as the net takes them (class indices, ``-1`` for an
        unlabelled row; float32 columns).
    labelled : ndarray of bool
        The labelled target rows.
    n_outputs : int
        The network's output width (classes, or target columns).
    across : bool
        Whether fit trains across domains: on the source's rows, or by
        adapting its weights without them (source-free adaptation).
    source_rows : (ndarray, ndarray) or None
        The source's inputs and targets (encoded like ``y``) when fit trains
        on them (``None`` with ``across``: source-free adaptation).
    attributes : dict
        What the validation found that a fitted estimator keeps
        (``classes_``, ``input_shape_``, ``n_features_in_``...), written by
        ``_set_fitted`` once the fit has succeeded.
    """

    X: np.ndarray
    y: np.ndarray
    labelled: np.ndarray
    n_outputs: int
    across: bool
    source_rows: tuple[np.ndarray, np.ndarray] | None
    attributes: dict = field(default_factory=dict)


class NetworkEstimator(ForwardedParams):
    """A skorch-trained network that starts from a source (shared base)."""

    _task: str  # "classifier" or "regressor"
    _outputs_name: str  # what the output columns are, for messages

    _constraints = {
        "transfer": Options("weights", "structure"),
        "cache_frozen": [Options("auto", False, text='"auto", False'), CacheLocation()],
        "memory_format": Options(*MEMORY_FORMATS),
        "target_weight": Interval(Real, 0),
        "adaptation": [
            None,
            InstanceOf(
                AdaptationLoss,
                "an sktransfer.adaptation.AdaptationLoss (e.g. DANN(), "
                "DeepCORAL(), MMD())",
            ),
        ],
        "adaptation_weight": [Options("auto"), Interval(Real, 0)],
        "regularization": [
            None,
            InstanceOf(
                Regularization,
                "an sktransfer.regularization.Regularization (e.g. L2SP(), "
                "BSS(), Compose([L2SP(), BSS()]))",
            ),
        ],
        "lr": Interval(Real, 0),
        "transferred_lr": [None, Interval(Real, 0)],
        "augment": [None, IsCallable()],
        "max_epochs": Interval(Integral, 0),
        "batch_size": Interval(Integral, 1),
        "criterion": Subclass(
            nn.Module, "a torch loss class or instance", instance=True
        ),
        "optimizer": Subclass(torch.optim.Optimizer, "a torch optimizer class"),
        "train_split": [None, IsCallable()],
        "callbacks": [
            None,
            InstanceOf(list, "a list of skorch callbacks or (name, callback)"),
        ],
        "device": Device(),
        "precision": Options(*PRECISIONS),
        "net_mixins": [
            None,
            InstanceOf(type, "a class"),
            SequenceOf(InstanceOf(type, "a class")),
        ],
        "verbose": [
            Options("auto", text='"auto"'),
            Interval(Integral, 0),
            InstanceOf(bool, "a bool"),
        ],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, C, H, W) are taken too
        return tags

    def _check_params(self) -> None:
        super()._check_params()
        if self.adaptation is not None:
            self.adaptation.check_params()
        elif not isinstance(self.adaptation_weight, str):  # a number, not "auto"
            # A warning, not an error: a grid over adaptation=[None, DANN()]
            # and adaptation_weight must still fit its None candidates.
            warnings.warn(
                f"adaptation_weight={self.adaptation_weight!r} is the weight of "
                "an adaptation loss, but adaptation is None, so it is ignored: "
                "give adaptation= (e.g. DANN()) or leave "
                'adaptation_weight="auto".',
                UserWarning,
                stacklevel=3,
            )
        if self.regularization is not None:
            self.regularization.check_params()
        self._check_forwarded()

    def _check_target_weight(self, across: bool) -> None:
        """Warn that ``target_weight`` is ignored when fit trains the target
        rows alone: it weighs their loss against the source rows' (or, in
        source-free adaptation, the adaptation loss), so it needs those. Like
        ``adaptation_weight`` without a loss: a warning, so that a grid over
        sources with and without rows still fits every candidate. Called once
        ``fit`` knows whether the source carries rows (it resolves it)."""
        default = inspect.signature(type(self).__init__).parameters["target_weight"]
        if across or self.target_weight == default.default:
            return
        warnings.warn(
            f"target_weight={self.target_weight!r} weighs the loss on the "
            "labelled target rows against the source rows' loss, but the source "
            "carries no rows, so it is ignored: give source=sktransfer.Source("
            "weights=..., X=X_source, y=y_source) to train on both domains, or "
            f"leave target_weight={default.default!r}.",
            UserWarning,
            stacklevel=4,
        )

    # -- fit ------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the target network, starting from the source (see the class)."""
        with fitting(self):  # a failed or interrupted fit leaves no fitted state
            self._check_params()
            device = resolve_device(self.device)
            source = resolve_source(self.source)
            across = self._trains_across_domains(source)
            self._check_target_weight(across)
            check_precision(self.precision, self._net_device(device))
            data = self._validate_fit_data(X, y, source, across)
            with seeded(self.random_state, device) as generator:
                prepared = self._prepare(source, data, device)
                training = self._training(device, data, prepared, generator)
                # The strategy's own checks (net_mixins, source-free) run here.
                strategy = choose_strategy(prepared, training, len(data.X))
                try:
                    net = strategy.train(prepared, data.X, data.y, training)
                finally:
                    restore_memory_format(prepared.module)
                if not net.interrupted_:
                    check_finite_outputs(net, data.X[: self.batch_size])
            if net.interrupted_:
                raise KeyboardInterrupt(
                    f"fit was interrupted after {len(net.history)} epoch(s)."
                )
            self._set_fitted(data, source, prepared, strategy, net)
        return self

    def _set_fitted(self, data: FitData, source, prepared, strategy, net) -> None:
        """Write the fitted attributes: the only place a fit does, once it
        has succeeded (what the data validation found, what was prepared,
        how it trained)."""
        attributes = {
            **data.attributes,
            "_source_description": source.description if source else None,
            "transfer_report_": prepared.report,
            "blocks_": [b.name for b in prepared.blocks],
            "memory_format_": prepared.memory_format,
            "net_": net,
            "training_strategy_": strategy.name,
            "cached_prefix_": (
                prepared.cut.layer if isinstance(strategy, FrozenPrefix) else None
            ),
            "module_": net.module_,
            "history_": net.history,
        }
        for name, value in attributes.items():
            if value is None and name == "feature_names_in_":  # X had none
                vars(self).pop(name, None)
            else:
                setattr(self, name, value)

    def _prepare(self, source: ResolvedSource | None, data: FitData, device: str):
        """The prepared network (what was transferred and frozen is in its
        ``report`` and ``blocks``)."""
        prepared = prepare(
            source,
            data.X,
            data.n_outputs,
            module=self.module,
            module_kwargs=self._module_kwargs(),
            default_module=MLP,
            transfer=self.transfer,
            freeze_depth=self.freeze_depth,
            freeze_head=self.adaptation is not None and self.adaptation.freezes_head(),
            memory_format=self.memory_format,
            device=device,
            outputs_name=self._outputs_name,
        )
        self._print_summary(source, prepared)
        return prepared

    def _training(
        self, device: str, data: FitData, prepared, generator: torch.Generator
    ) -> Training:
        return Training(
            task=self._task,
            net_params=self._net_params(device, data, prepared.report),
            augment=self.augment,
            cache_frozen=self.cache_frozen is not False,
            cache_dir=cache_directory(self.cache_frozen),
            source_data=data.source_rows,
            labelled=data.labelled,
            target_weight=self.target_weight,
            adaptation=self.adaptation,
            adaptation_weight=self._adaptation_weight(),
            net_mixins=mixins_of(self.net_mixins),
            regularization=self.regularization,
            generator=generator,
        )

    def _fit_data(
        self,
        X,
        y,
        labelled,
        n_outputs: int,
        *,
        source,
        across,
        y_source=None,
        **attributes,
    ) -> FitData:
        """The :class:`FitData` of a subclass's ``_validate_fit_data``:
        ``attributes`` are the fitted attributes the validation found."""
        rows = across and source.X is not None  # False: source-free
        return FitData(
            X=X, y=y, labelled=labelled, n_outputs=n_outputs, across=across,
            source_rows=(source.X, y_source) if rows else None,
            attributes=attributes,
        )  # fmt: skip

    #: Whether an adaptation loss on target rows only may adapt the source's
    #: weights without its data (classifiers: their losses read predictions).
    _source_free = False

    def _trains_across_domains(self, source: ResolvedSource | None) -> bool:
        """Whether fit trains across domains: the source carries data, or an
        adaptation loss needs none (source-free adaptation)."""
        has_data = source is not None and source.X is not None
        if self.adaptation is not None and not has_data:
            needs = LossNeeds.of(self.adaptation)
            if not (self._source_free and not needs.source_rows):
                raise ValueError(
                    f"{type(self.adaptation).__name__} needs labelled source data "
                    "to align the target with: pass source=sktransfer.Source("
                    "weights=..., X=X_source, y=y_source)."
                    + (
                        " Without source data, use a loss on the target's "
                        "predictions (SHOT, InformationMaximization, MCC, "
                        "MeanTeacher)."
                        if self._source_free
                        else ""
                    )
                )
            if source is None:
                raise ValueError(
                    "Source-free adaptation adapts a source network: pass its "
                    "weights as source= (a fitted classifier, a state dict, "
                    "sktransfer.Source(weights=...))."
                )
            return True
        if has_data and self.train_split is not None:
            raise ValueError(
                "train_split is not supported when training across domains; "
                "use train_split=None and score with GridSearchCV instead."
            )
        return has_data

    def _adaptation_weight(self) -> float:
        """μ: ``adaptation_weight``, or with ``"auto"`` the loss's own
        ``default_weight``."""
        if self.adaptation_weight != "auto":
            return self.adaptation_weight
        return 1.0 if self.adaptation is None else self.adaptation.default_weight

    def _check_source_rows(self, source: ResolvedSource, X: np.ndarray) -> None:
        """Source rows of the target's shape and, as far as one can tell, of
        the same preprocessing (they do not pass through a Pipeline)."""
        if source.X.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"Source.X has samples of shape {source.X.shape[1:]}, but X "
                f"has {X.shape[1:]}: map both domains to the same input."
            )
        ratio = scale_ratio(source.X, X)
        if not 0.1 <= ratio <= 10:
            warnings.warn(
                f"X varies {ratio:.3g} times as much as Source.X (median ratio of "
                "per-feature standard deviations): were the target rows "
                "preprocessed (e.g. by a StandardScaler earlier in a Pipeline) "
                "and the source rows not? Source rows do not pass through the "
                "Pipeline steps before this estimator: give Source.X already "
                "transformed by the same fitted steps.",
                UserWarning,
                stacklevel=3,
            )

    def _module_kwargs(self) -> dict:
        return {
            k.split("__", 1)[1]: v
            for k, v in self._forwarded_params().items()
            if k.startswith("module__")
        }

    def _net_device(self, device: str) -> str | None:
        """The net's ``device``: ``None`` when an accelerator given as
        ``net__accelerator`` places the network and the batches itself (it
        refuses a device; skorch's ``AccelerateMixin``)."""
        accelerator = self._net_kwargs().get("accelerator")
        if not getattr(accelerator, "device_placement", False):
            return device
        placed = getattr(accelerator, "device", None)
        kind = torch.device(device).type
        if placed is not None and torch.device(placed).type != kind:
            raise ValueError(
                f"device={self.device!r} but net__accelerator places the network "
                f"on {str(placed)!r}: give the estimator the same kind of device "
                f"(device={torch.device(placed).type!r}), where the network is "
                "prepared and seeded."
            )
        return None

    def _net_params(self, device: str, data: FitData, report) -> dict:
        """The skorch net's constructor parameters (the network aside)."""
        params = {
            k: v
            for k, v in self._forwarded_params().items()
            if not k.startswith(("module__", "net__"))
        }
        params.setdefault("iterator_train__shuffle", True)
        # accelerate rebuilds the loaders (Accelerator.prepare) and cannot
        # rebuild one that batches in its sampler: torch's DataLoader then.
        accelerated = "accelerator" in self._net_kwargs()
        loader = DataLoader if accelerated else BatchLoader
        params.setdefault("iterator_train", loader)
        params.setdefault("iterator_valid", loader)
        verbose = self._skorch_verbose()
        if accelerated and not verbose:
            # AccelerateMixin prints through accelerator.print, whatever
            # verbose says; print itself is silent at verbose=0.
            params.setdefault("callbacks__print_log__sink", print)
        if torch.device(device).type == "cuda":
            # Batches in pinned memory are copied to the GPU asynchronously.
            for name in ("iterator_train", "iterator_valid"):
                if params[name] is BatchLoader:
                    params.setdefault(name + "__pin_memory", True)
        if self.transferred_lr is not None:
            names = report.loc[
                (report["status"] == "transferred") & report["trainable"], "parameter"
            ]
            groups = list(params.pop("optimizer__param_groups", []))
            groups += [(name, {"lr": self.transferred_lr}) for name in names]
            params["optimizer__param_groups"] = groups
        callbacks = self.callbacks
        if self.verbose == "auto":
            # Lines only once training has run a few seconds (see Progress).
            progress = ("sktransfer_progress", Progress(type(self).__name__))
            callbacks = [*(callbacks or []), progress]
        net_params = dict(
            criterion=self.criterion,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=self.train_split,
            callbacks=callbacks,
            device=self._net_device(device),
            precision=self.precision,
            verbose=verbose,
            **self._net_extras(data),
            **self._net_kwargs(),
            **params,
        )
        # The checks accept numpy scalars (np.int64(32) is an int), torch does
        # not everywhere (BatchSampler refuses np.int64): plain Python values.
        return {
            k: v.item() if isinstance(v, np.generic) else v
            for k, v in net_params.items()
        }

    def _net_extras(self, data: FitData) -> dict:
        return {}

    def _skorch_verbose(self) -> int:
        """The skorch net's ``verbose``: ``"auto"`` leaves skorch's table of
        epochs off (:class:`~sktransfer._training.progress.Progress` prints
        instead, once a fit runs long)."""
        return 0 if self.verbose == "auto" else int(self.verbose)

    def _print_summary(self, source, prepared) -> None:
        report = prepared.report
        redone = report[report["reinitialised"]]
        if len(redone):
            shapes = ", ".join(
                f"{row.parameter} {row.source_shape} -> {row.shape}"
                for row in redone.head(4).itertuples()
            )
            head = set(prepared.blocks[-1].parameters) & set(redone["parameter"])
            hint = (
                " Give classes= (all the source's classes) to keep its output layer."
                if head and self._task == "classifier"
                else ""
            )
            warnings.warn(
                f"fit re-initialised {len(redone)} parameter(s) that the source "
                f"has with another shape ({shapes}): they start from scratch "
                f"(see transfer_report_).{hint}",
                UserWarning,
                stacklevel=5,  # the caller of the estimator's fit
            )
        if not self._skorch_verbose():
            return
        n_transferred = int((report["status"] == "transferred").sum())
        print(
            f"[{type(self).__name__}] source: "
            f"{source.description if source else 'none'}; "
            f"transferred {n_transferred}/{len(report)} parameters; "
            f"frozen blocks: {[b.name for b in prepared.frozen] or 'none'}."
        )

    # -- subclasses ---------------------------------------------------------

    def _validate_fit_data(
        self, X, y, source: ResolvedSource | None, across: bool
    ) -> FitData:
        """The fit's data (:meth:`_fit_data`): float32 inputs, the targets as
        the net takes them, the source's targets likewise (when training
        ``across`` domains on its rows), the mask of labelled target rows,
        the network's output width, and the fitted attributes the
        validation found (set by :meth:`_set_fitted` only)."""
        raise NotImplementedError


def scale_ratio(X_source: np.ndarray, X: np.ndarray, rows: int = 2000) -> float:
    """Median over features of std(X) / std(X_source) (features constant in
    either domain left out; 1.0 when none is left)."""
    a = X_source[:rows].reshape(min(rows, len(X_source)), -1).std(axis=0)
    b = X[:rows].reshape(min(rows, len(X)), -1).std(axis=0)
    varying = (a > 1e-8) & (b > 1e-8)
    return float(np.median(b[varying] / a[varying])) if varying.any() else 1.0
