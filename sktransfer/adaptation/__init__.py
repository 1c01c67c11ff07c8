"""Unsupervised domain adaptation losses, one small class each.

Pass one as ``TransferClassifier(adaptation=...)``; its hyperparameters are
``adaptation__*`` parameters. A new loss subclasses :class:`AdaptationLoss`
and implements ``loss`` (source and target features), or ``batch_loss``
(a :class:`DomainBatch`: logits, labels, the network), and ``build_for`` if
it has trainable parts.
"""

from .base import AdaptationLoss, DomainBatch, TargetPass
from .cdan import CDAN
from .coral import DeepCORAL
from .dann import DANN
from .information import InformationMaximization
from .mcc import MCC
from .mean_teacher import MeanTeacher
from .mmd import MMD
from .shot import SHOT

__all__ = [
    "CDAN",
    "DANN",
    "MCC",
    "MMD",
    "SHOT",
    "AdaptationLoss",
    "DeepCORAL",
    "DomainBatch",
    "InformationMaximization",
    "MeanTeacher",
    "TargetPass",
]
