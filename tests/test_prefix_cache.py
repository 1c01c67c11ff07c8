"""Frozen prefixes computed once: same network as the plain path, shared across fits."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from torch import nn

from sktransfer import TransferClassifier, prefix
from sktransfer._network import preparation as preparing
from sktransfer.augmentation import RandomAffine
from sktransfer.models import MLP, LeNet

SMALL = dict(channels=(4, 8), hidden_units=16)


@pytest.fixture(autouse=True)
def empty_cache():
    prefix.clear_cache()
    yield
    prefix.clear_cache()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny networks: one thread is faster, and immune to a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_lenet():
    """A small LeNet with non-trivial weights and BN statistics (2 classes)."""
    torch.manual_seed(0)
    net = LeNet(n_classes=2, dropout=0.3, **SMALL)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(16, 1, 28, 28))
    return net.eval()


def fit_both(X, y, **params):
    params = dict(max_epochs=3, batch_size=16, random_state=0) | params
    cached = TransferClassifier(**params).fit(X, y)
    plain = TransferClassifier(cache_frozen=False, **params).fit(X, y)
    return cached, plain


def assert_same(cached, plain, X):
    np.testing.assert_allclose(
        cached.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-6
    )
    for (name, a), b in zip(
        cached.module_.state_dict().items(),
        plain.module_.state_dict().values(),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)


def test_lenet_freeze_depth_2_same_network_as_plain_path(digits, small_lenet):
    X, y = digits
    cached, plain = fit_both(X, y, source=small_lenet, freeze_depth=2)
    assert cached.cached_prefix_ == "fc1"
    assert plain.cached_prefix_ is None
    assert_same(cached, plain, X)
    # Frozen blocks (and their BN statistics) are the source's.
    source = small_lenet.state_dict()
    for name, value in cached.module_.state_dict().items():
        if name.startswith(("conv", "bn")):
            torch.testing.assert_close(value, source[name], rtol=0, atol=0)
    # The fitted estimator is the full network, predicting from raw images.
    assert isinstance(cached.module_, LeNet)
    assert cached.net_.rest is None  # released: later training sees raw rows
    assert cached.training_strategy_ == "frozen_prefix"
    assert cached.predict(X[:5]).shape == (5,)


def test_default_mlp_freeze_depth_1_same_network_as_plain_path(domains):
    Xs, ys, Xt, yt = domains
    source = TransferClassifier(max_epochs=2, random_state=0).fit(Xs[:300], ys[:300])
    cached, plain = fit_both(Xt[:80], yt[:80], source=source, freeze_depth=1)
    assert isinstance(cached.module_, MLP)
    assert cached.cached_prefix_ == "layers.3"
    assert_same(cached, plain, Xt)
    before = source.module_.layers[1].weight
    torch.testing.assert_close(cached.module_.layers[1].weight, before)


def test_sequential_cut_inside_nested_sequential_and_before_dropout():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU()),
        nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 8), nn.Tanh()),
        nn.Linear(8, 2),
    )
    cached, plain = fit_both(X, y, module=module, freeze_depth=1)
    assert cached.cached_prefix_ == "1.1"
    assert_same(cached, plain, X)


class Arbitrary(nn.Module):
    """A network whose forward is arbitrary code: it cannot be cut."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 8)
        self.b = nn.Linear(8, 2)

    def forward(self, X):
        return self.b(torch.relu(self.a(X)) + X.sum(1, keepdim=True))


class NoisyLeNet(LeNet):
    """Overrides forward but inherits split_forward: it cannot be cut."""

    def forward(self, X):
        return super().forward(X) + (0.1 * torch.rand(1) if self.training else 0)


class Noisy(nn.Module):
    """A custom layer in the prefix: its mode dependence is unknown."""

    def forward(self, X):
        return X + 0.1 * torch.randn_like(X) if self.training else X


@pytest.mark.parametrize(
    "params",
    [
        dict(freeze_depth=0),
        dict(freeze_depth=1, augment=RandomAffine(degrees=5)),
        dict(freeze_depth="fc1"),  # not a prefix
        dict(freeze_depth=1, max_epochs=0),
        dict(freeze_depth=1, cache_frozen=False),
        dict(freeze_depth=2, dataset__length=48),  # rows may not reach it as is
    ],
    ids=["no-freeze", "augment", "not-a-prefix", "no-epochs", "off", "dataset"],
)
def test_lenet_plain_path_when_not_applicable(params, digits, small_lenet):
    X, y = digits
    params = dict(source=small_lenet, max_epochs=1, random_state=0) | params
    clf = TransferClassifier(**params).fit(X, y)
    assert clf.cached_prefix_ is None
    assert prefix.cache_info().misses == 0


def test_subclass_overriding_forward_trains_whole(digits):
    X, y = digits
    clf = TransferClassifier(NoisyLeNet(2, **SMALL), freeze_depth=2, max_epochs=1)
    assert clf.fit(X, y).cached_prefix_ is None


@pytest.mark.parametrize(
    "module",
    [
        Arbitrary(),
        nn.Sequential(nn.Linear(6, 8), Noisy(), nn.Linear(8, 2)),
        nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2)),
        nn.Sequential(
            nn.Linear(6, 8),
            nn.BatchNorm1d(8, track_running_stats=False),
            nn.Linear(8, 2),
        ),  # fmt: skip
    ],
    ids=["arbitrary-forward", "custom-layer", "dropout-in-prefix", "batch-stats"],
)
def test_network_that_cannot_be_cut_trains_whole(module):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = TransferClassifier(module, freeze_depth=1, max_epochs=2, random_state=0)
    clf.fit(X, y)
    assert clf.cached_prefix_ is None
    assert clf.score(X, y) > 0


