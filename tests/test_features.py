"""FeatureTransferTransformer: layers, pooling, batching, the source, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sktransfer import TransferClassifier
from sktransfer.features import FeatureTransferTransformer
from sktransfer.models import MLP, LeNet


@pytest.fixture(scope="module")
def images():
    """20 random 28x28 images with a learnable label."""
    rng = np.random.RandomState(0)
    X = rng.rand(20, 1, 28, 28).astype(np.float32)
    y = (X[:, 0, :14].mean(axis=(1, 2)) > X[:, 0, 14:].mean(axis=(1, 2))).astype(int)
    return X, y


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The batches here are tiny: thread start-up would cost more than the
    # arithmetic, badly so on a busy machine.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture
def lenet() -> LeNet:
    """A small LeNet with non-trivial BN statistics, left in train mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = LeNet(n_classes=10, channels=(8, 16), hidden_units=32)
        with torch.no_grad():
            net(torch.rand(16, 1, 28, 28))
    return net


def manual(net: LeNet, X: np.ndarray, step) -> np.ndarray:
    modes = [(m, m.training) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        out = step(torch.as_tensor(X)).numpy()
    for m, training in modes:  # net.train() would reset frozen norms too
        m.train(training)
    return out


def test_layer_by_index_and_name_match_manual_computation(lenet, images):
    X, _ = images
    by_index = FeatureTransferTransformer(lenet).fit_transform(X)  # layer=-2
    by_name = FeatureTransferTransformer(lenet, layer="fc1").fit_transform(X)
    expected = manual(lenet, X, lambda x: lenet.fc1(lenet.features(x)))  # no relu
    assert by_index.shape == (20, 32) and by_index.dtype == np.float32
    np.testing.assert_array_equal(by_index, by_name)
    np.testing.assert_allclose(by_index, expected, rtol=1e-5, atol=1e-6)


def test_blocks_end_after_their_norm_layer(lenet, images):
    X, _ = images
    ft = FeatureTransferTransformer(lenet, layer=0).fit(X)
    assert ft.blocks_ == ["conv1", "conv2", "fc1", "fc2"]
    assert ft.layer_name_ == "bn1"
    expected = manual(lenet, X, lambda x: lenet.bn1(lenet.conv1(x)))
    np.testing.assert_allclose(
        ft.transform(X), expected.reshape(20, -1), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "layer, pooling, n_out",
    [
        (1, None, 16 * 14 * 14),
        (1, "avg", 16),
        ("conv2", "max", 16),
        ("pool", None, 8 * 14 * 14),  # called twice: its first output
        ("pool", "avg", 8),
        ("fc1", "avg", 32),  # pooling leaves 2-D outputs alone
        (-1, None, 10),
    ],
)
def test_output_shapes(lenet, images, layer, pooling, n_out):
    X, _ = images
    ft = FeatureTransferTransformer(lenet, layer=layer, pooling=pooling).fit(X)
    assert ft.transform(X).shape == (20, n_out)
    assert ft.n_features_out_ == n_out


def test_pooling_matches_manual_computation(lenet, images):
    X, _ = images
    bn2 = manual(lenet, X, lambda x: lenet.bn2(lenet.conv2(lenet.pool(
        torch.relu(lenet.bn1(lenet.conv1(x)))))))  # fmt: skip
    for pooling, reduce in [("avg", np.mean), ("max", np.max)]:
        ft = FeatureTransferTransformer(lenet, layer="bn2", pooling=pooling)
        np.testing.assert_allclose(
            ft.fit_transform(X), reduce(bn2, axis=(2, 3)), rtol=1e-5, atol=1e-5
        )


def test_batches_give_the_same_features(lenet, images):
    X, _ = images
    small = FeatureTransferTransformer(lenet, layer=1, batch_size=3).fit(X)
    big = FeatureTransferTransformer(lenet, layer=1, batch_size=256).fit(X)
    np.testing.assert_allclose(small.transform(X), big.transform(X), atol=1e-6)


def test_grid_search_over_layer_in_a_pipeline(lenet, images):
    X, y = images
    pipe = make_pipeline(
        FeatureTransferTransformer(lenet, pooling="avg"),
        LogisticRegression(max_iter=200),
    )
    grid = {
        "featuretransfertransformer__layer": [-2, "conv2"],
        "logisticregression__C": [0.1, 1.0],
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    fitted = search.best_estimator_[0]
    assert fitted.source is lenet and fitted.module_ is lenet
    assert search.predict(X).shape == (20,)


def test_clone_keeps_source_by_reference(lenet):
    ft = FeatureTransferTransformer(lenet, layer="fc1")
    cloned = clone(ft)
    assert cloned.source is lenet
    assert cloned.get_params()["layer"] == "fc1"


def test_pickle_round_trip(lenet, images):
    X, _ = images
    ft = FeatureTransferTransformer(lenet, layer="conv2", pooling="max").fit(X)
    restored = pickle.loads(pickle.dumps(ft))
    np.testing.assert_array_equal(restored.transform(X), ft.transform(X))


def test_source_is_not_modified(lenet, images):
    X, _ = images
    lenet.bn1.eval()  # mixed modes, as a fitted source with frozen norms has
    modes = {name: m.training for name, m in lenet.named_modules()}
    state = {k: v.clone() for k, v in lenet.state_dict().items()}
    x = torch.as_tensor(X[:4])
    with torch.no_grad():
        before = lenet.eval()(x)
    lenet.train()
    lenet.bn1.eval()
    for layer in [0, "pool", -1]:
        FeatureTransferTransformer(lenet, layer=layer, batch_size=7).fit_transform(X)
    assert {name: m.training for name, m in lenet.named_modules()} == modes
    for key, value in lenet.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)
    assert all(not m._forward_hooks for m in lenet.modules())  # torch has no API
    with torch.no_grad():
        torch.testing.assert_close(lenet.eval()(x), before)  # no hook stops it


def test_set_output_pandas(lenet, images):
    X, _ = images
    ft = FeatureTransferTransformer(lenet, layer="fc1").set_output(transform="pandas")
    df = ft.fit_transform(X)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == [f"fc1_{i}" for i in range(32)]


def test_fitted_transfer_classifier_as_source(images):
    X, y = images
    clf = TransferClassifier(
        LeNet,
        freeze_depth=1,
        max_epochs=1,
        random_state=0,
        module__channels=(8, 16),
        module__hidden_units=32,
    ).fit(X, y)
    modes = [m.training for m in clf.module_.modules()]
    ft = FeatureTransferTransformer(clf, layer="fc1").fit(X)
    assert ft.module_ is clf.module_
    expected = manual(clf.module_, X, lambda x: clf.module_.fc1(
        clf.module_.features(x)))  # fmt: skip
    np.testing.assert_allclose(ft.transform(X), expected, rtol=1e-5, atol=1e-6)
    assert [m.training for m in clf.module_.modules()] == modes
    assert clone(ft).source is clf


def test_default_source_is_a_seeded_random_mlp():
    X = np.random.RandomState(0).normal(size=(30, 5))
    rng_state = torch.random.get_rng_state()
    a = FeatureTransferTransformer(random_state=0).fit(X)
    b = FeatureTransferTransformer(random_state=0).fit(X)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert isinstance(a.module_, MLP) and a.n_features_out_ == 64
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = FeatureTransferTransformer(random_state=1).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))


