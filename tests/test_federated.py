"""FederatedTransferClassifier: FedAvg on Flower's simulation engine.

One federated fit (two clients, three rounds) is shared by most tests: every
fit starts Ray, which takes seconds. The input checks fail before that.
"""

import importlib.util
import os
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from torch import nn

from sktransfer import FederatedTransferClassifier, Source, TransferClassifier
from sktransfer.federated._classifier import _check_clients
from sktransfer.federated._flower import Plan
from sktransfer.federated._update import federated_average

# The tests that run a federation need the extra; the input checks do not.
needs_flower = pytest.mark.skipif(
    importlib.util.find_spec("flwr") is None, reason='needs "sktransfer[federated]"'
)


def batch_norm_net(n_features=50, n_classes=5):
    """Two blocks with batch norm, then a head: blocks ``0`` (+``1``),
    ``3`` (+``4``) and ``6``."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(n_features, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Linear(32, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Linear(32, n_classes),
    )


# Block 0 and its batch norm are frozen: none of these may travel.
FROZEN = {
    "0.weight", "0.bias", "1.weight", "1.bias",
    "1.running_mean", "1.running_var", "1.num_batches_tracked",
}  # fmt: skip
EXCHANGED = {
    "3.weight", "3.bias", "4.weight", "4.bias",
    "4.running_mean", "4.running_var", "4.num_batches_tracked",
    "6.weight", "6.bias",
}  # fmt: skip


@pytest.fixture(scope="module")
def source(domains):
    Xs, ys, _, _ = domains
    return TransferClassifier(
        batch_norm_net(), max_epochs=10, lr=1e-2, random_state=0
    ).fit(Xs.astype(np.float32), ys)


@pytest.fixture(scope="module")
def target(domains):
    """The target rows: 240 for two clients (uneven), 160 held out."""
    _, _, Xt, yt = domains
    Xt = Xt.astype(np.float32)
    clients = np.where(np.arange(240) < 100, "north", "south")
    return Xt[:240], yt[:240], clients, Xt[240:], yt[240:]


def federated(source, **kw):
    return FederatedTransferClassifier(
        TransferClassifier(source=source, freeze_depth=1, lr=1e-2, batch_size=32),
        n_rounds=3,
        local_epochs=2,
        random_state=0,
        **kw,
    )


@pytest.fixture(scope="module")
def fitted(source, target):
    X, y, clients, _, _ = target
    return federated(source).fit(X, y, clients=clients)


@needs_flower
def test_two_clients_learn(fitted, source, target):
    _, _, _, X_test, y_test = target
    assert fitted.n_clients_ == 2
    assert list(fitted.clients_) == ["north", "south"]
    assert [h["round"] for h in fitted.history_] == [1, 2, 3]
    assert all(h["n_samples"] == [100, 140] for h in fitted.history_)
    losses = [h["train_loss"] for h in fitted.history_]
    assert losses[-1] < losses[0]
    # Fine-tuning over the clients beats the source on the shifted target
    # (0.77 -> 0.82 on these 160 rows).
    assert fitted.score(X_test, y_test) > source.score(X_test, y_test) + 0.03
    np.testing.assert_array_equal(fitted.classes_, np.arange(5))
    proba = fitted.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(
        fitted.predict(X_test), fitted.classes_[proba.argmax(axis=1)]
    )


@needs_flower
def test_frozen_blocks_are_never_sent_and_stay_the_sources(fitted, source):
    assert set(fitted.sent_parameters_) == EXCHANGED
    assert not FROZEN & set(fitted.sent_parameters_)
    values = sum(
        t.numel() for n, t in source.module_.state_dict().items() if n in EXCHANGED
    )
    assert all(h["values_per_client"] == values for h in fitted.history_)
    after = fitted.estimator_.module_.state_dict()
    before = source.module_.state_dict()
    for name in FROZEN:  # weights and batch-norm statistics alike
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=0)
    assert not torch.equal(after["3.weight"], before["3.weight"])
    assert not torch.equal(after["4.running_mean"], before["4.running_mean"])
    report = fitted.estimator_.transfer_report_
    assert set(report.loc[~report.trainable, "parameter"]) == FROZEN & {
        n for n, _ in source.module_.named_parameters()
    }


@needs_flower
def test_the_aggregated_estimator_predicts_alone(fitted, target):
    _, _, _, X_test, _ = target
    alone = fitted.estimator_
    assert isinstance(alone, TransferClassifier)
    np.testing.assert_array_equal(alone.predict(X_test), fitted.predict(X_test))
    # It reads like the estimator given, not like the 0-epoch start.
    assert alone.get_params()["max_epochs"] == fitted.estimator.max_epochs


@needs_flower
def test_same_random_state_same_model(fitted, source, target, capsys):
    X, y, clients, X_test, _ = target
    pythonpath = os.environ.get("PYTHONPATH")
    again = federated(source, verbose=1).fit(X, y, clients=clients)
    assert os.environ.get("PYTHONPATH") == pythonpath  # Flower's change undone
    np.testing.assert_array_equal(
        again.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    assert again.history_[-1]["train_loss"] == fitted.history_[-1]["train_loss"]
    out = capsys.readouterr().out
    assert "frozen blocks (never sent): ['0']" in out
    assert "round 3/3: 2 client(s), train loss" in out


def test_clients_drawn_per_round_follow_the_seed():
    def draws(fraction, seed):
        plan = Plan(
            workdir="", names=list("abcde"), n_rounds=3, fraction_fit=fraction,
            initial={}, rng=np.random.RandomState(seed), n_workers=1,
            num_gpus=0.0, verbose=0,
        )  # fmt: skip
        return [plan.draw_round() for _ in range(3)]

    assert draws(0.4, 0) == draws(0.4, 0) != draws(0.4, 1)
    assert all(len(r) == 2 for r in draws(0.4, 0))  # int(0.4 * 5) clients
    assert all(len(r) == 1 for r in draws(0.1, 0))  # at least one
    assert [c for c, _ in draws(1.0, 0)[0]] == [0, 1, 2, 3, 4]


def test_params_round_trip(source):
    est = federated(source, n_jobs=2)
    params = est.get_params()
    assert params["estimator__freeze_depth"] == 1 and params["n_jobs"] == 2
    copy = clone(est)
    assert copy.get_params(deep=False).keys() == params.keys() - {
        k for k in params if k.startswith("estimator__")
    }
    assert copy.estimator is not est.estimator
    assert copy.estimator.source is source  # shared by reference, like the estimator
    copy.set_params(n_rounds=7, estimator__lr=0.5)
    assert (copy.n_rounds, copy.estimator.lr, est.estimator.lr) == (7, 0.5, 1e-2)
    name = type(est).__name__
    check_get_params_invariance(name, est)
    check_set_params(name, est)
    check_no_attributes_set_in_init(name, est)


def test_fedavg_is_a_row_weighted_mean():
    a = {"w": np.array([1.0, 3.0], np.float32), "n": np.array(2, np.int64)}
    b = {"w": np.array([3.0, 7.0], np.float32), "n": np.array(5, np.int64)}
    mean = federated_average([(a, 1), (b, 3)])
    np.testing.assert_allclose(mean["w"], [2.5, 6.0])
    assert mean["w"].dtype == np.float32
    assert mean["n"].dtype == np.int64 and mean["n"] == 4  # 4.25, rounded


def test_clients_may_be_any_labels():
    names, index = _check_clients([3, 1, 3, 1], 4)
    np.testing.assert_array_equal(names, [1, 3])
    np.testing.assert_array_equal(index, [1, 0, 1, 0])
    names, index = _check_clients(pd.Series(["b", "a", "a"]), 3)
    assert list(names) == ["a", "b"] and list(index) == [1, 0, 0]  # one row is enough


@pytest.mark.parametrize(
    "clients, message",
    [
        (None, "fit needs clients="),
        (["a"] * 240, "single client"),
        (["a", "b"] * 100, "200 values but X has 240 rows"),
        (["a", None] * 120, "missing values"),
        (["a", 1] * 120, "comparable labels"),
        (
            pd.Categorical(["a", "b"] * 120, categories=["a", "b", "c"]),
            r"client\(s\) \['c'\] that hold no rows",
        ),
    ],
    ids=["none", "single", "length", "missing", "mixed", "empty-category"],
)  # fmt: skip
def test_bad_clients_are_refused_before_anything_runs(source, target, clients, message):
    X, y, _, _, _ = target
    est = federated(source)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y, clients=clients)
    assert not hasattr(est, "estimator_")


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(estimator=nn.Linear(2, 2)), TypeError, "TransferClassifier"),
        (dict(n_rounds=0), ValueError, "n_rounds"),
        (dict(local_epochs=1.5), ValueError, "local_epochs"),
        (dict(fraction_fit=0.0), ValueError, "fraction_fit"),
        (dict(n_jobs=0), ValueError, "n_jobs"),
    ],
)
def test_bad_params_are_refused(source, target, params, error, message):
    X, y, clients, _, _ = target
    with pytest.raises(error, match=message):
        federated(source).set_params(**params).fit(X, y, clients=clients)


def test_source_data_and_adaptation_are_refused(source, target):
    from sktransfer.adaptation import DANN

    X, y, clients, _, _ = target
    with_data = Source(weights=source, X=X, y=y)
    for est in (
        TransferClassifier(source=with_data),
        TransferClassifier(source=with_data, adaptation=DANN()),
    ):
        fed = FederatedTransferClassifier(est)
        with pytest.raises(ValueError, match="source data|adaptation"):
            fed.fit(X, y, clients=clients)


def test_missing_flower_says_what_to_install(source, target, monkeypatch):
    X, y, clients, _, _ = target
    monkeypatch.setitem(sys.modules, "flwr.simulation", None)
    with pytest.raises(ImportError, match=r'pip install "sktransfer\[federated\]"'):
        federated(source).fit(X, y, clients=clients)


def _fit_threads():
    return {t for t in threading.enumerate() if t is not threading.main_thread()}


@needs_flower
def test_a_failing_client_ends_the_federation_cleanly(source, target):
    import ray

    X, y, clients, _, _ = target
    before = _fit_threads()
    failing = FederatedTransferClassifier(
        TransferClassifier(source=source, augment=lambda X: 1 / 0, batch_size=32),
        n_rounds=50,
        random_state=0,
    )
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        failing.fit(X, y, clients=clients)
    # Nothing of the simulation outlives the fit: no server thread waiting
    # for replies (a script would never exit: it is not a daemon), no Ray.
    assert not ray.is_initialized()
    assert not {t for t in _fit_threads() - before if not t.daemon and t.is_alive()}


# The child is interrupted (SIGINT, as Ctrl-C sends) in its second round,
# then fits again in the same process and must exit by itself.
_INTERRUPTED = """
import numpy as np, torch
from torch import nn
from sktransfer import FederatedTransferClassifier, TransferClassifier

