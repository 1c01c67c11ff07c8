"""The federation behind :class:`~sktransfer.FederatedTransferClassifier`:
Flower's two apps and the simulation that runs them (a client's update and
FedAvg itself are in :mod:`sktransfer.federated._update`).

Everything that imports ``flwr`` (and ``ray``, its simulation engine) is
here, imported when a fit starts, so that ``sktransfer`` works without the
``federated`` extra. :mod:`sktransfer.federated._classifier` holds the
estimator: it checks the input, builds the start model and says which tensors
travel.

The messages: one ``query`` per client at the start (which client is this
node?), then per round one ``train`` message to each sampled client carrying
the trainable tensors and a seed, and one reply carrying the client's
trainable tensors, its number of rows and its training loss.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ._update import client_update, federated_average

INSTALL_HINT = (
    "FederatedTransferClassifier runs Flower's simulation engine, which is not "
    'installed: pip install "sktransfer[federated]" (it installs '
    '"flwr[simulation]").'
)
# ErrorCode.CLIENT_APP_RAISED_EXCEPTION, public in the protocol but not in the API.
_CLIENT_RAISED = 2
_NODE_TIMEOUT_S = 120.0  # how long the server waits for the virtual clients


def import_flower() -> None:
    """Import Flower and Ray, or raise an ImportError that says what to install.

    Flower's telemetry and Ray's usage statistics are switched off unless the
    user set them: a fit on private rows should not report home.
    """
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import flwr.simulation  # noqa: F401
        import ray  # noqa: F401
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc


def dump(obj: object, path: str) -> None:
    """Pickle ``obj`` with cloudpickle (Ray's), which also takes lambdas (an
    ``augment`` written inline); the workers read it with plain pickle."""
    from ray import cloudpickle

    with open(path, "wb") as f:
        cloudpickle.dump(obj, f)


@dataclass
class Plan:
    """What the server runs: clients, rounds, sampling and seeds, resources."""

    workdir: str
    names: list[str]  # client names, for messages
    n_rounds: int
    fraction_fit: float
    initial: dict[str, np.ndarray]  # the trainable tensors of the start model
    rng: np.random.RandomState  # draws the clients of a round and their seeds
    n_workers: int
    num_gpus: float
    verbose: int
    history: list[dict] = field(default_factory=list)
    exchanged: dict[str, None] = field(default_factory=dict)  # names, ordered
    # Set when the fit ends for any reason: the server thread stops waiting.
    stop: threading.Event = field(default_factory=threading.Event)

    def draw_round(self) -> list[tuple[int, int]]:
        """``(client, seed)`` for the clients that train this round."""
        n = len(self.names)
        k = max(1, int(self.fraction_fit * n + 1e-9))
        chosen = np.arange(n) if k == n else np.sort(self.rng.choice(n, k, False))
        return [(int(c), int(self.rng.randint(2**31 - 1))) for c in chosen]


def run(plan: Plan) -> dict[str, np.ndarray]:
    """Run the federation in Flower's simulation engine; the final tensors.

    ``plan.history`` and ``plan.exchanged`` are filled as the rounds go.
    """
    from flwr.simulation import run_simulation

    box: dict[str, object] = {}
    server = _server_app(plan, box)
    client = _client_app(plan.workdir)
    backend = {
        "client_resources": {"num_cpus": 1, "num_gpus": plan.num_gpus},
        "init_args": {
            "num_cpus": plan.n_workers,
            "logging_level": "INFO" if plan.verbose >= 2 else "ERROR",
            "log_to_driver": plan.verbose >= 2,
        },
    }
    try:
        with _quiet(plan.verbose):
            run_simulation(
                server_app=server,
                client_app=client,
                num_supernodes=len(plan.names),
                backend_config=backend,
            )
    finally:
        # On Ctrl-C (or any error) Flower returns while its server thread
        # still waits for replies, which keeps the process from exiting and
        # the next fit from starting clean: stop it, then Ray.
        _shut_down(plan, box)
    if "arrays" not in box:
        raise RuntimeError("The federated run ended without a final model.")
    return box["arrays"]


def _shut_down(plan: Plan, box: dict, timeout: float = 30.0) -> None:
    """Stop the server thread (it polls ``plan.stop``) and wait for it; shut
    Ray down if Flower's backend left it running."""
    plan.stop.set()
    thread = box.get("thread")
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
    import ray

    if ray.is_initialized():
        ray.shutdown()


