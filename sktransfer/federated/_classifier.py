"""Federated fine-tuning: clients keep their rows, a server averages the
trainable blocks (FedAvg), on Flower's simulation engine."""

from __future__ import annotations

import os
import tempfile
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array, check_random_state, column_or_1d
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._params import (
    InstanceOf,
    Interval,
    InvalidParameterError,
    check_params,
    resolve_device,
)
from ..classifier import TransferClassifier
from ..source import Source
from . import _flower as flower
from ._update import load, tensors

__all__ = ["FederatedTransferClassifier"]


class FederatedTransferClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a :class:`~sktransfer.TransferClassifier` over clients that
    keep their rows (federated averaging, on Flower).

    Every client starts from the same source and fine-tunes the trainable
    blocks of ``estimator`` on its own rows; a server averages what they send
    back, weighted by their numbers of rows (FedAvg, McMahan et al. 2017), and
    sends the average out for the next round. Only the trainable tensors
    travel: the parameters that ``freeze_depth`` leaves trainable and the
    buffers (batch-norm running statistics) of the blocks that are not
    frozen. Each client rebuilds the frozen blocks from the source, which it
    holds like the server does. The rounds run in Flower's simulation engine
    (Ray), one virtual client per distinct value of ``clients``; the rows of
    a client are only read by that client.

    Parameters
    ----------
    estimator : TransferClassifier
        How each client fine-tunes: its ``source``, ``freeze_depth``, ``lr``,
        ``batch_size``, ``optimizer`` and so on. Its ``max_epochs`` is not
        used (``local_epochs`` is). A source carrying data
        (:class:`~sktransfer.Source` with ``X``) and ``adaptation`` are not
        supported: the source rows would have to live on every client.
    n_rounds : int, default=5
        Number of rounds: server to clients, local training, back, average.
    local_epochs : int, default=1
        Passes of each client over its rows per round: ``n_rounds *
        local_epochs`` passes in all, as ``max_epochs`` on one machine. The
        optimizer's state (e.g. Adam's moments) starts afresh every round.
    fraction_fit : float, default=1.0
        Fraction of the clients drawn to train in each round (at least one).
    n_jobs : int, default=None
        Clients trained at once, one CPU each (Ray workers). ``None`` means 1
        and ``-1`` all CPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds the fresh layers, the clients drawn per round and every local
        fit; an int makes ``fit`` reproducible.
    verbose : int, default=0
        ``1`` prints one line per round; ``2`` also Flower's and Ray's logs.

    Attributes
    ----------
    estimator_ : TransferClassifier
        The source's network with the averaged trainable tensors: a fitted
        ``TransferClassifier`` that predicts on its own (its
        ``transfer_report_`` says what was transferred and frozen).
    classes_ : ndarray of shape (n_classes,)
        The class labels: ``estimator.classes``, else those of all clients.
    clients_ : ndarray of shape (n_clients,)
        The distinct values of ``clients``, in the order clients are numbered.
    n_clients_ : int
        Number of clients.
    history_ : list of dict
        One entry per round: ``round``, the ``clients`` that trained, their
        ``n_samples``, ``client_train_loss`` (mean loss of each client's last
        local epoch), ``train_loss`` (their mean weighted by rows),
        ``values_per_client`` (numbers sent to each client and back) and
        ``seconds``.
    sent_parameters_ : list of str
        Names of the tensors that went over the wire, in the network's order.
    n_features_in_ : int
        Number of features (channels for images) of ``X``.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string columns.

    See Also
    --------
    sktransfer.TransferClassifier : Fine-tuning on one machine (pooled rows).

    Notes
    -----
    Flower's telemetry and Ray's usage statistics are switched off
    (``FLWR_TELEMETRY_ENABLED=0``, ``RAY_USAGE_STATS_ENABLED=0``) unless
    these variables are set. Starting Ray takes a few seconds per ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import FederatedTransferClassifier, TransferClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(120, 6)).astype("float32")
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> source = TransferClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> clients = np.repeat(["hospital A", "hospital B"], 60)
    >>> fed = FederatedTransferClassifier(
    ...     TransferClassifier(source=source, freeze_depth=1, lr=1e-2),
    ...     n_rounds=2, random_state=0,
    ... )
    >>> fed.fit(X, y, clients=clients).score(X, y) > 0.8
    True
    >>> fed.sent_parameters_  # the hidden layer is frozen: only the head travels
    ['layers.3.weight', 'layers.3.bias']
    """

    _constraints = {
        "estimator": InstanceOf(TransferClassifier, "an sktransfer.TransferClassifier"),
        "n_rounds": Interval(Integral, 1),
        "local_epochs": Interval(Integral, 1),
        "fraction_fit": Interval(Real, 0, 1, open_low=True),
        "verbose": [Interval(Integral, 0), InstanceOf(bool, "a bool")],
    }

    def __init__(
        self,
        estimator,
        *,
        n_rounds=5,
        local_epochs=1,
        fraction_fit=1.0,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.local_epochs = local_epochs
        self.fraction_fit = fraction_fit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, C, H, W), like estimator
        return tags

    def fit(self, X, y, clients):
        """Fine-tune over the clients, ``n_rounds`` rounds of FedAvg.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            The rows of all clients.
        y : array-like of shape (n_samples,)
            Their labels.
        clients : array-like of shape (n_samples,)
            Which client holds each row (any hashable labels, like the
            ``groups`` of scikit-learn's splitters); at least two clients.
            ``cross_val_score(..., params={"clients": clients})`` splits it
            with the rows.

        Returns
        -------
        self : FederatedTransferClassifier
            The fitted estimator.
        """
        self._check_params()
        names, index = _check_clients(clients, _n_rows(X))
        flower.import_flower()
        rng = check_random_state(self.random_state)
        init_seed = int(rng.randint(2**31 - 1))
        start = self._start_model(X, y, init_seed)
        exchanged = _exchanged_names(start)
        self._say_plan(start, len(names), len(exchanged))
        X = check_array(X, allow_nd=True, dtype=np.float32)
        y = LabelEncoder().fit(start.classes_).transform(column_or_1d(y))
        plan = self._run_rounds(start, exchanged, init_seed, X, y, names, index, rng)
        # The fitted estimator reads like the one given (it trained 0 epochs
        # itself; the rounds trained it).
        start.set_params(**{
            k: getattr(self.estimator, k)
            for k in ("max_epochs", "random_state", "verbose")
        })  # fmt: skip
        self.estimator_ = start
        self.classes_ = start.classes_
        self.clients_ = names
        self.n_clients_ = len(names)
        self.history_ = plan.history
        self.sent_parameters_ = list(plan.exchanged)
        self.n_features_in_ = start.n_features_in_
        if hasattr(start, "feature_names_in_"):
            self.feature_names_in_ = start.feature_names_in_
        return self

    def _start_model(self, X, y, init_seed: int) -> TransferClassifier:
        """The start model, trained for 0 epochs: the source's weights copied
        in, fresh layers seeded, frozen blocks frozen; its fit also validates
        ``X`` and ``y`` and says which classes there are."""
        start = clone(self.estimator).set_params(
            max_epochs=0, random_state=init_seed, verbose=0
        )
        start.fit(X, y)
        return start

    def _say_plan(self, start: TransferClassifier, n_clients: int, n_sent: int) -> None:
        if self.verbose:
            frozen = sorted(set(start.transfer_report_.query("~trainable").layer))
            print(
                f"[FederatedTransferClassifier] {n_clients} clients, "
                f"{self.n_rounds} rounds; frozen blocks (never sent): "
                f"{frozen or 'none'}; {n_sent} tensors exchanged.",
                flush=True,
            )

    def _run_rounds(
        self,
        start: TransferClassifier,
        exchanged: list[str],
        init_seed: int,
        X: np.ndarray,
        y: np.ndarray,
        names: np.ndarray,
        index: np.ndarray,
        rng: np.random.RandomState,
    ) -> flower.Plan:
        """The ``n_rounds`` rounds of FedAvg in Flower's simulation, the
        clients reading their rows from a temporary folder; loads the
        averaged tensors into ``start.module_``. The plan, with its history."""
        with tempfile.TemporaryDirectory(prefix="sktransfer-fl-") as workdir:
            self._write_clients(workdir, start, init_seed, X, y, index)
            plan = flower.Plan(
                workdir=workdir,
                names=[str(n) for n in names],
                n_rounds=self.n_rounds,
                fraction_fit=self.fraction_fit,
                initial=tensors(start.module_, exchanged),
                rng=rng,
                n_workers=self._n_workers(len(names)),
                num_gpus=self._gpu_share(len(names)),
                verbose=int(self.verbose),
            )
            final = flower.run(plan)
        load(start.module_, final)
        return plan

    def _check_params(self) -> None:
        check_params(self, self._constraints)
        n_jobs = self.n_jobs
        if n_jobs is not None and (not Interval(Integral, -1)(n_jobs) or n_jobs == 0):
            raise InvalidParameterError(
                f"n_jobs must be None, -1 or an int >= 1; got {n_jobs!r}."
            )
        source = self.estimator.source
        if isinstance(source, Source) and source.X is not None:
            raise ValueError(
                "estimator.source carries source data (Source with X): "
                "federated fine-tuning trains on the clients' rows only. Give "
                "its weights alone as source (source=the_source.weights)."
            )
        if self.estimator.adaptation is not None:
            raise ValueError(
                "estimator.adaptation is not supported in federated "
                "fine-tuning (it needs source data on every client)."
            )

    def _n_workers(self, n_clients: int) -> int:
        wanted = 1 if self.n_jobs is None else self.n_jobs
        if wanted == -1:
            wanted = os.cpu_count() or 1
        return max(1, min(wanted, n_clients))

    def _gpu_share(self, n_clients: int) -> float:
        # Ray hides the GPUs from a worker that reserves none.
        device = resolve_device(self.estimator.device)
        return 0.0 if device == "cpu" else 1.0 / self._n_workers(n_clients)

    def _write_clients(
        self,
        workdir: str,
        start: TransferClassifier,
        init_seed: int,
        X: np.ndarray,
        y: np.ndarray,
        index: np.ndarray,
    ) -> None:
        """What the clients read: each its rows, all the same template."""
        template = clone(self.estimator).set_params(
            classes=np.arange(len(start.classes_)),  # y is encoded
            max_epochs=self.local_epochs,
            verbose=0,
            **_transferred_lr_groups(self.estimator, start.transfer_report_),
        )
        # Its class and parameters, not the object: a worker builds it anew.
        spec = {
            "class": type(template),
            "params": template.get_params(deep=False),
            "init_seed": init_seed,
        }
        flower.dump(spec, os.path.join(workdir, "template.pkl"))
        for k in range(index.max() + 1):
            rows = index == k
            np.savez(os.path.join(workdir, f"client_{k}.npz"), X=X[rows], y=y[rows])

    # -- predict ------------------------------------------------------------

    def predict(self, X):
        """Predicted class labels (see :meth:`TransferClassifier.predict`)."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``X`` against ``y`` (greater is better)."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight=sample_weight)


