"""Scores for choosing how to transfer.

Label-free scores (:func:`information_maximization_score`,
:func:`prediction_entropy_score`) are scikit-learn scorers,
``score(estimator, X, y=None) -> float``, greater is better, for
``GridSearchCV(scoring=...)`` on unlabelled target rows.
"""

from ._label_free import information_maximization_score, prediction_entropy_score

__all__ = ["information_maximization_score", "prediction_entropy_score"]
