"""memory_format: channels-last training of convolutional networks."""

import numpy as np
import pytest
import torch
from torch import nn

from sktransfer import Source, TransferClassifier
from sktransfer._network.layout import choose_memory_format
from sktransfer.adaptation import DANN
from sktransfer.models import LeNet


class ViewNet(nn.Module):
    """Flattens convolution outputs with ``.view``: needs NCHW strides."""

    def __init__(self, n_classes=2):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, n_classes)

    def forward(self, X):
        out = torch.relu(self.conv(X))
        return self.fc(out.view(len(out), -1))


def images(n=64, seed=0, size=8):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = rng.normal(size=(n, 1, size, size)).astype(np.float32)
    X[:, :, : size // 2] += 1.5 * y[:, None, None, None]  # class in the top half
    return X, y


def digits(n=64, seed=0):
    return images(n, seed, size=28)


def test_auto_trains_a_cnn_channels_last_and_gives_the_layout_back():
    X, y = digits()
    clf = TransferClassifier(LeNet, max_epochs=5, batch_size=16, random_state=0)
    clf.fit(X, y)
    assert clf.memory_format_ == "channels_last"
    for param in clf.module_.parameters():
        assert param.is_contiguous()
    assert clf.score(X, y) > 0.9


def test_auto_keeps_the_default_layout_for_a_network_that_needs_it():
    X, y = images()
    clf = TransferClassifier(ViewNet, max_epochs=10, batch_size=16, random_state=0)
    clf.fit(X, y)
    assert clf.memory_format_ == "contiguous"
    assert clf.score(X, y) > 0.8


def test_channels_last_on_request_raises_for_a_network_that_cannot_take_it():
    X, y = images()
    clf = TransferClassifier(ViewNet, memory_format="channels_last", max_epochs=1)
    with pytest.raises(ValueError, match="channels-last.*contiguous"):
        clf.fit(X, y)


def test_tables_and_contiguous_requests_use_the_default_layout():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 5)), rng.randint(0, 2, 40)
    assert TransferClassifier(max_epochs=1).fit(X, y).memory_format_ == "contiguous"
    X, y = digits()
    clf = TransferClassifier(LeNet, memory_format="contiguous", max_epochs=1)
    assert clf.fit(X, y).memory_format_ == "contiguous"
    X, y = rng.normal(size=(40, 5)), rng.randint(0, 2, 40)
    with pytest.raises(ValueError, match="image batches"):
        TransferClassifier(memory_format="channels_last").fit(X, y)


def test_unknown_memory_format_is_refused():
    X, y = digits(20)
    with pytest.raises(ValueError, match="memory_format must be one of"):
        TransferClassifier(LeNet, memory_format="nhwc").fit(X, y)


def test_both_layouts_train_the_same_network_up_to_rounding():
    X, y = digits()
    # Plain SGD: Adam's normalised steps would magnify rounding differences.
    kw = dict(optimizer=torch.optim.SGD, lr=0.01, max_epochs=1, batch_size=16,
              random_state=0)  # fmt: skip
    a = TransferClassifier(LeNet, memory_format="contiguous", **kw).fit(X, y)
    b = TransferClassifier(LeNet, memory_format="channels_last", **kw).fit(X, y)
    for (name, p), q in zip(
        a.module_.named_parameters(), b.module_.parameters(), strict=True
    ):
        np.testing.assert_allclose(
            p.detach().numpy(), q.detach().numpy(), atol=1e-4, err_msg=name
        )


def test_channels_last_fits_are_reproducible_and_adapt_across_domains():
    Xs, ys = digits(64, seed=1)
    Xt, _ = digits(48, seed=2)
    source = Source(X=Xs, y=ys)
    kw = dict(source=source, adaptation=DANN(), max_epochs=1, random_state=0)
    a = TransferClassifier(LeNet, **kw).fit(Xt, np.full(len(Xt), -1))
    b = TransferClassifier(LeNet, **kw).fit(Xt, np.full(len(Xt), -1))
    assert a.memory_format_ == "channels_last"
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


def test_choice_leaves_modes_and_weights_of_the_network_alone():
    module = LeNet().train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    example = torch.randn(2, 1, 28, 28)
    assert choose_memory_format(module, example, "auto", "cpu") == "channels_last"
    assert all(m.training for m in module.modules())
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, before[key])
    # "auto" is channels-last on CUDA too (the check itself runs on the CPU).
    assert choose_memory_format(LeNet(), example, "auto", "cuda") == "channels_last"
    assert choose_memory_format(LeNet(), example, "auto", "mps") == "contiguous"