class _Stopped(Exception):
    """The fit ended while the server waited for its clients."""


def _stoppable(grid, stop: threading.Event):
    """``grid`` whose waits end (with :class:`_Stopped`) once ``stop`` is set:
    Flower's in-memory grid waits for replies without a deadline."""
    from flwr.serverapp import Grid

    class StoppableGrid(Grid):
        def set_run(self, run):
            grid.set_run(run)

        @property
        def run(self):
            return grid.run

        def create_message(self, *args, **kwargs):
            return grid.create_message(*args, **kwargs)

        def get_node_ids(self):
            if stop.is_set():
                raise _Stopped
            return grid.get_node_ids()

        def get_nodes(self):
            return grid.get_nodes()

        def push_messages(self, messages):
            return grid.push_messages(messages)

        def pull_messages(self, message_ids):
            return grid.pull_messages(message_ids)

        def send_and_receive(self, messages, *, timeout=None):
            waiting = set(grid.push_messages(messages))
            deadline = None if timeout is None else time.monotonic() + timeout
            replies: list = []
            while waiting and (deadline is None or time.monotonic() < deadline):
                if stop.is_set():
                    raise _Stopped
                got = list(grid.pull_messages(waiting))
                replies += got
                waiting -= {m.metadata.reply_to_message_id for m in got}
                if waiting:
                    time.sleep(0.05)
            return replies

    return StoppableGrid()


@contextlib.contextmanager
def _quiet(verbose: int) -> Iterator[None]:
    """Flower's round logs only from ``verbose=2``; the environment as it was.

    Flower's Ray backend sets ``PYTHONPATH`` for its workers in this process's
    environment, and Ray warns about a future change of its GPU handling:
    neither concerns the user of an estimator.
    """
    logger = logging.getLogger("flwr")
    level, pythonpath = logger.level, os.environ.get("PYTHONPATH")
    logger.setLevel(logging.INFO if verbose >= 2 else logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*future versions of Ray", category=FutureWarning
            )
            yield
    finally:
        logger.setLevel(level)
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath


# -- the ClientApp -----------------------------------------------------------


def _client_app(workdir: str):
    """The ClientApp: each virtual node reads only its own rows from
    ``workdir`` (``client_<partition-id>.npz``)."""
    from flwr.app import Error, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.query()
    def query(message, context):
        client = int(context.node_config["partition-id"])
        content = RecordDict({"metrics": MetricRecord({"client": client})})
        return Message(content, reply_to=message)

    @app.train()
    def train(message, context):
        # A failure goes back as an error reply, so the server can say which
        # client failed and why (instead of a Ray traceback in the logs).
        client = int(context.node_config["partition-id"])
        try:
            return _train_reply(workdir, client, message)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            return Message(Error(_CLIENT_RAISED, reason), reply_to=message)

    return app


def _train_reply(workdir: str, client: int, message):
    from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict

    received = {k: v.numpy() for k, v in message.content["arrays"].items()}
    seed = int(message.content["config"]["seed"])
    arrays, loss, n_rows = client_update(workdir, client, received, seed)
    content = RecordDict(
        {
            "arrays": ArrayRecord(
                {k: Array(np.asarray(v, order="C")) for k, v in arrays.items()}
            ),
            "metrics": MetricRecord(
                {"num-examples": n_rows, "train-loss": loss, "client": client}
            ),
        }
    )
    return Message(content, reply_to=message)


# -- the ServerApp -----------------------------------------------------------


def _server_app(plan: Plan, box: dict):
    from flwr.serverapp import ServerApp

    app = ServerApp()

    @app.main()
    def main(grid, context):
        box["thread"] = threading.current_thread()  # joined by _shut_down
        grid = _stoppable(grid, plan.stop)
        try:
            _serve(grid, plan, box)
        except _Stopped:
            return  # the fit was interrupted: nothing to report

    return app


