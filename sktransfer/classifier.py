"""TransferClassifier: a skorch-trained network that starts from a source."""

from __future__ import annotations

import copy
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base.validation import validate_fit_input, validate_samples
from ._labels import (
    check_label_kinds,
    check_marker_type,
    check_source_labels,
    labelled_rows,
    marked,
    retyped,
)
from ._params import InstanceOf, Interval, resolve_device
from ._supervised import NetworkEstimator
from .source import ResolvedSource


class TransferClassifier(ClassifierMixin, NetworkEstimator):
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
        it in the forward pass (``blocks_`` lists them). A pattern or
        list of patterns (``fnmatch``, e.g. ``"conv*"``) freezes every block
        with a matching layer or parameter name. Frozen blocks get no
        gradient, stay out of the optimizer, and their batch-norm running
        statistics are kept.
    cache_frozen : {"auto", False}, path or joblib.Memory, default="auto"
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
        whole network. The path of an existing folder, or a ``joblib.Memory``
        with a location, does what ``"auto"`` does and also keeps the outputs
        there (``sktransfer-prefix-<key>.npy``, written atomically with a
        record of its sha256), where every process with the same frozen
        weights and data reads them: the workers of a parallel search compute
        a prefix once between them. A file whose bytes do not match its
        record (truncated, overwritten) is computed again, with a warning
        naming it. The folder keeps at most 4 GiB of outputs, deleting the
        least recently used first; another budget is set per folder with
        :func:`sktransfer.prefix.set_disk_cache_limit`.
    memory_format : {"auto", "contiguous", "channels_last"}, default="auto"
        Memory layout of the network's 4-D weights and activations while it
        trains. ``"auto"`` trains a network with 2-D convolutions on image
        batches on CPU or CUDA in the channels-last layout, when a forward
        pass on two samples gives the same output in it: oneDNN runs it faster
        on CPU (measured: :doc:`/benchmarks`), and cuDNN's Tensor Core
        convolutions (float16, bfloat16, and TF32 from Ampere on) work in it
        natively. Otherwise, e.g. for a network that calls ``.view()`` on
        convolution outputs, or on other devices, it keeps the default layout.
        ``"channels_last"`` asks for it on any device and raises if the
        network cannot take it. After ``fit`` the network is back in the
        default layout, so ``module_`` looks like the network passed in.
    target_weight : float, default=1.0
        λ in ``L = L_source + λ·L_target + μ·L_adapt`` when the source carries
        labelled data (:class:`~sktransfer.Source`): the weight of the mean
        loss on the labelled target rows against the mean loss on the source
        rows. Without source data only ``L_target`` is trained, and this
        parameter is ignored (with a warning unless it is 1.0).
    adaptation : AdaptationLoss, default=None
        An unsupervised domain adaptation loss (:class:`~sktransfer.adaptation.DANN`,
        :class:`~sktransfer.adaptation.CDAN`, :class:`~sktransfer.adaptation.DeepCORAL`,
        :class:`~sktransfer.adaptation.MMD` between source and target features;
        :class:`~sktransfer.adaptation.InformationMaximization`,
        :class:`~sktransfer.adaptation.MCC`,
        :class:`~sktransfer.adaptation.MeanTeacher`,
        :class:`~sktransfer.adaptation.SHOT` on the target's predictions).
        Losses between features need labelled source data; those on the
        target's predictions also adapt a source given as weights only
        (source-free adaptation: ``-1`` then marks unlabelled target rows,
        and the source's output layer must be transferred).
        Its hyperparameters are ``adaptation__*`` parameters.
    adaptation_weight : float or "auto", default="auto"
        μ, the weight of the adaptation loss. ``"auto"``: the loss's
        ``default_weight`` (1 for most losses; 0.3 for
        :class:`~sktransfer.adaptation.DANN`, 3 for
        :class:`~sktransfer.adaptation.MeanTeacher`; how they were chosen:
        :doc:`/benchmarks`).
        A number without an ``adaptation`` loss is ignored, with a warning.
    regularization : Regularization, default=None
        A penalty added to the training loss that keeps fine-tuning on few
        labels close to what was transferred:
        :class:`~sktransfer.regularization.L2SP` (pulls the transferred
        weights towards the source's, not towards zero),
        :class:`~sktransfer.regularization.BSS` (shrinks the smallest
        singular values of a batch's features), or both
        (:class:`~sktransfer.regularization.Compose`). Its hyperparameters
        are ``regularization__*`` parameters. It applies with or without
        source data and with a cached frozen prefix; its value is recorded as
        ``reg_loss`` in ``history_`` (``train_loss`` includes it, a
        validation loss does not).
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Loss on the network's logits: it must take float32 logits of shape
        ``(n, n_classes)`` and int64 class indices of shape ``(n,)`` and
        return one number, which ``fit`` checks before training (a loss for
        same-shaped targets, such as ``MSELoss``, is refused with a clear
        error).
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
        target. ``None`` takes the classes of a fitted classifier given as
        source when every label of ``y`` (and ``Source.y``) is one of them, so
        that a fold missing some classes keeps the source's output layer;
        else the labels present in ``y`` (and ``Source.y``).
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled target row when the
        source carries labelled data (scikit-learn's semi-supervised
        convention is ``-1``). ``None``: every row is labelled. It may not be
        one of the classes (in ``Source.y`` or ``classes``): with labels
        coded ``{-1, 1}``, pass ``unlabelled=None`` or another marker.
        Without source data every value of ``y`` is a label.
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
        Torch device to train on; ``"auto"`` takes CUDA when available. A
        device this machine lacks is refused in ``fit``. On CUDA, batches
        are copied from pinned memory with ``non_blocking=True``.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The dtype the network's forward passes compute in, in training and in
        prediction. ``"float32"`` changes nothing. ``"bfloat16"`` and
        ``"float16"`` run them under :func:`torch.autocast`: matrix products
        and convolutions in the lower precision, which GPUs run several times
        faster; the weights stay float32, the network's outputs come back as
        float32, and losses (adaptation losses included) are computed in
        float32. ``"float16"`` also scales the loss
        (:class:`torch.amp.GradScaler`) so that small gradients do not
        underflow; steps whose scaled gradients overflow are skipped, as
        usual. ``"float16"`` needs a GPU (torch emulates it on CPUs, about 10
        times slower) and is refused on the CPU; ``"bfloat16"`` runs on both,
        fast on CPUs with native bfloat16 (AVX-512 BF16, AMX). A frozen prefix
        computed once (``cache_frozen``) is computed in float32.
    net_mixins : class or tuple of classes, default=None
        Classes placed before sktransfer's own skorch net class in the method
        resolution order, e.g. ``skorch.hf.AccelerateMixin`` for multi-GPU
        training with Hugging Face ``accelerate``. Their constructor arguments
        are ``net__*`` parameters (``net__accelerator=Accelerator()``). When
        ``net__accelerator`` places the network, the net gets ``device=None``
        and ``device`` (of the same kind) says where the network is prepared.
        A mixin that replaces the training step (``train_step_single``, as
        ``AccelerateMixin`` does) trains the whole network (no cached frozen
        prefix), cannot train across domains, and handles mixed precision
        itself (keep ``precision="float32"``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of fresh layers, shuffling and dropout.
        An int makes ``fit`` reproducible; the global torch RNG is left as it
        was.
    verbose : "auto", int or bool, default="auto"
        ``"auto"``: a fit that trains for more than about 5 seconds prints a
        line per epoch (at most one every 5 seconds, and the last one), with
        the mean training loss, the time per epoch and an estimate of the
        time left, and, inside an epoch that runs long, a line every 30
        seconds; a quicker fit (a doctest, most fits in a grid search)
        prints nothing. ``0`` prints nothing. ``1`` prints the transfer
        summary and skorch's table of every epoch.
    **kwargs
        skorch parameters with the prefixes ``module__``, ``optimizer__``,
        ``criterion__``, ``callbacks__``, ``iterator_train__``,
        ``iterator_valid__``, ``dataset__`` and ``net__`` (arguments of
        the skorch net's constructor, for ``net_mixins``), e.g.
        ``optimizer__weight_decay``.

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
    training_strategy_ : str
        How the network was trained: ``"fine_tune"``, ``"frozen_prefix"``
        (the frozen blocks computed once, see ``cache_frozen``),
        ``"across_domains"`` (the source carries data) or ``"source_free"``
        (an ``adaptation`` loss adapts the source's weights without its data).
    cached_prefix_ : str or None
        The first trainable layer, when the frozen layers before it were
        computed once (``cache_frozen``); ``None`` when the whole network was
        trained.
    transfer_report_ : pandas.DataFrame
        One row per parameter: its block, shape, the source tensor's shape,
        ``status`` (``"transferred"`` or ``"fresh"``) and ``trainable``.

    Notes
    -----
    ``Pipeline``, ``GridSearchCV`` and ``cross_val_score`` pass ``y`` as it
    is. scikit-learn's ``VotingClassifier``, ``StackingClassifier`` and
    ``BaggingClassifier`` do not: they re-code the labels as ``0..m-1``
    before fitting their members. The unlabelled marker then becomes a
    class, and a target missing one of the source's classes gets its labels
    shifted against the source's, and the member cannot tell. To ensemble
    transfer classifiers, fit them yourself and average their
    ``predict_proba`` (their ``classes_`` agree when they share the source).

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

    _task = "classifier"
    _source_free = True  # adaptation losses on predictions need no source rows
    _outputs_name = "classes"
    _constraints = {
        **NetworkEstimator._constraints,
        "unlabelled": [None, Interval(Real), InstanceOf(str, "a str")],
    }

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
        adaptation_weight="auto",
        regularization=None,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        transferred_lr=None,
        augment=None,
        classes=None,
        unlabelled=-1,
        max_epochs=20,
        batch_size=64,
        train_split=None,
        callbacks=None,
        device="cpu",
        precision="float32",
        net_mixins=None,
        random_state=None,
        verbose="auto",
        **kwargs,
    ):
        self._store(locals())

    def fit(self, X, y):
        """Fit the target network, starting from the source.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Target inputs: a table, or images in channels-first layout.
        y : array-like of shape (n_samples,)
            Target labels, of any type. When the source carries labelled data
            (:class:`~sktransfer.Source`), or an ``adaptation`` loss adapts a
            source without data, ``-1`` marks unlabelled target rows
            (scikit-learn's semi-supervised convention): all ``-1`` with an
            ``adaptation`` loss is unsupervised domain adaptation. Otherwise
            ``-1`` is a label like any other.

        Returns
        -------
        self : TransferClassifier
            The fitted estimator.
        """
        return super().fit(X, y)

    def _validate_fit_data(self, X, y, source: ResolvedSource | None, across: bool):
        # Before validate_data, which turns [0, "a"] into the strings "0", "a".
        check_label_kinds(y, self.unlabelled if across else None)
        X, y, found = validate_fit_input(
            self, X, y, allow_nd=True, dtype=np.float32, ensure_all_finite=True
        )
        if not X.flags.writeable:  # torch warns on read-only buffers
            X = X.copy()
        # The marker means "unlabelled" only with source data to learn from.
        marker = self.unlabelled if across else None
        check_marker_type(y, marker)
        unlabelled = marked(y, marker)
        # The labels left, typed as they would be without the marker.
        y_labelled = retyped(y[~unlabelled]) if unlabelled.any() else y
        if len(y_labelled):
            check_classification_targets(y_labelled)
        rows = across and source.X is not None  # False: source-free
        if rows:
            self._check_source_rows(source, X)
            check_label_kinds(source.y, self.unlabelled, "Source.y")
            source.y = column_or_1d(source.y, warn=True)
            check_source_labels(source.y, marker)
        labels = self._labels(y_labelled, source, rows, marker)
        if across and not rows:
            self._check_source_free_labels(y_labelled, source)
        if across and not rows and len(np.unique(labels)) < 2:
            raise ValueError(
                "Source-free adaptation with too few labelled target rows to "
                "tell the classes: give classes= (all the classes the source "
                "predicts, in its order) or a fitted classifier as source."
            )
        encoder = LabelEncoder().fit(labels)
        classes = encoder.classes_
        for what, values in (
            ("y", y_labelled),
            ("Source.y", source.y if rows else None),
        ):
            if values is None:
                continue
            unknown = np.setdiff1d(values, classes)
            if unknown.size:
                raise ValueError(
                    f"{what} has labels {unknown[:5].tolist()} that are not in classes."
                )
        if len(classes) < 2:
            raise ValueError(
                "TransferClassifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )
        y_enc = np.full(len(y), -1, dtype=np.int64)
        y_enc[~unlabelled] = encoder.transform(y_labelled)
        y_source = encoder.transform(source.y).astype(np.int64) if rows else None
        self._check_criterion(len(classes))
        return self._fit_data(
            X, y_enc, ~unlabelled, len(classes), source=source, across=across,
            y_source=y_source, **found, _marker=marker, _label_encoder=encoder,
            classes_=classes, input_shape_=tuple(X.shape[1:]),
        )  # fmt: skip

    def _check_criterion(self, n_classes: int) -> None:
        """Refuse a ``criterion`` that cannot take what every step gives it:
        float32 logits ``(n, n_classes)`` and int64 class indices ``(n,)``.

        Tried on ``n_classes + 1`` rows, so that a loss for same-shaped
        targets (``MSELoss``) cannot broadcast the indices against the
        logits and pass; it must return one number.
        """
        name = getattr(self.criterion, "__name__", type(self.criterion).__name__)
        kwargs = {
            k.split("__", 1)[1]: v
            for k, v in self._forwarded_params().items()
            if k.startswith("criterion__")
        }
        device = resolve_device(self.device)
        n = n_classes + 1
        logits = torch.linspace(-1.0, 1.0, n * n_classes, device=device)
        target = torch.arange(n, device=device) % n_classes
        try:
            if isinstance(self.criterion, type):
                criterion = self.criterion(**kwargs)
            else:  # an instance: tried on a copy, left as it is
                criterion = copy.deepcopy(self.criterion)
            with warnings.catch_warnings():  # the error below says it all
                warnings.simplefilter("ignore")
                loss = criterion.to(device)(logits.reshape(n, n_classes), target)
            # One number; whether it is finite is the training guard's to
            # say (NonFiniteLossError names the epoch, batch and term).
            problem = (
                None
                if isinstance(loss, torch.Tensor) and loss.numel() == 1
                else f"it returned {loss!r}, not one number"
            )
        except Exception as exc:  # what any loss may raise on these inputs
            problem = f"it raised {type(exc).__name__}: {exc}"
        if problem is not None:
            raise ValueError(
                f"criterion={name} cannot take what TransferClassifier gives "
                f"it: float32 logits of shape (n, {n_classes}) and int64 class "
                f"indices of shape (n,); tried on {n} rows, {problem}. Use a "
                "classification loss on logits and class indices, such as "
                "torch.nn.CrossEntropyLoss (the default); regression targets "
                "go with TransferRegressor."
            )

    def _check_source_free_labels(self, y, source: ResolvedSource) -> None:
        """Without ``classes=``, labelled target rows of source-free adaptation
        must carry the source's classes: its output layer is kept, and a
        label it does not predict would silently rename one of its outputs."""
        if self.classes is not None or source.classes is None:
            return
        unknown = np.unique(y[~np.isin(y, source.classes)])
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown[:5].tolist()} that the source does not "
                f"predict (its classes: {source.classes[:10].tolist()}). "
                "Source-free adaptation keeps the source's output layer, whose "
                "outputs stand for its classes: label the target rows with "
                "those, or give classes= (what the outputs stand for, in order)."
            )

    def _labels(
        self, y, source: ResolvedSource | None, rows: bool, marker
    ) -> np.ndarray:
        """All the labels the network's outputs stand for."""
        if self.classes is not None:
            classes = np.asarray(self.classes)
            if marked(classes, marker).any():
                raise ValueError(
                    f"classes contains {marker!r}, which marks unlabelled "
                    f"target rows (unlabelled={marker!r}). If it is a "
                    "class, pass unlabelled=None (every row labelled) or "
                    "another marker."
                )
            return classes
        labels = np.concatenate([y, source.y]) if rows else y
        known = None if source is None else source.classes
        if known is not None and np.isin(labels, known).all():
            # A fitted classifier as source: keep what its outputs stand for,
            # so a fold that misses some classes keeps the source's head.
            return known
        return labels

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``X`` against the labels ``y`` (greater is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.
        y : array-like of shape (n_samples,)
            True labels. Rows marked unlabelled (see ``unlabelled``; only
            after a fit with source data) are left out: the score is the
            accuracy on the labelled rows, so that a search over partly
            labelled target rows ranks its candidates on those. A
            ``ValueError`` when no row is labelled.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The fraction of correct predictions among the labelled rows.
        """
        check_is_fitted(self)
        X, y, sample_weight = labelled_rows(
            X, y, sample_weight, getattr(self, "_marker", None)
        )
        return super().score(X, y, sample_weight=sample_weight)

    def _net_extras(self, data) -> dict:
        return {"classes": np.arange(data.n_outputs)}

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

    def predict_log_proba(self, X):
        """Log of the class probabilities of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``; ``-inf`` where a probability is 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

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
