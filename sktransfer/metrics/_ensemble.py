"""Ensemble agreement (EnsV): a label-free score that compares trained
candidates with each other instead of with a proxy of the target risk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._array_checks import _check_proba

__all__ = ["ensemble_agreement"]


def ensemble_agreement(candidate_probas: Sequence[Any]) -> np.ndarray:
    """Each candidate's agreement with the ensemble of all candidates.

    The ensemble's prediction for a row is the class with the highest mean
    probability over the candidates; a candidate's score is the fraction of
    rows on which its own prediction is that class (EnsV).

    Parameters
    ----------
    candidate_probas : sequence of array-like of shape (n_target, n_classes)
        One matrix of class probabilities per trained candidate, on the same
        unlabelled target rows and with the same class order.

    Returns
    -------
    agreement : ndarray of shape (n_candidates,)
        In ``[0, 1]``, one per candidate. Greater is better.

    Notes
    -----
    Unlike the information-maximisation or entropy scores, it does not
    prefer a loss for what that loss optimises, so it can compare methods
    (a candidate without adaptation included). Hu et al. show that it
    avoids picking the worst candidate, which every other score they study
    sometimes picks: a candidate that disagrees with a majority of
    reasonable ones is the first to lose. It measures consensus, not
    accuracy: if most candidates share a mistake, it prefers that mistake,
    so the candidate set should not be dominated by variants of one bad
    setting. It costs nothing beyond each candidate's predictions.

    References
    ----------
    D. Hu, R. Luo, J. Liang, C.-S. Foo, "Towards Reliable Model Selection
    for Unsupervised Domain Adaptation: An Empirical Study and A Certified
    Baseline", NeurIPS 2024 Datasets and Benchmarks.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.metrics import ensemble_agreement
    >>> a = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    >>> b = np.array([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8]])
    >>> c = np.array([[0.4, 0.6], [0.3, 0.7], [0.1, 0.9]])  # the odd one out
    >>> ensemble_agreement([a, b, c]).round(3).tolist()
    [1.0, 1.0, 0.333]
    """
    if isinstance(candidate_probas, np.ndarray) and candidate_probas.ndim == 2:
        raise ValueError(
            "candidate_probas must hold one probability matrix per candidate; "
            "got a single 2-D array."
        )
    probas = [
        _check_proba(p, f"candidate_probas[{i}]")
        for i, p in enumerate(candidate_probas)
    ]
    if not probas:
        raise ValueError("candidate_probas is empty: give at least one candidate.")
    shapes = {p.shape for p in probas}
    if len(shapes) > 1:
        raise ValueError(
            "Every candidate's probabilities must have the same shape (same "
            f"rows, same classes); got shapes {sorted(shapes)}."
        )
    vote = np.mean(probas, axis=0).argmax(axis=1)
    return np.array([np.mean(p.argmax(axis=1) == vote) for p in probas])
