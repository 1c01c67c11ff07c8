"""Label-free scores: choosing how to transfer without target labels.

Each is a scikit-learn scorer: ``score(estimator, X, y=None) -> float``,
higher is better, so it goes straight into ``GridSearchCV(scoring=...)`` or
``cross_val_score(scoring=...)`` on unlabelled target data (``y`` all ``-1``
is ignored).
"""

from __future__ import annotations

import numpy as np


def _entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=-1)


def prediction_entropy_score(estimator, X, y=None) -> float:
    """Negative mean entropy of the predicted class probabilities.

    Confident predictions on the target score high. On its own it also
    rewards a model that puts every sample in one class; prefer
    :func:`information_maximization_score` to compare models.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.metrics import prediction_entropy_score
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]]); y = [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> prediction_entropy_score(clf, X) < 0
    True
    """
    return float(-_entropy(estimator.predict_proba(X)).mean())


def information_maximization_score(estimator, X, y=None) -> float:
    """Mutual information between inputs and predicted labels (IM score).

    ``H(mean_i p_i) - mean_i H(p_i)``: high when each prediction is confident
    and the predictions are spread over the classes, as in the information
    maximisation objective of SHOT (Liang et al., ICML 2020). At most
    ``log(n_classes)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.metrics import information_maximization_score
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]]); y = [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> bool(0 < information_maximization_score(clf, X) <= np.log(2))
    True
    """
    proba = estimator.predict_proba(X)
    return float(_entropy(proba.mean(axis=0)) - _entropy(proba).mean())
