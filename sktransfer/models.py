"""Ready-made networks: a default MLP for tables and a LeNet for 28x28 digits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ._network.split import split_sequential

__all__ = ["MLP", "LeNet"]


class MLP(nn.Module):
    """Multi-layer perceptron that flattens its input.

    The default ``module`` of :class:`~sktransfer.TransferClassifier`: its
    sizes ``n_features`` and ``n_classes`` are inferred from the data in
    ``fit``.

    Parameters
    ----------
    n_features : int
        Number of input values per sample (after flattening).
    n_classes : int
        Number of output logits.
    hidden_units : sequence of int, default=(100,)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.models import MLP
    >>> MLP(n_features=4, n_classes=3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_units: Sequence[int] = (100,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = n_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)

    def split_forward(self, layer: str):
        """``(prefix, rest)`` with ``rest(prefix(X)) == self(X)``, cut before
        ``layer`` (e.g. ``"layers.3"``), or ``None``.

        The split protocol of :mod:`sktransfer.prefix`: lets
        :class:`~sktransfer.TransferClassifier` compute frozen layers once.
        """
        head, _, inner = layer.partition(".")
        return split_sequential(self.layers, inner) if head == "layers" else None


class LeNet(nn.Module):
    """LeNet-style CNN for 28x28 single-channel images (MNIST, mapped USPS).

    Two 5x5 convolution blocks (``conv1``, ``conv2``, each followed by batch
    normalisation, ReLU and 2x2 max pooling) and two fully connected layers
    (``fc1``, ``fc2``). With ``freeze_depth`` of
    :class:`~sktransfer.TransferClassifier`, the blocks in forward order are
    ``conv1`` (+ ``bn1``), ``conv2`` (+ ``bn2``), ``fc1``, ``fc2``.

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=1
        Number of input channels.
    channels : tuple of int, default=(32, 64)
        Output channels of the two convolution layers.
    hidden_units : int, default=128
        Width of ``fc1``.
    dropout : float, default=0.0
        Dropout probability before ``fc2``.
    batch_norm : bool, default=True
        Whether each convolution is followed by batch normalisation.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.models import LeNet
    >>> LeNet(n_classes=10)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        n_classes: int = 10,
        in_channels: int = 1,
        channels: tuple[int, int] = (32, 64),
        hidden_units: int = 128,
        dropout: float = 0.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, kernel_size=5, padding=2)
        self.bn1 = nn.BatchNorm2d(c1) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5, padding=2)
        self.bn2 = nn.BatchNorm2d(c2) if batch_norm else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden_units)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_units, n_classes)

    def _stages(self) -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:
        """The forward pass as (first layer, function) stages, in order."""
        return [
            ("conv1", self._conv_block1),
            ("conv2", self._conv_block2),
            ("fc1", self._hidden),
            ("fc2", self._head),
        ]

    def _conv_block1(self, X: torch.Tensor) -> torch.Tensor:
        if X.ndim == 2:  # flat rows, for tools that only take 2-D X
            X = X.view(len(X), self.conv1.in_channels, 28, 28)
        return self.pool(torch.relu(self.bn1(self.conv1(X))))

    def _conv_block2(self, X: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.bn2(self.conv2(X)))).flatten(1)

    def _hidden(self, X: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc1(X))

    def _head(self, X: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(X))

    def features(self, X: torch.Tensor) -> torch.Tensor:
        """Return the flattened output of the convolution blocks."""
        return self._conv_block2(self._conv_block1(X))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self._head(self._hidden(self.features(X)))

    def split_forward(self, layer: str):
        """``(prefix, rest)`` with ``rest(prefix(X)) == self(X)``, cut before
        ``layer`` (``"conv2"``, ``"fc1"`` or ``"fc2"``), or ``None``.

        The split protocol of :mod:`sktransfer.prefix`: lets
        :class:`~sktransfer.TransferClassifier` compute frozen layers once.
        """
        names = [name for name, _ in self._stages()]
        if layer not in names[1:]:
            return None
        cut = names.index(layer)
        stages = [stage for _, stage in self._stages()]
        return _compose(stages[:cut]), _compose(stages[cut:])


def _compose(
    stages: Sequence[Callable[[torch.Tensor], torch.Tensor]],
) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(X: torch.Tensor) -> torch.Tensor:
        for stage in stages:
            X = stage(X)
        return X

    return run
