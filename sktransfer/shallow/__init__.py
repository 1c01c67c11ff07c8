"""Shallow transfer for tabular and text features, without a network.

:class:`CORAL` re-colours source rows with the target's covariance;
:class:`SelectivePseudoLabeling` learns from the source rows and a growing set
of confidently pseudo-labelled target rows.
:class:`ImportanceWeightedClassifier` and :class:`ImportanceWeightedRegressor`
re-weight the source rows by the density ratio (KMM, KLIEP or a domain
classifier); :class:`TrAdaBoostClassifier` re-weights them by boosting on a
few labelled target rows; :class:`SubspaceAlignment` and
:class:`TransferComponentAnalysis` map both domains into a space where they
agree. :class:`PreprocessingEnsemble` averages one of them over the
preprocessings that serve the source rows best (chosen by source labels only).
"""

from ._coral import CORAL
from ._importance_weighted import (
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
)
from ._preprocessing_ensemble import PreprocessingEnsemble
from ._pseudo_labeling import SelectivePseudoLabeling
from ._subspace import SubspaceAlignment, TransferComponentAnalysis
from ._tradaboost import TrAdaBoostClassifier

__all__ = [
    "CORAL",
    "ImportanceWeightedClassifier",
    "ImportanceWeightedRegressor",
    "PreprocessingEnsemble",
    "SelectivePseudoLabeling",
    "SubspaceAlignment",
    "TrAdaBoostClassifier",
    "TransferComponentAnalysis",
]
