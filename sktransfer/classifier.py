"""TransferClassifier: a skorch-trained network that starts from a source."""

from __future__ import annotations

import copy
import inspect
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data
from skorch.callbacks import PassthroughScoring
from torch import nn

from . import freezing, layout, prefix
from ._net import BatchLoader, TransferNet
from ._validation import validate_samples
from .adaptation.base import AdaptationLoss
from .adaptation.batches import DomainBatches
from .adaptation.objective import DomainSetup
from .models import MLP
from .source import ResolvedSource, resolve_source
from .transfer import copy_matching_weights, fit_head, fresh_copy, transfer_report

# Prefixes of the skorch parameters that TransferClassifier forwards to its net.
FORWARDED_PREFIXES = (
    "module",
    "optimizer",
    "criterion",
    "callbacks",
    "iterator_train",
    "iterator_valid",
    "dataset",
)
TRANSFER_MODES = ("weights", "structure")


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Neural network classifier that transfers knowledge from a source network.

    ``fit(X, y)`` is always about the target task. The knowledge comes in
    through ``source``: the weights of a pretrained network are copied into
    the target network wherever name and shape agree (a new head when the
    number of classes differs, a new first layer when the input does), the
    first ``freeze_depth`` blocks are frozen, and the rest is fine-tuned with
    skorch. ``source`` is kept by reference through :func:`sklearn.base.clone`,
    so ``GridSearchCV`` and ``cross_val_score`` start every fold from the
    source's trained weights without copying the source per fold.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The target network. A class is instantiated with the ``module__*``
        parameters; its ``n_features`` / ``n_classes`` / ``in_channels``
        arguments, when it has them and they are not given, are inferred from
        the data. An instance is deep-copied, never trained in place. ``None``
        uses the source's architecture when the source has one (its last
        ``nn.Linear`` resized to the number of classes), else a
        :class:`~sktransfer.models.MLP`.
    source : object, default=None
        Where the knowledge comes from: ``None`` (train from scratch), a
        fitted ``TransferClassifier`` or skorch net, a ``torch.nn.Module``
        with pretrained weights, a state dict, or the path of a state dict
        saved with ``torch.save`` (read with ``weights_only=True``).
    transfer : {"weights", "structure"}, default="weights"
        ``"weights"`` copies the source tensors that fit (parameter transfer);
        ``"structure"`` reuses only the source's architecture, freshly
        initialised (structure transfer).
    freeze_depth : int, str or list of str, default=0
        What stays fixed at the source's weights. ``0`` trains everything;
        ``k > 0`` freezes the first ``k`` blocks in forward order; ``k < 0``
        freezes all but the last ``|k|`` blocks. A block is a layer that owns
        parameters together with the normalisation layers that directly follow
        it in the forward pass (see :mod:`sktransfer.freezing`). A pattern or
        list of patterns (``fnmatch``, e.g. ``"conv*"``) freezes every block
        with a matching layer or parameter name. Frozen blocks get no
        gradient, stay out of the optimizer, and their batch-norm running
        statistics are kept.
    cache_frozen : {"auto", False}, default="auto"
        ``"auto"`` computes the outputs of the frozen blocks once per ``fit``,
        and trains the rest of the network on them, when that gives the same
        network as training it whole: the frozen blocks are a prefix of the
        network, the network can be cut there (an ``nn.Sequential``, or a
        network with a ``split_forward`` method such as
        :class:`~sktransfer.models.LeNet` and :class:`~sktransfer.models.MLP`),
        the prefix does not depend on the training mode, and there is no
        ``augment`` and no source data (see :mod:`sktransfer.prefix` for the
        exact rule) and the outputs fit in the cache's limit (1 GiB by
        default, :func:`sktransfer.prefix.set_cache_limit`). They are cached
        per process across fits with the same frozen weights and data, e.g.
        the candidates of a ``GridSearchCV``. ``False`` always trains the
        whole network.
    memory_format : {"auto", "contiguous", "channels_last"}, default="auto"
        Memory layout of the network's 4-D weights and activations while it
        trains. ``"auto"`` trains a network with 2-D convolutions on image
        batches on CPU in the channels-last layout, which oneDNN runs faster
        (about 12 % per LeNet step), when a forward pass on two samples gives
        the same output in it; otherwise, e.g. for a network that calls
        ``.view()`` on convolution outputs, it keeps the default layout.
        ``"channels_last"`` asks for it on any device and raises if the
        network cannot take it. After ``fit`` the network is back in the
        default layout, so ``module_`` looks like the network passed in.
    target_weight : float, default=1.0
        λ in ``L = L_source + λ·L_target + μ·L_adapt`` when the source carries
        labelled data (:class:`~sktransfer.Source`): the weight of the mean
        loss on the labelled target rows against the mean loss on the source
        rows. Without source data only ``L_target`` is trained, and this
        parameter is ignored.
    adaptation : AdaptationLoss, default=None
        An unsupervised domain adaptation loss (:class:`~sktransfer.adaptation.DANN`,
        :class:`~sktransfer.adaptation.DeepCORAL`, :class:`~sktransfer.adaptation.MMD`)
        between source and target features; it needs labelled source data.
        Its hyperparameters are ``adaptation__*`` parameters.
    adaptation_weight : float, default=1.0
        μ, the weight of the adaptation loss.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Loss on the network's logits.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer; its options are ``optimizer__*`` parameters.
    lr : float, default=1e-3
        Learning rate.
    transferred_lr : float, default=None
        Learning rate of the transferred parameters that are trained (the
        fresh ones use ``lr``). ``None`` means ``lr``.
    augment : callable, default=None
        Applied to every training batch (a tensor) before the forward pass,
        e.g. :class:`sktransfer.augmentation.RandomAffine`; never at predict
        time.
    classes : array-like, default=None
        All the class labels of the target task. Give them when a fit may
        see only some of them, e.g. in the cross-validation folds of a few-shot
        target; ``None`` takes the labels present in ``y``.
    max_epochs : int, default=20
        Number of passes over the target data. ``0`` transfers the weights
        and trains nothing: the source's predictions (source only).
    batch_size : int, default=64
        Mini-batch size.
    train_split : callable, default=None
        skorch's validation split (e.g. ``skorch.dataset.ValidSplit(5)``);
        ``None`` trains on all of ``X``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (early stopping, LR schedules, checkpoints).
    device : str, default="cpu"
        Torch device to train on.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of fresh layers, shuffling and dropout.
        An int makes ``fit`` reproducible; the global torch RNG is left as it
        was.
    verbose : int, default=0
        ``1`` prints the transfer summary and skorch's table of epochs.
    **kwargs
        skorch parameters with the prefixes ``module__``, ``optimizer__``,
        ``criterion__``, ``callbacks__``, ``iterator_train__``,
        ``iterator_valid__`` and ``dataset__``, e.g. ``optimizer__weight_decay``.

    Attributes
    ----------
    net_ : skorch.NeuralNetClassifier
        The trained skorch net.
    module_ : torch.nn.Module
        The trained target network (``net_.module_``).
    history_ : skorch.History
        The training history (``net_.history``).
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        ``X.shape[1]``: features for tables, channels for images.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string columns.
    input_shape_ : tuple of int
        The shape of one sample, ``X.shape[1:]``.
    blocks_ : list of str
        The network's blocks in forward order (what ``freeze_depth`` counts).
    memory_format_ : str
        The layout the network trained in: ``"channels_last"`` or
        ``"contiguous"`` (see ``memory_format``).
    cached_prefix_ : str or None
        The first trainable layer, when the frozen layers before it were
        computed once (``cache_frozen``); ``None`` when the whole network was
        trained.
    transfer_report_ : pandas.DataFrame
        One row per parameter: its block, shape, the source tensor's shape,
        ``status`` (``"transferred"`` or ``"fresh"``) and ``trainable``.

    See Also
    --------
    sktransfer.models.LeNet : A CNN for 28x28 digit images to transfer.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sktransfer import TransferClassifier
    >>> X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    >>> source = TransferClassifier(random_state=0).fit(X, y)
    >>> clf = TransferClassifier(source=source, freeze_depth=1, random_state=0)
    >>> clf.fit(X[:40], y[:40]).score(X[40:], y[40:]) > 0.8
    True
    >>> clf.transfer_report_[["parameter", "status", "trainable"]]
          parameter       status  trainable
    0  layers.1.weight  transferred      False
    1    layers.1.bias  transferred      False
    2  layers.3.weight  transferred       True
    3    layers.3.bias  transferred       True
    """

    def __init__(
        self,
        module=None,
        *,
        source=None,
        transfer="weights",
        freeze_depth=0,
        cache_frozen="auto",
        memory_format="auto",
        target_weight=1.0,
        adaptation=None,
        adaptation_weight=1.0,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        transferred_lr=None,
        augment=None,
        classes=None,
        max_epochs=20,
        batch_size=64,
        train_split=None,
        callbacks=None,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.module = module
        self.source = source
        self.transfer = transfer
        self.freeze_depth = freeze_depth
        self.cache_frozen = cache_frozen
        self.memory_format = memory_format
        self.target_weight = target_weight
        self.adaptation = adaptation
        self.adaptation_weight = adaptation_weight
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.transferred_lr = transferred_lr
        self.augment = augment
        self.classes = classes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        for key, value in kwargs.items():
            setattr(self, key, value)

    # -- parameters ---------------------------------------------------------

    def _forwarded_params(self) -> dict:
        """The ``**kwargs`` given to ``__init__`` or ``set_params``.

        They are stored as attributes, like skorch does; fitted attributes end
        in ``_`` and private ones start with ``_``, so neither is counted.
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

    def __sklearn_clone__(self):
        # The source is shared, not copied: no per-fold deep copy of a big
        # network, and no loss of its trained weights (cloning a fitted
        # estimator or skorch net would return an unfitted one).
        params = self.get_params(deep=False)
        source = params.pop("source")
        params = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(source=source, **params)

    # -- fit ------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the target network, starting from the source.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Target inputs: a table, or images in channels-first layout.
        y : array-like of shape (n_samples,)
            Target labels, of any type. When the source carries labelled data
            (:class:`~sktransfer.Source`), ``-1`` marks unlabelled target rows
            (scikit-learn's semi-supervised convention): all ``-1`` with an
            ``adaptation`` loss is unsupervised domain adaptation. Otherwise
            ``-1`` is a label like any other.

        Returns
        -------
        self : TransferClassifier
            The fitted estimator.
        """
        self._check_params()
        source = resolve_source(self.source)
        domain = self._domain_mode(source)
        X, y, y_source = self._validate_input(X, y, source if domain else None)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        devices = [] if torch.device(self.device).type == "cpu" else None
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            module, transferred = self._build_module(source, X)
            blocks, frozen = self._freeze(module, X)
            self.memory_format_ = layout.choose_memory_format(
                module, torch.as_tensor(X[:2]), self.memory_format, self.device
            )
            self.transfer_report_ = transfer_report(
                module,
                transferred,
                blocks,
                frozen,
                bool(source and source.state_dict and self.transfer == "weights"),
            )
            self._check_transfer(source, module)
            self.blocks_ = [b.name for b in blocks]
            self._print_summary(source, frozen)
            setup = (
                self._domain_setup(module, blocks, X, y, source.X, y_source)
                if domain
                else None
            )
            self.net_ = self._make_net(module, frozen, setup)
            cache = self.cache_frozen == "auto"
            with prefix.frozen_prefix(self.net_, blocks, frozen, X, cache) as fit_on:
                X_fit, self.cached_prefix_ = fit_on
                try:
                    self.net_.fit(X_fit, y)
                finally:
                    layout.restore_memory_format(module)
        self.module_ = self.net_.module_
        self.history_ = self.net_.history
        return self

    def _domain_mode(self, source: ResolvedSource | None) -> bool:
        """Whether fit trains across domains (source data or adaptation)."""
        has_data = source is not None and source.X is not None
        if self.adaptation is not None and not has_data:
            raise ValueError(
                "adaptation needs labelled source data to align the target "
                "with: pass source=sktransfer.Source(weights=..., X=X_source, "
                "y=y_source)."
            )
        if has_data and self.train_split is not None:
            raise ValueError(
                "train_split is not supported when training across domains; "
                "use train_split=None and score with GridSearchCV instead."
            )
        return has_data

    def _validate_input(self, X, y, source: ResolvedSource | None):
        X, y = validate_data(
            self, X, y, allow_nd=True, dtype=np.float32, ensure_all_finite=True
        )
        if not X.flags.writeable:  # torch warns on read-only buffers
            X = X.copy()
        unlabelled = _unlabelled(y) if source is not None else np.zeros(len(y), bool)
        if not unlabelled.all():
            check_classification_targets(y[~unlabelled])
        labels = [y[~unlabelled]]
        if source is not None:
            if source.X.shape[1:] != X.shape[1:]:
                raise ValueError(
                    f"Source.X has samples of shape {source.X.shape[1:]}, but X "
                    f"has {X.shape[1:]}: map both domains to the same input."
                )
            labels.append(source.y)
        if self.classes is not None:
            labels = [np.asarray(self.classes)]
        self._label_encoder = LabelEncoder().fit(np.concatenate(labels))
        self.classes_ = self._label_encoder.classes_
        for what, values in (
            ("y", y[~unlabelled]),
            ("Source.y", getattr(source, "y", None)),
        ):
            if values is None:
                continue
            unknown = np.setdiff1d(values, self.classes_)
            if unknown.size:
                raise ValueError(
                    f"{what} has labels {unknown[:5].tolist()} that are not in classes."
                )
        if len(self.classes_) < 2:
            raise ValueError(
                "TransferClassifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]!r}."
            )
        self.input_shape_ = tuple(X.shape[1:])
        y_enc = np.full(len(y), -1, dtype=np.int64)
        y_enc[~unlabelled] = self._label_encoder.transform(y[~unlabelled])
        y_source = (
            self._label_encoder.transform(source.y).astype(np.int64)
            if source is not None
            else None
        )
        return X, y_enc, y_source

    def _check_params(self) -> None:
        if self.transfer not in TRANSFER_MODES:
            raise ValueError(
                f"transfer must be one of {TRANSFER_MODES}; got {self.transfer!r}."
            )
        for name in ("lr", "transferred_lr", "target_weight", "adaptation_weight"):
            value = getattr(self, name)
            if value is None and name == "transferred_lr":  # None means lr
                continue
            if not isinstance(value, Real) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"{name} must be a non-negative number; got {value!r}."
                )
        if self.adaptation is not None and not isinstance(
            self.adaptation, AdaptationLoss
        ):
            raise TypeError(
                "adaptation must be an sktransfer.adaptation.AdaptationLoss (e.g. "
                f"DANN(), DeepCORAL(), MMD()) or None; got {self.adaptation!r}."
            )
        if (
            not (isinstance(self.cache_frozen, str) and self.cache_frozen == "auto")
            and self.cache_frozen is not False
        ):
            raise ValueError(
                f'cache_frozen must be "auto" or False; got {self.cache_frozen!r}.'
            )
        if self.memory_format not in layout.MEMORY_FORMATS:
            raise ValueError(
                f"memory_format must be one of {layout.MEMORY_FORMATS}; got "
                f"{self.memory_format!r}."
            )
        if self.augment is not None and not callable(self.augment):
            raise TypeError(f"augment must be callable; got {self.augment!r}.")
        for name, low in (("max_epochs", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if (
                not isinstance(value, Integral)
                or isinstance(value, bool)
                or value < low
            ):
                raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
        for key in self._forwarded_params():
            if key.split("__", 1)[0] not in FORWARDED_PREFIXES:
                raise ValueError(
                    f"Unknown parameter {key!r} of {type(self).__name__}: extra "
                    "parameters are forwarded to skorch and must start with one "
                    f"of {[p + '__' for p in FORWARDED_PREFIXES]}."
                )

    def _build_module(self, source: ResolvedSource | None, X: np.ndarray):
        """Steps 3 of fit: the target network, with the source weights that fit."""
        n_classes = len(self.classes_)
        if self.module is not None:
            module = self._instantiate_module(X, n_classes)
        elif source is not None and source.module is not None:
            module = fit_head(copy.deepcopy(source.module), n_classes)
        else:
            module = self._instantiate_module(X, n_classes, default=MLP)
        if source is not None and self.transfer == "structure":
            if source.module is None and self.module is None:
                raise ValueError(
                    "transfer='structure' reuses the source's architecture, but "
                    f"the source ({source.description}) holds weights only; pass "
                    "a torch.nn.Module or a fitted estimator as source."
                )
            module = fresh_copy(module)
            return module, {}
        transferred = (
            copy_matching_weights(module, source.state_dict)
            if source is not None and source.state_dict is not None
            else {}
        )
        return module, transferred

    def _instantiate_module(self, X, n_classes, default=None):
        module = self.module if self.module is not None else default
        kwargs = {
            k.split("__", 1)[1]: v
            for k, v in self._forwarded_params().items()
            if k.startswith("module__")
        }
        if isinstance(module, nn.Module):
            if kwargs:
                raise ValueError(
                    "module__* parameters need module to be a class, not an "
                    f"instance; got {sorted(kwargs)} with a {type(module).__name__}."
                )
            return copy.deepcopy(module)  # never train the caller's module
        if not (inspect.isclass(module) and issubclass(module, nn.Module)):
            raise TypeError(
                "module must be a torch.nn.Module class or instance, or None; "
                f"got {module!r}."
            )
        inferred = {
            "n_classes": n_classes,
            "n_features": int(np.prod(X.shape[1:])),
            "in_channels": X.shape[1] if X.ndim == 4 else None,
        }
        accepted = inspect.signature(module).parameters
        for name, value in inferred.items():
            if name in accepted and name not in kwargs and value is not None:
                kwargs[name] = value
        return module(**kwargs)

    def _freeze(self, module: nn.Module, X: np.ndarray):
        """Step 4: trace the blocks, check the network takes X, freeze."""
        example = torch.as_tensor(X[:2])
        try:
            blocks, output = freezing.trace_blocks(module, example)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise ValueError(
                f"The network cannot take X with samples of shape {X.shape[1:]}: "
                f"{exc}. Map X to the input the network expects (e.g. with "
                "sktransfer.ImageMapping) or pass a module that takes it."
            ) from exc
        n_classes = len(self.classes_)
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != (
            len(example),
            n_classes,
        ):
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else output
            raise ValueError(
                f"The network's output for 2 samples has shape {shape}, but y has "
                f"{n_classes} classes: expected ({len(example)}, {n_classes})."
            )
        frozen = freezing.select_frozen(blocks, self.freeze_depth)
        freezing.freeze(module, frozen)
        return blocks, frozen

    def _check_transfer(self, source: ResolvedSource | None, module) -> None:
        if source is None or source.state_dict is None or self.transfer != "weights":
            return
        if not (self.transfer_report_["status"] == "transferred").any():
            raise ValueError(
                f"No parameter of the source ({source.description}) matches the "
                "target network by name and shape, so nothing would be "
                f"transferred. Source tensors: {_shapes(source.state_dict)}; "
                f"target: {_shapes(module.state_dict())}."
            )

    def _domain_setup(self, module, blocks, X, y, X_source, y_source) -> DomainSetup:
        """The fixed parts of a training across domains."""
        adaptation, layer, critic = self.adaptation, None, None
        if adaptation is not None:
            layer = freezing.resolve_layer(module, blocks, adaptation.layer)
            n_features = _output_size(module, layer, X[:2])
            critic = adaptation.build(n_features)
        steps = math.ceil(max(len(X_source), len(X)) / self.batch_size)
        return DomainSetup(
            source=(X_source, y_source),
            target_weight=self.target_weight,
            adaptation=adaptation,
            adaptation_weight=self.adaptation_weight,
            layer=layer,
            critic=critic,
            total_steps=steps * self.max_epochs,
            has_labelled_target=bool((y >= 0).any()),
        )

    def _make_net(self, module, frozen, setup: DomainSetup | None) -> TransferNet:
        """Step 5: the skorch net over the trainable parameters."""
        kwargs = {
            k: v
            for k, v in self._forwarded_params().items()
            if not k.startswith("module__")
        }
        kwargs.setdefault("iterator_train__shuffle", True)
        callbacks = self.callbacks
        if setup is not None:
            # Epoch means of the loss terms, next to skorch's train_loss.
            callbacks = list(callbacks or []) + [
                (name, PassthroughScoring(name, on_train=True))
                for name in setup.loss_terms()
            ]
            kwargs["iterator_train"] = DomainBatches
            kwargs["iterator_train__source"] = setup.source
            kwargs["iterator_train__adapt"] = setup.adaptation is not None
        kwargs.setdefault("iterator_train", BatchLoader)
        kwargs.setdefault("iterator_valid", BatchLoader)
        if self.transferred_lr is not None:
            report = self.transfer_report_
            names = report.loc[
                (report["status"] == "transferred") & report["trainable"], "parameter"
            ]
            groups = list(kwargs.pop("optimizer__param_groups", []))
            groups += [(name, {"lr": self.transferred_lr}) for name in names]
            kwargs["optimizer__param_groups"] = groups
        net = TransferNet(
            module=module,
            criterion=self.criterion,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=self.train_split,
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
            classes=np.arange(len(self.classes_)),
            **kwargs,
        )
        net.frozen_norms_ = freezing.frozen_norm_layers(module, frozen)
        net.augment_ = self.augment
        net.domain_ = setup
        return net

    def _print_summary(self, source, frozen) -> None:
        if not self.verbose:
            return
        report = self.transfer_report_
        n_transferred = int((report["status"] == "transferred").sum())
        print(
            f"[TransferClassifier] source: {source.description if source else 'none'}; "
            f"transferred {n_transferred}/{len(report)} parameters; "
            f"frozen blocks: {[b.name for b in frozen] or 'none'}."
        )

    # -- predict --------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns ordered as ``classes_``.
        """
        X = validate_samples(self, X)
        return self.net_.predict_proba(X).astype(np.float64)

    def predict(self, X):
        """Predicted class labels of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """Mask of the rows marked ``-1`` (unlabelled), for numeric or object y."""
    if y.dtype.kind in "iuf":
        return y == -1
    if y.dtype.kind == "O":
        return np.array([isinstance(v, Real) and v == -1 for v in y], dtype=bool)
    return np.zeros(len(y), dtype=bool)


def _output_size(module: nn.Module, layer: str, example: np.ndarray) -> int:
    """Number of values per sample that ``layer`` outputs."""
    captured = []
    handle = module.get_submodule(layer).register_forward_hook(
        lambda m, a, out: captured.append(out)
    )
    try:
        with freezing.eval_mode(module), torch.no_grad():
            module(torch.as_tensor(example))
    finally:
        handle.remove()
    return int(np.prod(captured[0].shape[1:]))


def _explicit_params(cls) -> set[str]:
    """Names of the explicit ``__init__`` parameters (no ``self``, no ``**kwargs``)."""
    return {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_KEYWORD
    }


def _shapes(state_dict) -> dict:
    return {k: tuple(v.shape) for k, v in list(state_dict.items())[:8]}
