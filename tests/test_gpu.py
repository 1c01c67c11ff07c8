"""GPUs and mixed precision: ``precision``, pinned non-blocking copies,
channels-last on CUDA, ``net_mixins`` (e.g. skorch's ``AccelerateMixin``),
and the GPU check script.

Tests that need CUDA are skipped on machines without it.
"""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from torch import nn

from sktransfer import (
    FeatureTransferTransformer,
    Source,
    TransferClassifier,
    TransferRegressor,
    _precision,
)
from sktransfer._params import InvalidParameterError
from sktransfer._training import FrozenPrefix, Training, why_not
from sktransfer._training.nets import ClassifierNet, NonFiniteLossError
from sktransfer.adaptation import DANN
from sktransfer.models import MLP, LeNet

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"
)


def digits(n=64, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, n)
    X = rng.normal(size=(n, 1, 28, 28)).astype(np.float32)
    X[:, :, :14] += y[:, None, None, None]  # the class shows in the top half
    return X, y


def table(n=80, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[:, 0] += 2.0 * y
    return X, y


class DtypeProbe(Callback):
    """Records the dtype of the network's output in training steps."""

    def initialize(self):
        self.dtypes = set()
        return self

    def on_train_begin(self, net, **kwargs):
        last = [m for m in net.module_.modules() if isinstance(m, nn.Linear)][-1]
        self.handle = last.register_forward_hook(
            lambda m, i, out: self.dtypes.add(out.dtype)
        )

    def on_train_end(self, net, **kwargs):
        self.handle.remove()


def lenet() -> LeNet:
    """The same LeNet every time, the global RNG left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return LeNet(n_classes=3).eval()


def strategy_fit(strategy, precision, **extra):
    """A LeNet classifier fitted by ``strategy``, in ``precision``."""
    X, y = digits()
    kw = dict(max_epochs=2, batch_size=16, random_state=0, precision=precision)
    if strategy == "frozen_prefix":
        kw.update(source=lenet(), freeze_depth=2)
    elif strategy == "across_domains":
        Xs, ys = digits(seed=1)
        kw.update(module=LeNet, source=Source(X=Xs, y=ys), adaptation=DANN())
        y = np.full(len(y), -1)
    else:
        kw.update(module=LeNet)
    clf = TransferClassifier(**kw, **extra).fit(X, y)
    assert clf.training_strategy_ == strategy
    return clf, X


STRATEGIES = ["fine_tune", "frozen_prefix", "across_domains"]


# -- precision on the CPU -----------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_bfloat16_trains_and_predicts_with_every_strategy(strategy):
    probe = DtypeProbe()
    clf, X = strategy_fit(strategy, "bfloat16", callbacks=[("probe", probe)])
    assert probe.dtypes == {torch.bfloat16}  # the forward passes ran in bf16
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.net_.predict_proba(X).dtype == np.float32
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    for param in clf.module_.parameters():
        assert param.dtype == torch.float32  # weights stay float32
    # Close to the float32 network, not equal to it.
    reference, _ = strategy_fit(strategy, "float32")
    difference = np.abs(proba - reference.predict_proba(X)).max()
    assert 0 < difference < 0.1


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_float32_is_unchanged_bit_for_bit(strategy, monkeypatch):
    default, X = strategy_fit(strategy, "float32")

    def no_autocast(*args, **kwargs):
        raise AssertionError("float32 must not enter torch.autocast")

    monkeypatch.setattr(torch, "autocast", no_autocast)
    explicit, _ = strategy_fit(strategy, "float32")
    assert TransferClassifier().precision == "float32"
    np.testing.assert_array_equal(default.predict_proba(X), explicit.predict_proba(X))
    assert explicit.net_.grad_scaler_ is None


def test_bfloat16_regressor_predicts_float_targets():
    X, y = table()
    reg = TransferRegressor(precision="bfloat16", max_epochs=20, random_state=0)
    reg.fit(X, X[:, 0])
    pred = reg.predict(X)
    assert pred.dtype == np.float64 and pred.shape == (len(X),)
    assert reg.score(X, X[:, 0]) > 0.5


def test_bfloat16_features_are_float32_and_close():
    X, _ = digits(n=8)
    kw = dict(layer="fc1", random_state=0)
    exact = FeatureTransferTransformer(lenet(), **kw).fit_transform(X)
    half = FeatureTransferTransformer(lenet(), precision="bfloat16", **kw)
    features = half.fit_transform(X)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, exact, rtol=0.1, atol=0.05)
    assert not np.array_equal(features, exact)


@pytest.mark.parametrize(
    "estimator",
    [TransferClassifier, TransferRegressor, FeatureTransferTransformer],
    ids=lambda cls: cls.__name__,
)
def test_bad_precisions_are_refused(estimator):
    X, y = table()
    with pytest.raises(InvalidParameterError, match="precision must be one of"):
        estimator(precision="half").fit(X, y)
    with pytest.raises(ValueError, match="float16.*GPU.*bfloat16"):
        estimator(precision="float16").fit(X, y)


# -- float16 and the gradient scaler, at the level of the net -----------------
# The estimators refuse float16 on the CPU (it is slow there); torch supports
# it, so the scaler's logic is tested on a net built directly.


def float16_net(**kwargs):
    settings = dict(
        module__n_features=6,
        module__n_classes=2,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        max_epochs=3,
        batch_size=16,
        train_split=None,
        verbose=0,
        precision="float16",
        device="cpu",
    )
    return ClassifierNet(MLP, **{**settings, **kwargs})


def test_float16_scaler_skips_overflowing_steps_without_tripping_the_guard(
    monkeypatch,
):
    # A huge initial scale makes the first scaled gradients overflow: the
    # scaler skips those steps and lowers the scale; the losses are finite,
    # so the NonFiniteGuard stays quiet.
    monkeypatch.setattr(_precision, "INIT_SCALE", 2.0**28)
    from sktransfer._training.nets import NonFiniteGuard

    X, y = table()
    net = float16_net(callbacks=[("guard", NonFiniteGuard())])
    torch.manual_seed(0)
    net.initialize()
    before = [p.detach().clone() for p in net.module_.parameters()]
    net.partial_fit(X, y)
    scaler = net.grad_scaler_
    assert isinstance(scaler, torch.amp.GradScaler)
    assert scaler.get_scale() < 2.0**28  # it backed off after overflows
    assert np.isfinite(net.history[:, "train_loss"]).all()
    after = list(net.module_.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_float16_nan_loss_still_stops_training():
    from sktransfer._training.nets import NonFiniteGuard

    X, y = table()
    X[0, 0] = np.nan  # the estimators refuse this; the net does not
    net = float16_net(
        callbacks=[("guard", NonFiniteGuard())], iterator_train__shuffle=False
    )
    with pytest.raises(NonFiniteLossError, match="float16.*bfloat16"):
        net.fit(X, y)


def test_scaled_gradients_reach_callbacks_unscaled(monkeypatch):
    monkeypatch.setattr(_precision, "INIT_SCALE", 2.0**8)
    X, y = table()
    seen = []

    class GradNorm(Callback):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            grads = [p.grad for _, p in named_parameters if p.grad is not None]
            seen.append(float(torch.stack([g.norm() for g in grads]).norm()))

    torch.manual_seed(0)
    half = float16_net(callbacks=[("norm", GradNorm())], max_epochs=1)
    half.fit(X, y)
    first_half = seen[0]
    seen.clear()
    torch.manual_seed(0)
    exact = float16_net(callbacks=[("norm", GradNorm())], max_epochs=1)
    exact.set_params(precision="float32")
    exact.fit(X, y)
    # Not 256 times larger: the gradients were unscaled before callbacks.
    assert first_half == pytest.approx(seen[0], rel=0.05)


# -- net_mixins ------------------------------------------------------------------


class CountingMixin:
    """Counts the training steps of the net it is mixed into."""

    def __init__(self, *args, tag=None, **kwargs):
        self.tag = tag
        super().__init__(*args, **kwargs)

    def train_step(self, batch, **fit_params):
        self.steps_seen_ = getattr(self, "steps_seen_", 0) + 1
        return super().train_step(batch, **fit_params)


class OtherMixin:
    pass


class OwnStepMixin:
    """Replaces the training step, as skorch's AccelerateMixin does."""

    def train_step_single(self, batch, **fit_params):
        self.own_steps_ = getattr(self, "own_steps_", 0) + 1
        return super().train_step_single(batch, **fit_params)


def test_net_mixins_come_first_and_get_their_arguments():
    X, y = table()
    clf = TransferClassifier(
        net_mixins=(CountingMixin, OtherMixin),
        net__tag="counted",
        max_epochs=3,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    net = clf.net_
    mro = type(net).__mro__
    assert mro[1:3] == (CountingMixin, OtherMixin)
    assert type(net).__name__ == "CountingMixinOtherMixinClassifierNet"
    assert net.tag == "counted"
    assert net.steps_seen_ == 3 * 5  # 3 epochs of 80 rows in batches of 16
    assert clf.get_params()["net__tag"] == "counted"
    again = TransferClassifier(net_mixins=(CountingMixin, OtherMixin), max_epochs=1)
    assert type(again.fit(X, y).net_) is type(net)  # one class, cached


def test_a_mixin_with_a_plain_step_keeps_the_frozen_prefix(digits_source):
    X, y = digits()
    clf = TransferClassifier(
        source=digits_source,
        freeze_depth=2,
        net_mixins=CountingMixin,
        max_epochs=1,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    assert clf.training_strategy_ == "frozen_prefix"
    assert clf.net_.steps_seen_ == 4


def test_a_mixin_with_its_own_step_trains_the_whole_network(digits_source):
    X, y = digits()
    clf = TransferClassifier(
        source=digits_source,
        freeze_depth=2,
        net_mixins=OwnStepMixin,
        max_epochs=1,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    assert clf.training_strategy_ == "fine_tune"
    assert clf.net_.own_steps_ == 4
    training = Training(
        task="classifier",
        net_params={"max_epochs": 1, "train_split": None},
        net_mixins=(OwnStepMixin,),
    )
    assert why_not(FrozenPrefix, None, training, 10) == (
        "no net mixin replaces the training step"
    )


def test_fitted_estimator_with_mixins_pickles():
    X, y = table()
    clf = TransferClassifier(
        net_mixins=CountingMixin, net__tag="t", max_epochs=2, random_state=0
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert type(restored.net_) is type(clf.net_)
    assert restored.net_.tag == "t" and restored.net_.steps_seen_ == 4
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    # And it trains on from where it was: 2 more epochs of 2 batches.
    restored.net_.partial_fit(X, y)
    assert restored.net_.steps_seen_ == 8


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(net_mixins=3), InvalidParameterError, "net_mixins must be a class"),
        (dict(net_mixins=[]), InvalidParameterError, "net_mixins must be"),
        (
            dict(net_mixins=(CountingMixin, CountingMixin)),
            ValueError,
            "cannot be placed before.*ClassifierNet",
        ),
        (dict(net__lr=0.1), ValueError, "net__lr would set.*lr="),
        (dict(net__device="cpu"), ValueError, "net__device would set"),
        (dict(net__iterator_train__shuffle=False), ValueError, "net__iterator"),
        (
            dict(net_mixins=OwnStepMixin, precision="bfloat16"),
            ValueError,
            "precision='bfloat16'.*replace.*float32",
        ),
    ],
)
def test_bad_net_settings_are_refused(params, error, match):
    X, y = table()
    with pytest.raises(error, match=match):
        TransferClassifier(max_epochs=1, **params).fit(X, y)


def test_a_mixin_replacing_the_step_cannot_train_across_domains():
    X, y = table()
    clf = TransferClassifier(
        net_mixins=OwnStepMixin, source=Source(X=X, y=y), max_epochs=1
    )
    with pytest.raises(ValueError, match="replace the training step.*across"):
        clf.fit(X, y)


@pytest.fixture(scope="module")
def digits_source():
    return lenet()


# -- skorch's AccelerateMixin, for real, on the CPU -----------------------------


@pytest.fixture(scope="module")
def accelerator():
    accelerate = pytest.importorskip("accelerate")
    return accelerate.Accelerator(cpu=True)


# skorch warns when it unpickles a net whose device accelerate had set to None.
@pytest.mark.filterwarnings("ignore::skorch.exceptions.DeviceWarning")
def test_accelerate_mixin_fits_predicts_and_pickles(accelerator, capsys):
    from skorch.hf import AccelerateMixin

    X, y = table()
    clf = TransferClassifier(
        net_mixins=AccelerateMixin,
        net__accelerator=accelerator,
        max_epochs=30,
        random_state=0,
        verbose=0,  # the default "auto" prints once a fit runs past 5 s
    ).fit(X, y)
    assert isinstance(clf.net_, AccelerateMixin)
    assert clf.net_.device is None  # the accelerator placed everything
    assert capsys.readouterr().out == ""  # verbose=0 is silent
    assert clf.score(X, y) > 0.8
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))


