"""Ranking the candidates before training: what a transferability score
looks at (:func:`untrained`), and the order of the ranked candidates (best
score first; ties broken by fewer trainable parameters)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline


def untrained(candidate):
    """What a transferability score looks at, before any training: a clone
    that only prepares (``max_epochs=0``) where the candidate trains a
    network, a Pipeline's steps before its model (the model is not fitted),
    a transformer itself; ``None`` for a plain model (nothing to look at
    before it is trained)."""
    estimator = clone(candidate)
    if isinstance(estimator, Pipeline) and len(estimator) > 1:
        return estimator[:-1]
    if "max_epochs" in estimator.get_params():
        return estimator.set_params(max_epochs=0)
    return estimator if hasattr(estimator, "transform") else None


def trainable_parameters(prepared) -> float:
    """How many values training changes in a prepared network (NaN if none)."""
    module = getattr(prepared, "module_", None)
    if module is None:
        return np.nan
    return float(sum(p.numel() for p in module.parameters() if p.requires_grad))


def rank_key(row: dict) -> tuple[float, float]:
    """Best score first; among equal scores (to 10 digits), fewest trainable
    parameters first; candidates without a count after those with one."""
    score = float(f"{row['transferability']:.10g}")
    count = row["trainable_parameters"]
    return (
        -score if np.isfinite(score) else np.inf,
        np.inf if np.isnan(count) else count,
    )