def count_prefix_evaluations(monkeypatch):
    """Count the batches the cut prefix runs on (beyond the 2-sample checks)."""
    calls = []
    original = preparing.safe_split

    def counting(*args):
        found = original(*args)
        if found is None:
            return None
        (head, rest), layer, hidden = found

        def counted(X):
            if len(X) > 2:
                calls.append(len(X))
            return head(X)

        return (counted, rest), layer, hidden

    monkeypatch.setattr(preparing, "safe_split", counting)
    return calls


def test_grid_search_over_lr_computes_prefix_once_per_fold(
    monkeypatch, digits, small_lenet
):
    X, y = digits
    calls = count_prefix_evaluations(monkeypatch)
    est = TransferClassifier(source=small_lenet, freeze_depth=2, max_epochs=1)
    GridSearchCV(est, {"lr": [1e-3, 1e-2, 1e-1]}, cv=3).fit(X, y)
    # 3 distinct fold training sets and the refit on all of X: 4 evaluations
    # of the prefix for 10 fits.
    assert sorted(calls) == [32, 32, 32, 48]
    info = prefix.cache_info()
    assert (info.misses, info.hits, info.entries) == (4, 6, 4)


def test_cache_key_follows_weights_and_data_content(digits, small_lenet):
    X, y = digits
    params = dict(freeze_depth=2, max_epochs=1, random_state=0)
    TransferClassifier(source=small_lenet, **params).fit(X, y)
    TransferClassifier(source=small_lenet, **params).fit(X.copy(), y)  # same bytes
    assert prefix.cache_info()[:2] == (1, 1)
    other = LeNet(n_classes=2, **SMALL)
    TransferClassifier(source=other, **params).fit(X, y)  # other frozen weights
    X2 = X.copy()
    X2[0, 0, 0, 0] += 1e-3
    TransferClassifier(source=small_lenet, **params).fit(X2, y)  # other data
    assert prefix.cache_info()[:3] == (1, 3, 3)


def test_cache_memory_bound_and_clear(digits, small_lenet):
    X, y = digits
    params = dict(source=small_lenet, freeze_depth=2, max_epochs=1, random_state=0)
    limit = prefix.get_cache_limit()
    n_bytes = len(X) * 8 * 7 * 7 * 4  # outputs of the conv blocks, float32
    try:
        prefix.set_cache_limit(n_bytes - 1)  # too big for one fit: plain path
        assert TransferClassifier(**params).fit(X, y).cached_prefix_ is None
        prefix.set_cache_limit(n_bytes)
        assert TransferClassifier(**params).fit(X, y).cached_prefix_ == "fc1"
        TransferClassifier(**params).fit(X[:24], y[:24])  # evicts the first
        info = prefix.cache_info()
        assert (info.entries, info.nbytes) == (1, n_bytes // 2)
        prefix.clear_cache()
        assert prefix.cache_info() == (0, 0, 0, 0, n_bytes, 0)
        with pytest.raises(ValueError, match="nbytes"):
            prefix.set_cache_limit(-1)
    finally:
        prefix.set_cache_limit(limit)


class PredictRaw(Callback):
    """Predicts raw images in the middle of a fit."""

    def __init__(self, X):
        self.X = X

    def on_epoch_end(self, net, **kwargs):
        self.proba_ = net.predict_proba(self.X)


def test_callback_predicting_raw_inputs_during_fit_uses_full_network(
    digits, small_lenet
):
    X, y = digits
    callback = PredictRaw(X[:4])
    # Default layout: a channels-last fit predicts during training with
    # channels-last weights, which round differently from the restored ones.
    clf = TransferClassifier(
        source=small_lenet,
        freeze_depth=2,
        max_epochs=1,
        callbacks=[callback],
        memory_format="contiguous",
    ).fit(X, y)
    assert clf.cached_prefix_ == "fc1"
    np.testing.assert_allclose(callback.proba_, clf.net_.predict_proba(X[:4]))


def test_fitted_estimator_pickles_and_param_is_checked(digits, small_lenet):
    X, y = digits
    clf = TransferClassifier(source=small_lenet, freeze_depth=2, max_epochs=1)
    clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match="cache_frozen"):
        TransferClassifier(cache_frozen="always").fit(X, y)


def test_split_protocol_of_the_models():
    torch.manual_seed(0)
    X = torch.rand(3, 1, 28, 28)
    lenet = LeNet(**SMALL).eval()
    for layer in ("conv2", "fc1", "fc2"):
        head, rest = lenet.split_forward(layer)
        torch.testing.assert_close(rest(head(X)), lenet(X))
    assert lenet.split_forward("conv1") is None
    mlp = MLP(784, 10, hidden_units=(8, 8)).eval()
    head, rest = mlp.split_forward("layers.5")
    torch.testing.assert_close(rest(head(X)), mlp(X))
    assert mlp.split_forward("layers.0") is None
    assert mlp.split_forward("head") is None


def test_cache_key_follows_the_memory_layout(digits, small_lenet):
    # Channels-last and default layouts round differently: never share outputs.
    X, y = digits
    params = dict(source=small_lenet, freeze_depth=2, max_epochs=1, random_state=0)
    a = TransferClassifier(memory_format="channels_last", **params).fit(X, y)
    b = TransferClassifier(memory_format="contiguous", **params).fit(X, y)
    assert (a.memory_format_, b.memory_format_) == ("channels_last", "contiguous")
    assert prefix.cache_info()[:3] == (0, 2, 2)
    TransferClassifier(memory_format="channels_last", **params).fit(X, y)
    assert prefix.cache_info()[:2] == (1, 2)