# -- helpers (the server's and the clients') --------------------------------


def _check_clients(clients, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct clients and each row's client number, or a clear error."""
    if clients is None:
        raise ValueError(
            "fit needs clients=, which client holds each row (an array of "
            "length n_samples)."
        )
    unused = []
    categories = getattr(getattr(clients, "cat", clients), "categories", None)
    if categories is not None:  # a pandas Categorical may declare empty clients
        unused = [c for c in categories if not np.any(np.asarray(clients) == c)]
    values = column_or_1d(np.asarray(clients, dtype=object), warn=False)
    if len(values) != n_samples:
        raise ValueError(
            f"clients has {len(values)} values but X has {n_samples} rows: "
            "give the client of every row."
        )
    missing = [v is None or (isinstance(v, Real) and v != v) for v in values]
    if any(missing):
        raise ValueError(
            f"clients has {sum(missing)} missing values (None or NaN): every "
            "row must belong to a client."
        )
    if unused:
        raise ValueError(
            f"clients declares client(s) {unused[:5]} that hold no rows: a "
            "client needs at least one row."
        )
    try:
        names, index = np.unique(values, return_inverse=True)
    except TypeError as exc:  # e.g. ints mixed with strings
        raise ValueError(
            f"clients must hold comparable labels (all str or all numbers): {exc}"
        ) from exc
    if len(names) < 2:
        raise ValueError(
            f"clients names a single client ({names[0]!r}): federated learning "
            "needs at least 2 clients; fit the estimator itself on one."
        )
    if not all(isinstance(n, str) for n in names):
        names = np.asarray(names.tolist())  # back to a numeric dtype
    return names, index.ravel()


def _exchanged_names(fitted: TransferClassifier) -> list[str]:
    """The tensors that travel: trainable parameters, and the buffers of the
    layers that are not frozen (a frozen block's batch norm keeps its running
    statistics), in the network's order."""
    module: nn.Module = fitted.module_
    frozen = set(getattr(fitted.net_, "frozen_norms", ()))
    frozen |= {
        name.rpartition(".")[0]
        for name, p in module.named_parameters()
        if not p.requires_grad
    }
    trainable = {n for n, p in module.named_parameters() if p.requires_grad}
    buffers = {
        n for n, _ in module.named_buffers() if n.rpartition(".")[0] not in frozen
    }
    return [n for n in module.state_dict() if n in trainable | buffers]


def _transferred_lr_groups(estimator: TransferClassifier, report) -> dict:
    """``transferred_lr`` as explicit parameter groups: the clients start from
    the averaged network, where every tensor would count as transferred."""
    if estimator.transferred_lr is None:
        return {}
    names = report.loc[(report["status"] == "transferred") & report["trainable"]]
    groups = list(getattr(estimator, "optimizer__param_groups", []))
    groups += [(n, {"lr": estimator.transferred_lr}) for n in names["parameter"]]
    return {"transferred_lr": None, "optimizer__param_groups": groups}


def _n_rows(X) -> int:
    """Number of rows of an array-like (scikit-learn's helper is private)."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(X)