def test_state_dict_source_is_refused(lenet, images, tmp_path):
    X, _ = images
    path = tmp_path / "lenet.pt"
    torch.save(lenet.state_dict(), path)
    for source in (lenet.state_dict(), path):
        with pytest.raises(ValueError, match="without an architecture"):
            FeatureTransferTransformer(source).fit(X)


def test_unknown_layer_name_lists_modules(lenet, images):
    X, _ = images
    with pytest.raises(ValueError, match="'fc3' is not a module.*conv1, bn1"):
        FeatureTransferTransformer(lenet, layer="fc3").fit(X)


@pytest.mark.parametrize("layer", [4, -5])
def test_out_of_range_index_lists_blocks(lenet, images, layer):
    X, _ = images
    with pytest.raises(ValueError, match="has 4 blocks .*0: conv1, 1: conv2"):
        FeatureTransferTransformer(lenet, layer=layer).fit(X)


@pytest.mark.parametrize(
    "params, error",
    [({"layer": 1.5}, TypeError), ({"pooling": "min"}, ValueError),
     ({"batch_size": 0}, ValueError), ({"memory_format": "nhwc"}, ValueError)],
)  # fmt: skip
def test_invalid_params(lenet, images, params, error):
    X, _ = images
    with pytest.raises(error):
        FeatureTransferTransformer(lenet, **params).fit(X)


