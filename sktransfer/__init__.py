"""sktransfer: transfer learning for people who live in scikit-learn."""

from .classifier import TransferClassifier

__all__ = ["TransferClassifier"]
__version__ = "0.1.0.dev0"
