"""TransferRegressor: a skorch-trained regression network that starts from a source."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base.validation import validate_fit_input, validate_samples
from ._supervised import NetworkEstimator
from .adaptation.objective import LossNeeds
from .source import ResolvedSource


class TransferRegressor(RegressorMixin, NetworkEstimator):
    """Neural network regressor that transfers knowledge from a source network.

    The regression counterpart of :class:`~sktransfer.TransferClassifier`,
    with the same parameters (but ``classes``) and the same contract:
    ``fit(X, y)`` is about the target task, ``source`` comes in through the
    constructor and survives ``clone``. The network's output layer has one
    unit per target column; when the source's is not that wide (a classifier
    as source, say), its last ``nn.Linear`` is replaced by a fresh one and the
    rest is transferred. The loss is the mean squared error.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The target network. A class is instantiated with the ``module__*``
        parameters; its ``n_features`` / ``n_outputs`` / ``n_classes`` (the
        output width) / ``in_channels`` arguments, when it has them and they
        are not given, are inferred from the data. ``None`` uses the source's
        architecture when the source has one (its last ``nn.Linear`` resized
        to the number of targets), else a :class:`~sktransfer.models.MLP`.
    source : object, default=None
        ``None`` (train from scratch), a fitted estimator or skorch net, a
        ``torch.nn.Module``, a state dict, its path, or a
        :class:`~sktransfer.Source`, which may also carry labelled source rows
        (then ``fit`` trains on both domains, see ``target_weight``).
    transfer : {"weights", "structure"}, default="weights"
        Copy the source tensors that fit, or reuse only the architecture.
    freeze_depth : int, str or list of str, default=0
        What stays fixed at the source's weights (see
        :class:`~sktransfer.TransferClassifier`).
    cache_frozen : {"auto", False}, default="auto"
        Compute the frozen blocks once per ``fit`` where that is exact (see
        :mod:`sktransfer.prefix`); a folder also shares them on disk between
        processes (as for :class:`~sktransfer.TransferClassifier`).
    memory_format : {"auto", "contiguous", "channels_last"}, default="auto"
        Memory layout of a convolutional network while it trains.
    target_weight : float, default=1.0
        λ in ``L = L_source + λ·L_target + μ·L_adapt`` when the source carries
        data; every target row is labelled. Without source data it is ignored
        (with a warning unless it is 1.0).
    adaptation : AdaptationLoss, default=None
        A domain adaptation loss between source and target features (needs
        source data); its hyperparameters are ``adaptation__*`` parameters.
        The losses that read the outputs as class probabilities (CDAN,
        InformationMaximization, MCC, MeanTeacher, SHOT) are refused.
    adaptation_weight : float or "auto", default="auto"
        μ, the weight of the adaptation loss. ``"auto"``: the loss's
        ``default_weight`` (1 for most losses; 0.3 for
        :class:`~sktransfer.adaptation.DANN`; how they were chosen:
        :doc:`/benchmarks`).
        A number without an ``adaptation`` loss is ignored, with a warning.
    regularization : Regularization, default=None
        A penalty added to the training loss, e.g.
        :class:`~sktransfer.regularization.L2SP` (see
        :class:`~sktransfer.TransferClassifier`); its hyperparameters are
        ``regularization__*`` parameters.
    criterion : torch loss class, default=torch.nn.MSELoss
        Loss between the network's outputs and ``y``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer; its options are ``optimizer__*`` parameters.
    lr : float, default=1e-3
        Learning rate.
    transferred_lr : float, default=None
        Learning rate of the transferred parameters that are trained.
    augment : callable, default=None
        Applied to every training batch before the forward pass.
    max_epochs : int, default=20
        Passes over the target data; ``0`` trains nothing.
    batch_size : int, default=64
        Mini-batch size.
    train_split : callable, default=None
        skorch's validation split; ``None`` trains on all of ``X``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks.
    device : str, default="cpu"
        Torch device to train on; ``"auto"`` takes CUDA when available. A
        device this machine lacks is refused in ``fit``. On CUDA, batches
        are copied from pinned memory with ``non_blocking=True``.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The dtype forward passes compute in, under :func:`torch.autocast`;
        losses stay float32 and ``"float16"`` scales them (see
        :class:`~sktransfer.TransferClassifier`). ``"float16"`` needs a GPU.
    net_mixins : class or tuple of classes, default=None
        Classes placed before sktransfer's own skorch net class, e.g.
        ``skorch.hf.AccelerateMixin``; their arguments are ``net__*``
        parameters (see :class:`~sktransfer.TransferClassifier`).
    random_state : int, RandomState instance or None, default=None
        Seeds fresh layers, shuffling and dropout; the global torch RNG is
        left as it was.
    verbose : "auto", int or bool, default="auto"
        ``"auto"``: progress lines once a fit has trained for about 5 seconds,
        none for a quicker fit; ``0`` prints nothing; ``1`` prints the
        transfer summary and skorch's table of epochs (see
        :class:`~sktransfer.TransferClassifier`).
    **kwargs
        skorch parameters with the prefixes ``module__``, ``optimizer__``,
        ``criterion__``, ``callbacks__``, ``iterator_train__``,
        ``iterator_valid__``, ``dataset__`` and ``net__`` (arguments of
        the skorch net's constructor, for ``net_mixins``).

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The trained skorch net.
    module_ : torch.nn.Module
        The trained target network.
    history_ : skorch.History
        The training history.
    n_outputs_ : int
        Number of target columns (1 for a 1-D ``y``).
    n_features_in_ : int
        ``X.shape[1]``.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string columns.
    input_shape_ : tuple of int
        The shape of one sample, ``X.shape[1:]``.
    blocks_ : list of str
        The network's blocks in forward order.
    memory_format_ : str
        The layout the network trained in.
    training_strategy_ : str
        ``"fine_tune"``, ``"frozen_prefix"`` or ``"across_domains"``.
    cached_prefix_ : str or None
        The first trainable layer when the frozen prefix was computed once.
    transfer_report_ : pandas.DataFrame
        One row per parameter: what was transferred and what is trainable.

    See Also
    --------
    sktransfer.TransferClassifier : The same for class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import TransferRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = X @ [1.0, -2.0, 0.5, 0.0]
    >>> source = TransferRegressor(max_epochs=30, random_state=0).fit(X, y)
    >>> reg = TransferRegressor(source=source, max_epochs=10, random_state=0)
    >>> reg.fit(X[:40], y[:40] + 0.5).score(X, y + 0.5) > 0.9
    True
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _task = "regressor"
    _outputs_name = "outputs"

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
        criterion=nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        transferred_lr=None,
        augment=None,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Fit the target network, starting from the source.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Target inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values; finite.

        Returns
        -------
        self : TransferRegressor
            The fitted estimator.
        """
        return super().fit(X, y)

    def _check_params(self) -> None:
        super()._check_params()
        loss = self.adaptation
        if LossNeeds.of(loss).class_probabilities:
            raise ValueError(
                f"adaptation={type(loss).__name__}() reads the network's outputs "
                "as class probabilities (a softmax over them), which a "
                "regressor's outputs are not: with one output its loss is "
                "always 0. Use a loss between source and target features "
                "(DANN, DeepCORAL, MMD), or TransferClassifier for classes."
            )

    def _validate_fit_data(self, X, y, source: ResolvedSource | None, across: bool):
        X, y, found = validate_fit_input(
            self,
            X,
            y,
            allow_nd=True,
            dtype=np.float32,
            ensure_all_finite=True,
            multi_output=True,
            y_numeric=True,
        )
        if not X.flags.writeable:  # torch warns on read-only buffers
            X = X.copy()
        if np.asarray(y).dtype.kind not in "biuf":
            raise ValueError(
                f"y must hold numbers for {type(self).__name__}; got dtype "
                f"{np.asarray(y).dtype}. Class labels go with TransferClassifier."
            )
        y_ndim = y.ndim
        y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        n_outputs = y.shape[1]
        y_source = None
        if across:
            self._check_source_rows(source, X)
            y_source = check_array(
                source.y, ensure_2d=False, dtype=np.float32, input_name="Source.y"
            ).reshape(len(source.y), -1)
            if y_source.shape[1] != n_outputs:
                raise ValueError(
                    f"Source.y has {y_source.shape[1]} outputs but y has {n_outputs}."
                )
        return self._fit_data(
            X, y, np.ones(len(y), dtype=bool), n_outputs, source=source,
            across=across, y_source=y_source, **found, _y_ndim=y_ndim,
            n_outputs_=n_outputs, input_shape_=tuple(X.shape[1:]),
        )  # fmt: skip

    def predict(self, X):
        """Predicted targets of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float predictions, 1-D when ``y`` was 1-D in ``fit``.
        """
        X = validate_samples(self, X)
        y = self.net_.predict(X).astype(np.float64)
        return y.ravel() if self._y_ndim == 1 else y

    def score(self, X, y, sample_weight=None):
        """R² of the predictions for ``X`` against ``y`` (greater is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets, with the ``n_outputs_`` columns seen in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            :func:`sklearn.metrics.r2_score` (uniform average over outputs).
        """
        check_is_fitted(self)
        y = np.asarray(y)
        width = 1 if y.ndim == 1 else (y.shape[1] if y.ndim == 2 else -1)
        if width != self.n_outputs_:
            raise ValueError(
                f"y has shape {y.shape}, but {type(self).__name__} was fitted on "
                f"{self.n_outputs_} output(s): expected (n_samples,"
                f"{' ' + str(self.n_outputs_) if self._y_ndim == 2 else ''})."
            )
        return super().score(X, y, sample_weight=sample_weight)
