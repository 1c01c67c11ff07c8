"""The check for negative transfer: the chosen candidate against a model of
the labelled target rows alone (``TransferSelector(target_only=...)``).

:class:`TransferSelector` runs the cross-validation (it refits the chosen
candidate in each fold); here are the target-only model, the verdict in
words, and what the comparison adds to ``report_``, warning
:class:`NegativeTransferWarning` when the target-only model wins.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


class NegativeTransferWarning(UserWarning):
    """A model trained on the labelled target rows alone beats the transfer.

    Issued by :class:`TransferSelector` with ``target_only=``: the chosen
    candidate and the target-only model are compared by cross-validation on
    the labelled target rows, and the target-only model scored higher on
    average. The source then seems to hurt (negative transfer): the domains
    may be too far apart, or the target labels enough on their own. The
    selector keeps its choice; the fitted target-only model is its
    ``target_only_estimator_``.

    Examples
    --------
    >>> import warnings
    >>> from sktransfer.selection import NegativeTransferWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("the target-only model scores higher",
    ...                   NegativeTransferWarning)
    >>> issubclass(caught[0].category, UserWarning)
    True
    """


#: The name of the target-only model in ``report_``.
TARGET_ONLY = "target only"


def target_only_model(target_only):
    """A fresh target-only model: ``True`` means scaled flat features and a
    ``LogisticRegression``, else a clone of the model given."""
    if target_only is True:
        return make_pipeline(
            FunctionTransformer(_flatten),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )
    return clone(target_only)


def not_compared(n_labelled: int, rarest: int) -> str:
    """The verdict when too few rows are labelled for a 2-fold comparison."""
    return (
        f"not compared with a target-only model: {n_labelled} labelled "
        f"target rows, and the rarest class has {rarest}, too few "
        "for a 2-fold cross-validation"
    )


def cv_verdict(
    folds: int, n_labelled: int, name: str, transferred, alone, model
) -> str:
    """The cross-validated comparison of candidate ``name`` with the
    target-only ``model``, in words."""
    wins = sum(a > t for a, t in zip(alone, transferred, strict=True))
    return (
        f"{folds}-fold cross-validation on the {n_labelled} labelled target "
        f"rows: {name!r} {_mean_std(transferred)}, the target-only model "
        f"({_model_name(model)} on the labelled rows alone) "
        f"{_mean_std(alone)}, better on {wins} of {folds} folds"
    )


@dataclass(frozen=True)
class Comparison:
    """What the comparison gives the selector's fitted attributes: the
    report (with the cross-validated accuracies and a ``target only`` row),
    the verdict, whether the transfer lost, and the target-only model fitted
    on all the labelled rows. All but the report are ``None`` when nothing
    was compared."""

    report: pd.DataFrame
    verdict: str | None = None
    negative: bool | None = None
    estimator: object = None


def compared(report, best, transferred, alone, model, verdict) -> Comparison:
    """``report`` with the cross-validated accuracies and a ``target only``
    row; the verdict, whether the transfer lost, and the fitted model. Warns
    :class:`NegativeTransferWarning` when it lost (called from ``fit``: the
    warning points at the caller of ``fit``)."""
    report["cv_accuracy"] = np.nan
    if transferred is None:
        return Comparison(report, verdict)
    report.loc[report["candidate"] == best, "cv_accuracy"] = np.mean(transferred)
    row = {"candidate": TARGET_ONLY, "trained": True, "selected": False}
    row["cv_accuracy"] = float(np.mean(alone))
    report = pd.concat([report, pd.DataFrame([row])], ignore_index=True)
    negative = bool(np.mean(alone) > np.mean(transferred))
    if negative:
        warnings.warn(
            f"Negative transfer? The model trained on the labelled target rows "
            f"alone scores higher than the chosen transfer ({verdict}). The "
            "source may be too far from the target (another input statistic, a "
            "large domain shift), or the target labels enough on their own: "
            "see 'When transfer is expected to hurt' in the docs (which "
            "method). The selector keeps its choice; the target-only model is "
            "target_only_estimator_.",
            NegativeTransferWarning,
            stacklevel=3,
        )
    return Comparison(
        report,
        verdict + (": transfer hurts here" if negative else ""),
        negative,
        model,
    )


def _mean_std(scores) -> str:
    return f"{np.mean(scores):.3f} ± {np.std(scores):.3f}"


def _model_name(model) -> str:
    final = model[-1] if isinstance(model, Pipeline) else model
    return type(final).__name__


def _flatten(X):
    """Rows as flat feature vectors (images ``(n, C, H, W)`` included)."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(len(X), -1)
