"""Scores for choosing how to transfer, as functions and as scorers.

* Transferability (:func:`log_me`, :func:`h_score`, :func:`leep`, :func:`nce`)
  scores a pretrained model's features or predictions on labelled target
  rows, before any fine-tuning; the ``*_scorer`` objects compute them from a
  candidate estimator (``GridSearchCV(scoring=log_me_scorer)`` ranks layers or
  freeze depths without training).
* Label-free validation scores compare *trained* candidates on unlabelled
  target rows: from the predictions alone
  (:func:`soft_neighborhood_density_score`,
  :func:`information_maximization_score`, :func:`prediction_entropy_score`)
  or with labelled source rows held out from training
  (:class:`DeepEmbeddedValidation`, :class:`ImportanceWeightedAccuracy`,
  :class:`ReverseValidation`), or against each other
  (:func:`ensemble_agreement`, which needs every candidate's predictions:
  ``TransferSelector(label_free_scoring="ensemble")``). The plain array
  functions are here too.
* Domain-gap metrics (:func:`proxy_a_distance`, :func:`mmd`,
  :func:`coral_distance`) measure how far apart unlabelled source and target
  rows are; unlike the scores, for these greater means a larger gap.

Every score and scorer is greater-is-better and keeps no state.
"""

from ._domain_gap import coral_distance, mmd, proxy_a_distance
from ._ensemble import ensemble_agreement
from ._logme import log_me
from ._prediction_scores import (
    mutual_information,
    neg_entropy,
    soft_neighborhood_density,
)
from ._scorers import (
    DeepEmbeddedValidation,
    ImportanceWeightedAccuracy,
    ReverseValidation,
    TransferabilityScorer,
    h_score_scorer,
    information_maximization_score,
    leep_scorer,
    log_me_scorer,
    nce_scorer,
    prediction_entropy_score,
    soft_neighborhood_density_score,
)
from ._source_scores import (
    deep_embedded_validation,
    importance_weighted_accuracy,
    importance_weights,
    reverse_validation_score,
)
from ._transferability import h_score, leep, nce

__all__ = [
    "DeepEmbeddedValidation",
    "ImportanceWeightedAccuracy",
    "ReverseValidation",
    "TransferabilityScorer",
    "coral_distance",
    "deep_embedded_validation",
    "ensemble_agreement",
    "h_score",
    "h_score_scorer",
    "importance_weighted_accuracy",
    "importance_weights",
    "information_maximization_score",
    "leep",
    "leep_scorer",
    "log_me",
    "log_me_scorer",
    "mmd",
    "mutual_information",
    "neg_entropy",
    "nce",
    "nce_scorer",
    "prediction_entropy_score",
    "proxy_a_distance",
    "reverse_validation_score",
    "soft_neighborhood_density",
    "soft_neighborhood_density_score",
]
