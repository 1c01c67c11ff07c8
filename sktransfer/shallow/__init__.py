"""Shallow transfer for tabular and text features, without a network.

:class:`CORAL` re-colours source rows with the target's covariance;
:class:`SelectivePseudoLabeling` learns from the source rows and a growing set
of confidently pseudo-labelled target rows.
"""

from ._coral import CORAL
from ._pseudo_labeling import SelectivePseudoLabeling

__all__ = ["CORAL", "SelectivePseudoLabeling"]
