"""sktransfer: transfer learning for people who live in scikit-learn."""

from .classifier import TransferClassifier
from .datasets import get_data_home, load_mnist, load_office_caltech10, load_usps
from .features import FeatureTransferTransformer
from .preprocessing import ImageMapping

__all__ = [
    "FeatureTransferTransformer",
    "ImageMapping",
    "TransferClassifier",
    "get_data_home",
    "load_mnist",
    "load_office_caltech10",
    "load_usps",
]
__version__ = "0.1.0.dev0"