def test_accelerate_mixin_refuses_what_it_cannot_do(accelerator):
    from skorch.hf import AccelerateMixin

    X, y = table()
    kw = dict(net_mixins=AccelerateMixin, net__accelerator=accelerator, max_epochs=1)
    with pytest.raises(ValueError, match="accelerator.*mixed_precision"):
        TransferClassifier(precision="bfloat16", **kw).fit(X, y)
    with pytest.raises(ValueError, match="across domains"):
        TransferClassifier(source=Source(X=X, y=y), **kw).fit(X, y)


# -- on a CUDA GPU ------------------------------------------------------------------


class BatchProbe(Callback):
    """Records whether training batches arrive pinned, and the weights' layout."""

    def initialize(self):
        self.pinned, self.channels_last = set(), set()
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.pinned.add(all(b.is_pinned() for b in batch if b.numel()))
            conv = [m for m in net.module_.modules() if isinstance(m, nn.Conv2d)]
            self.channels_last.add(
                conv[0].weight.is_contiguous(memory_format=torch.channels_last)
            )


@needs_cuda
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_float16_on_cuda_scales_the_loss(strategy):
    probe = DtypeProbe()
    clf, X = strategy_fit(
        strategy, "float16", device="cuda", callbacks=[("probe", probe)]
    )
    assert probe.dtypes == {torch.float16}
    assert isinstance(clf.net_.grad_scaler_, torch.amp.GradScaler)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()


