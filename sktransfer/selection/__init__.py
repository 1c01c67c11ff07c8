"""Choosing how to transfer, automatically: :class:`TransferSelector`."""

from ._selector import TransferSelector

__all__ = ["TransferSelector"]
