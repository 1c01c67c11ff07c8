"""Federated fine-tuning: clients keep their rows, a server averages the
trainable blocks (FedAvg), on Flower's simulation engine.

* ``_classifier.py``: :class:`FederatedTransferClassifier`, the estimator.
* ``_flower.py``: everything that imports ``flwr`` (and ``ray``), imported
  when a fit starts, so that ``sktransfer`` works without the ``federated``
  extra.
* ``_update.py``: one client's update and FedAvg itself, without ``flwr``.
"""

from ._classifier import FederatedTransferClassifier

__all__ = ["FederatedTransferClassifier"]