@needs_cuda
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_bfloat16_on_cuda(strategy):
    clf, X = strategy_fit(strategy, "bfloat16", device="cuda")
    assert np.isfinite(clf.predict_proba(X)).all()
    assert clf.net_.grad_scaler_ is None


@needs_cuda
@pytest.mark.parametrize("strategy", ["fine_tune", "across_domains"])
def test_cuda_batches_are_pinned_and_the_cnn_trains_channels_last(strategy):
    probe = BatchProbe()
    clf, _ = strategy_fit(strategy, "float32", device="cuda", callbacks=[probe])
    assert probe.pinned == {True}
    assert clf.net_.get_params()["iterator_train__pin_memory"] is True
    assert clf.memory_format_ == "channels_last"
    assert probe.channels_last == {True}
    for param in clf.module_.parameters():
        assert param.is_contiguous()  # the default layout back after fit


@needs_cuda
def test_cuda_copies_are_non_blocking(monkeypatch):
    calls = []
    original = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        # Batches: tensor.to(device, ...); Module.to passes three positionals.
        if self.device.type == "cpu" and len(args) == 1 and "cuda" in str(args[0]):
            calls.append(kwargs.get("non_blocking", False))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    X, y = table()
    TransferClassifier(device="cuda", max_epochs=1, random_state=0).fit(X, y)
    assert calls and all(calls)


