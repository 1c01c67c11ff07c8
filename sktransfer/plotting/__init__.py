"""Plotting displays in scikit-learn's style (``pip install 'sktransfer[plot]'``).

Each display computes its data in a ``from_*`` class method and draws it with
``plot(ax=None)``, keeping the axes, figure and artists in attributes ending
in ``_``, like :class:`sklearn.metrics.RocCurveDisplay`. matplotlib is only
imported when something is drawn.

- :class:`DomainGapDisplay`: source and target features in two dimensions;
- :class:`TrainingCurvesDisplay`: the loss terms of a fit, per epoch;
- :class:`TransferCurveDisplay`: target accuracy against labels per class;
- :class:`TransferReportDisplay`: the state of each block of the network.
"""

from ._domain_gap import DomainGapDisplay
from ._training_curves import TrainingCurvesDisplay
from ._transfer_curve import TransferCurveDisplay
from ._transfer_report import TransferReportDisplay

__all__ = [
    "DomainGapDisplay",
    "TrainingCurvesDisplay",
    "TransferCurveDisplay",
    "TransferReportDisplay",
]
