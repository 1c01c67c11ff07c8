"""sktransfer: transfer learning for people who live in scikit-learn."""

from . import prefix as prefix  # `sktransfer.prefix.clear_cache()` works at once
from .classifier import TransferClassifier
from .datasets import get_data_home, load_mnist, load_office_caltech10, load_usps
from .features import FeatureTransferTransformer
from .federated import FederatedTransferClassifier
from .metrics import information_maximization_score, prediction_entropy_score
from .preprocessing import ImageMapping
from .regressor import TransferRegressor
from .selection import NegativeTransferWarning, TransferSelector
from .shallow import (
    CORAL,
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
    PreprocessingEnsemble,
    SelectivePseudoLabeling,
    SubspaceAlignment,
    TrAdaBoostClassifier,
    TransferComponentAnalysis,
)
from .source import Source

__all__ = [
    "CORAL",
    "FederatedTransferClassifier",
    "FeatureTransferTransformer",
    "ImageMapping",
    "ImportanceWeightedClassifier",
    "ImportanceWeightedRegressor",
    "NegativeTransferWarning",
    "PreprocessingEnsemble",
    "SelectivePseudoLabeling",
    "Source",
    "SubspaceAlignment",
    "TrAdaBoostClassifier",
    "TransferClassifier",
    "TransferComponentAnalysis",
    "TransferRegressor",
    "TransferSelector",
    "get_data_home",
    "information_maximization_score",
    "load_mnist",
    "load_office_caltech10",
    "load_usps",
    "prediction_entropy_score",
]
__version__ = "0.1.0.dev0"