@needs_cuda
def test_auto_device_picks_cuda():
    X, y = table()
    clf = TransferClassifier(device="auto", max_epochs=1).fit(X, y)
    assert clf.net_.device == "cuda"
    assert next(clf.module_.parameters()).device.type == "cuda"
    features = FeatureTransferTransformer(
        clf, device="auto", precision="bfloat16"
    ).fit_transform(X)
    assert features.dtype == np.float32


# -- the GPU check script ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def gpu_check(*args: str) -> subprocess.CompletedProcess:
    """``python -m benchmarks.gpu_check *args``, as a user runs it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu_check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_gpu_check_runs_on_the_cpu_and_labels_its_numbers(tmp_path):
    out = tmp_path / "check.json"
    done = gpu_check(
        "--device", "cpu", "--batch-size", "8", "--steps", "2", "--repeats", "1",
        "--precision", "float32", "bfloat16", "--output", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "CPU numbers, not GPU numbers" in done.stdout
    result = json.loads(out.read_text())
    assert result["measured_on"] == "cpu"
    assert "not a GPU" in result["device_name"]
    assert len(result["rows"]) == 4  # 2 precisions x 2 layouts
    for row in result["rows"]:
        assert row["ratio_vs_plain"] > 0
        assert set(row["samples_per_s"]) == {"plain", "sktransfer", "plain, no sync"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_says_plainly_that_there_is_no_gpu(tmp_path):
    out = tmp_path / "check.json"
    done = gpu_check("--output", str(out))
    assert done.returncode == 1
    assert "No CUDA GPU is present" in done.stdout
    assert not out.exists()
