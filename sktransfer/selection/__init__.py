"""Choosing how to transfer, automatically: :class:`TransferSelector`."""

from ._selector import TransferSelector
from ._target_only import NegativeTransferWarning

__all__ = ["NegativeTransferWarning", "TransferSelector"]