def test_nan_input_is_refused(lenet, images):
    X, _ = images
    X = X.copy()
    X[3, 0, 5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FeatureTransferTransformer(lenet).fit(X)
    ft = FeatureTransferTransformer(lenet).fit(images[0])
    with pytest.raises(ValueError, match="NaN"):
        ft.transform(X)


def test_wrong_image_shape(lenet, images):
    X, _ = images
    with pytest.raises(ValueError, match=r"samples of shape \(1, 16, 16\)"):
        FeatureTransferTransformer(lenet).fit(X[:, :, :16, :16])
    ft = FeatureTransferTransformer(lenet).fit(X)
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        ft.transform(np.zeros((2, 1, 28, 27), dtype=np.float32))


def test_image_mapping_then_features_then_logistic_regression(lenet):
    """USPS-sized images mapped to 28x28, then a source layer, then any model."""
    from sktransfer import ImageMapping

    rng = np.random.RandomState(0)
    X = rng.rand(30, 1, 16, 16).astype(np.float32)
    y = (X[:, 0, :8].mean(axis=(1, 2)) > X[:, 0, 8:].mean(axis=(1, 2))).astype(int)
    pipe = make_pipeline(
        ImageMapping(size=(28, 28), method="resize_pad", center="mass"),
        FeatureTransferTransformer(lenet, pooling="avg"),
        LogisticRegression(max_iter=200),
    )
    search = GridSearchCV(
        pipe,
        {
            "featuretransfertransformer__layer": [1, "fc1"],
            "logisticregression__C": [0.1, 1.0],
        },
        cv=3,
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))


@pytest.mark.parametrize(
    "layer, pooling", [("conv2", "avg"), ("bn1", None), (-2, None)]
)
def test_channels_last_gives_the_same_features(lenet, images, layer, pooling):
    X, _ = images
    fast = FeatureTransferTransformer(lenet, layer=layer, pooling=pooling).fit(X)
    plain = FeatureTransferTransformer(
        lenet, layer=layer, pooling=pooling, memory_format="contiguous"
    ).fit(X)
    assert fast.memory_format_ == "channels_last"
    assert plain.memory_format_ == "contiguous"
    np.testing.assert_allclose(fast.transform(X), plain.transform(X), atol=1e-5)


def test_channels_last_leaves_the_network_in_its_layout(lenet, images):
    X, _ = images
    features = FeatureTransferTransformer(lenet, layer="fc1").fit(X)
    features.transform(X)
    assert features.module_ is lenet
    assert lenet.conv2.weight.is_contiguous()
    lenet.to(memory_format=torch.channels_last)
    FeatureTransferTransformer(lenet, layer="fc1").fit_transform(X)
    assert lenet.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert not lenet.conv2.weight.is_contiguous()


def test_tables_and_refusing_networks_stay_contiguous(lenet, images):
    X = np.random.RandomState(0).rand(10, 4).astype(np.float32)
    assert FeatureTransferTransformer(random_state=0).fit(X).memory_format_ == (
        "contiguous"
    )

    class Flattening(torch.nn.Module):  # .view() needs NCHW strides
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3)
            self.fc = torch.nn.Linear(2 * 26 * 26, 3)

        def forward(self, x):
            h = self.conv(x)
            return self.fc(h.view(len(h), -1))

    images_X, _ = images
    net = Flattening()
    auto = FeatureTransferTransformer(net, layer="fc").fit(images_X)
    assert auto.memory_format_ == "contiguous"
    with pytest.raises(ValueError, match="channels-last"):
        FeatureTransferTransformer(net, layer="fc", memory_format="channels_last").fit(
            images_X
        )
