"""Preparing a target network (torch only): build, copy weights, freeze, lay out.

``prepare`` returns one immutable :class:`PreparedNetwork`; the training
strategies in :mod:`sktransfer._training` take it from there.
"""

from .preparation import Cut, PreparedNetwork, prepare, trace

__all__ = ["Cut", "PreparedNetwork", "prepare", "trace"]