rng = np.random.RandomState(0)
X = rng.randn(200, 10).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
clients = np.where(np.arange(200) < 100, "a", "b")
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
source = TransferClassifier(net, max_epochs=1, random_state=0, verbose=0).fit(X, y)

def federated(n_rounds):
    return FederatedTransferClassifier(
        TransferClassifier(source=source, lr=1e-2, batch_size=8, verbose=0),
        n_rounds=n_rounds, random_state=0, verbose=1)

try:
    federated(10_000).fit(X, y, clients=clients)
except KeyboardInterrupt:
    print("interrupted", flush=True)
again = federated(1).fit(X, y, clients=clients)
print("refit loss", again.history_[0]["train_loss"], flush=True)
"""


@needs_flower
@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="issue 26 item 6, open again: on a loaded 2-core machine (2026-12-08) a "
    "SIGINT sent at round 2 was ignored (the fit ran on to round 3473) and a refit "
    "after a SIGINT at round 25 crashed inside Ray (SIGSEGV); it passed on a quiet "
    "machine before. Kept running so the fix can be seen.",
)
def test_ctrl_c_leaves_the_process_able_to_refit_and_exit(tmp_path):
    import signal
    import subprocess
    import time

    script = tmp_path / "interrupted.py"
    script.write_text(_INTERRUPTED)
    log = tmp_path / "out.txt"
    deadline = time.monotonic() + 180  # a hang fails the test, never the suite
    with open(log, "w") as sink:
        child = subprocess.Popen(
            [sys.executable, str(script)], stdout=sink, stderr=subprocess.STDOUT
        )
        sent, rc = False, None
        try:
            while time.monotonic() < deadline:
                if not sent and "round 2/10000" in log.read_text():
                    child.send_signal(signal.SIGINT)
                    sent = True
                rc = child.poll()
                if rc is not None:
                    break
                time.sleep(0.2)
        finally:
            child.kill()
    out = log.read_text()
    assert sent, out
    assert rc == 0, f"no clean exit within 180 s (rc {rc}):\n{out[-3000:]}"
    assert "interrupted" in out
    # The refit starts clean: its first round is the interrupted fit's first.
    first = out.split("round 1/10000: 2 client(s), train loss ")[1].split(",")[0]
    refit = out.split("refit loss ")[1].split()[0]
    assert float(refit) == pytest.approx(float(first), abs=1e-4)
