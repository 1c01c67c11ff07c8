"""Choosing how to transfer, automatically: :class:`TransferSelector`."""

from ._selector import NegativeTransferWarning, TransferSelector

__all__ = ["NegativeTransferWarning", "TransferSelector"]