def _serve(grid, plan: Plan, box: dict) -> None:
    """Ask which client each node is, then run FedAvg; the final tensors go
    into ``box["arrays"]``."""
    from flwr.app import Message, MessageType, RecordDict

    # Node ids are random: ask each node which client it is, so that
    # sampling and seeds follow the clients, not the ids.
    nodes = _wait_for_nodes(grid, len(plan.names))
    replies = list(
        grid.send_and_receive(
            [Message(RecordDict(), dst_node_id=n, message_type=MessageType.QUERY)
             for n in nodes]
        )
    )  # fmt: skip
    _raise_errors(replies, "at the start")
    node_of = {
        int(r.content["metrics"]["client"]): r.metadata.src_node_id for r in replies
    }
    strategy = _strategy(plan, node_of)
    result = strategy.start(
        grid=grid,
        initial_arrays=_record(plan.initial),
        num_rounds=plan.n_rounds,
    )
    box["arrays"] = {k: v.numpy() for k, v in result.arrays.items()}


def _wait_for_nodes(grid, n: int) -> list[int]:
    deadline = time.monotonic() + _NODE_TIMEOUT_S
    while len(nodes := sorted(grid.get_node_ids())) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Only {len(nodes)} of {n} simulated clients started within "
                f"{_NODE_TIMEOUT_S:.0f} s."
            )
        time.sleep(0.02)
    return nodes


def _raise_errors(replies: list, when: str) -> None:
    failed = [r for r in replies if r.has_error()]
    if failed:
        raise RuntimeError(
            f"{len(failed)} client(s) failed {when}; the first: "
            f"{failed[0].error.reason}"
        )


def _record(arrays: dict[str, np.ndarray]):
    from flwr.app import Array, ArrayRecord

    return ArrayRecord({k: Array(np.asarray(v, order="C")) for k, v in arrays.items()})


def _strategy(plan: Plan, node_of: dict[int, int]):
    """Flower's FedAvg with sampling and seeds drawn from ``plan.rng``, a
    weighted mean computed in float64 in client order (reproducible, and
    integer buffers stay integers), and every round recorded in
    ``plan.history``."""
    from flwr.app import ConfigRecord, Message, MessageType, MetricRecord, RecordDict
    from flwr.serverapp.strategy import FedAvg

    class SeededFedAvg(FedAvg):
        def configure_train(self, server_round, arrays, config, grid):
            self._round = (plan.draw_round(), set(arrays.keys()), time.perf_counter())
            plan.exchanged.update(dict.fromkeys(arrays.keys()))
            return [
                Message(
                    RecordDict(
                        {"arrays": arrays,
                         "config": ConfigRecord({"server-round": server_round,
                                                 "seed": seed})}
                    ),
                    dst_node_id=node_of[client],
                    message_type=MessageType.TRAIN,
                )
                for client, seed in self._round[0]
            ]  # fmt: skip

        def configure_evaluate(self, server_round, arrays, config, grid):
            return []  # no federated evaluation: score the estimator instead

        def aggregate_train(self, server_round, replies):
            chosen, sent, started = self._round
            replies = list(replies)
            _raise_errors(replies, f"in round {server_round}")
            if len(replies) != len(chosen):
                raise RuntimeError(
                    f"Round {server_round}: {len(replies)} of {len(chosen)} "
                    "clients replied."
                )
            replies.sort(key=lambda r: int(r.content["metrics"]["client"]))
            updates, clients, rows, losses = [], [], [], []
            for reply in replies:
                arrays = reply.content["arrays"]
                if set(arrays.keys()) != sent:
                    raise RuntimeError("A client sent back other tensors than it got.")
                plan.exchanged.update(dict.fromkeys(arrays.keys()))
                metrics = reply.content["metrics"]
                updates.append(({k: v.numpy() for k, v in arrays.items()},
                                metrics["num-examples"]))  # fmt: skip
                clients.append(plan.names[int(metrics["client"])])
                rows.append(int(metrics["num-examples"]))
                losses.append(float(metrics["train-loss"]))
            mean = federated_average(updates)
            loss = float(np.average(losses, weights=rows))
            n_values = int(sum(v.size for v in mean.values()))
            entry = {
                "round": server_round,
                "clients": clients,
                "n_samples": rows,
                "train_loss": loss,
                "client_train_loss": losses,
                "values_per_client": n_values,
                "seconds": time.perf_counter() - started,
            }
            plan.history.append(entry)
            if plan.verbose:
                print(
                    f"[FederatedTransferClassifier] round {server_round}/"
                    f"{plan.n_rounds}: {len(clients)} client(s), train loss "
                    f"{loss:.4f}, {n_values} values each way per client, "
                    f"{entry['seconds']:.1f} s",
                    flush=True,
                )
            return _record(mean), MetricRecord({"train-loss": loss})

    return SeededFedAvg(fraction_train=plan.fraction_fit)
