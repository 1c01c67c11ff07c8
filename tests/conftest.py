"""Shared fixtures: small synthetic data and small pretrained networks."""

import numpy as np
import pytest
import torch

from sktransfer import TransferClassifier
from sktransfer.models import LeNet


def shifted_domains(n_source=1000, n_target=400, n_features=50, n_classes=5, seed=0):
    """Noisy Gaussian classes; the target rescales and shifts every feature."""
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=0.7, size=(n_classes, n_features))

    def draw(n):
        y = rng.randint(n_classes, size=n)
        return centres[y] + rng.normal(scale=2.0, size=(n, n_features)), y

    Xs, ys = draw(n_source)
    Xt, yt = draw(n_target)
    Xt = Xt * rng.uniform(0.5, 1.5, size=n_features) + rng.normal(size=n_features)
    return Xs, ys, Xt, yt


@pytest.fixture(scope="session")
def domains():
    return shifted_domains()


@pytest.fixture(scope="session")
def tabular_source(domains):
    """A TransferClassifier fitted on the source domain."""
    Xs, ys, _, _ = domains
    return TransferClassifier(random_state=0).fit(Xs, ys)


@pytest.fixture(scope="session")
def digits():
    """Tiny random 28x28 'images' with a learnable label (for mechanics only)."""
    rng = np.random.RandomState(0)
    X = rng.rand(48, 1, 28, 28).astype(np.float32)
    y = (X[:, 0, :14].mean(axis=(1, 2)) > X[:, 0, 14:].mean(axis=(1, 2))).astype(int)
    return X, y


@pytest.fixture(scope="session")
def lenet_source():
    """A LeNet with non-trivial weights and BN statistics (10 classes)."""
    torch.manual_seed(0)
    net = LeNet(n_classes=10)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(16, 1, 28, 28))
    return net.eval()
