"""Unsupervised domain adaptation losses, one small class each.

Pass one as ``TransferClassifier(adaptation=...)``; its hyperparameters are
``adaptation__*`` parameters. A new loss subclasses :class:`AdaptationLoss`
and implements ``loss`` (source and target features), or ``batch_loss``
(a :class:`DomainBatch`: logits, labels, the network), and ``build_for`` if
it has trainable parts.
"""

from .base import AdaptationLoss, DomainBatch
from .cdan import CDAN
from .coral import DeepCORAL
from .dann import DANN
from .information import InformationMaximization
from .mcc import MCC
from .mean_teacher import MeanTeacher
from .mmd import MMD

__all__ = [
    "CDAN",
    "DANN",
    "MCC",
    "MMD",
    "AdaptationLoss",
    "DeepCORAL",
    "DomainBatch",
    "InformationMaximization",
    "MeanTeacher",
]
