"""Scorers: the metrics, computed from a fitted estimator the way
``GridSearchCV(scoring=...)`` and :class:`~sktransfer.TransferSelector` call
them, ``scorer(estimator, X, y=None) -> float`` (greater is better).

* Transferability scorers rank candidates **before training**: they score the
  representation a new head learns from (a network's penultimate features, or
  what a feature transformer returns), or the one fine-tuning keeps fixed,
  against the target labels, or the source model's predictions on the target
  rows.
* Label-free scorers compare **trained** candidates on unlabelled target rows:
  from the target predictions alone (soft neighbourhood density, information
  maximisation, entropy), or with labelled source rows held out from training
  (deep embedded validation, importance-weighted accuracy, reverse
  validation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._logme import log_me
from ._prediction_scores import (
    mutual_information,
    neg_entropy,
    soft_neighborhood_density,
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
    "h_score_scorer",
    "information_maximization_score",
    "leep_scorer",
    "log_me_scorer",
    "nce_scorer",
    "prediction_entropy_score",
    "soft_neighborhood_density_score",
]


# -- what a scorer reads from an estimator --------------------------------------


def head_input(estimator, X) -> np.ndarray:
    """The representation a new head learns from, for each row of ``X``.

    A transformer (e.g. :class:`~sktransfer.FeatureTransferTransformer`): its
    output; a Pipeline ending in a model: what its steps before the model
    return. A fitted :class:`~sktransfer.TransferClassifier` or
    :class:`~sktransfer.TransferRegressor`: the output of the block before its
    head, the pretrained network's penultimate features, which is how LogME,
    H-score and their benchmarks rank a model to fine-tune; ``X`` itself for a
    network of one block.
    """
    if not hasattr(estimator, "module_"):
        return fixed_representation(estimator, X)
    X = np.asarray(X, dtype=np.float32)
    if len(estimator.blocks_) < 2:
        return X.reshape(len(X), -1)
    return layer_output(estimator.module_, X, len(estimator.blocks_) - 2)


def fixed_representation(estimator, X) -> np.ndarray:
    """The representation ``estimator`` keeps fixed, for each row of ``X``.

    A transformer or a Pipeline: as :func:`head_input`. A fitted
    :class:`~sktransfer.TransferClassifier` or
    :class:`~sktransfer.TransferRegressor`: the output of its last frozen
    block (the input of the first block fine-tuning changes), or ``X`` itself
    when nothing is frozen.
    """
    if hasattr(estimator, "transform"):
        return np.asarray(estimator.transform(X)).reshape(len(X), -1)
    if isinstance(estimator, Pipeline):  # a transformer, then a model on it
        head = estimator[:-1]
        return np.asarray(head.transform(X) if len(head) else X).reshape(len(X), -1)
    check_is_fitted(estimator, "module_")
    X = np.asarray(X, dtype=np.float32)
    frozen = estimator.transfer_report_.query("not trainable")
    if frozen.empty:
        return X.reshape(len(X), -1)
    last = frozen["layer"].iloc[-1]
    block = estimator.blocks_.index(last)
    return layer_output(estimator.module_, X, block)


def layer_output(module: torch.nn.Module, X, layer: int | str) -> np.ndarray:
    """The flattened output of ``layer`` (block index or module name)."""
    from ..features import FeatureTransferTransformer

    return FeatureTransferTransformer(module, layer=layer).fit(X).transform(X)


def source_proba(estimator, X) -> np.ndarray:
    """The *source* model's class probabilities on ``X``: the softmax of the
    network ``estimator.source`` resolves to, or ``estimator.predict_proba``
    for a plain fitted classifier."""
    if hasattr(estimator, "source"):
        from ..source import resolve_source

        source = resolve_source(estimator.source)
        if source is None or source.module is None:
            raise ValueError(
                "This scorer needs the source network's predictions; the "
                "estimator's source holds no network."
            )
        logits = layer_output(source.module, np.asarray(X, dtype=np.float32), -1)
        return torch.softmax(torch.as_tensor(logits, dtype=torch.float64), 1).numpy()
    return np.asarray(
        predicted_proba(
            estimator, X, "A scorer of the source's predictions (leep, nce)"
        ),
        dtype=np.float64,
    )


def predicted_proba(estimator, X, scorer: str) -> np.ndarray:
    """``estimator.predict_proba(X)``, or a clear error naming ``scorer``
    when the estimator has none (a regressor, an ``SVC`` without
    ``probability=True``, a Pipeline ending in one)."""
    check_has_proba(estimator, scorer)
    return estimator.predict_proba(X)


def check_has_proba(estimator, scorer: str) -> None:
    """Refuse, naming ``scorer``, an estimator without ``predict_proba``."""
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{scorer} reads the estimator's class probabilities, but "
            f"{type(estimator).__name__} has no predict_proba: give it a "
            "fitted classifier that has one (e.g. TransferClassifier, "
            "LogisticRegression, SVC(probability=True))."
        )


# -- transferability ------------------------------------------------------------


_USES = {
    "features": head_input,
    "frozen_features": fixed_representation,
    "source_proba": source_proba,
}


class TransferabilityScorer:
    """A transferability score as a scikit-learn scorer.

    Parameters
    ----------
    score_func : callable
        ``score_func(values, y) -> float``, greater is better.
    uses : {"features", "frozen_features", "source_proba"}, default="features"
        What ``values`` are.

        - ``"features"``: what a new head learns from: a transformer's
          output, a Pipeline's steps before its model, or a network's
          penultimate block output, as in the LogME and H-score papers. Every
          freeze depth of one source network gets the same score: it ranks
          sources, layers and feature pipelines, not freeze depths.
        - ``"frozen_features"``: what fine-tuning keeps fixed: a network's
          last frozen block output, its input when nothing is frozen. It
          tells freeze depths apart, but under-rates full fine-tuning (raw
          inputs score low, yet fine-tuning them from pretrained weights
          works well), so use it to compare freeze depths among themselves.
        - ``"source_proba"``: the source model's class probabilities on the
          target rows (LEEP, NCE).

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import FeatureTransferTransformer
    >>> from sktransfer.metrics import log_me_scorer
    >>> from sktransfer.models import MLP
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> features = FeatureTransferTransformer(MLP(4, 2), layer=0).fit(X)
    >>> bool(np.isfinite(log_me_scorer(features, X, y)))
    True
    """

    def __init__(
        self, score_func: Callable[[np.ndarray, np.ndarray], float], uses="features"
    ):
        if uses not in _USES:
            raise ValueError(f"uses must be one of {sorted(_USES)}; got {uses!r}.")
        self.score_func = score_func
        self.uses = uses

    def __call__(self, estimator, X, y=None) -> float:
        if y is None:
            raise ValueError(
                f"{self!r} needs target labels; without them use a label-free "
                "scorer (e.g. soft_neighborhood_density_score)."
            )
        values = _USES[self.uses](estimator, X)
        return float(self.score_func(values, column_or_1d(y)))

    def __repr__(self) -> str:
        name = f"{getattr(self.score_func, '__name__', 'score')}_scorer"
        if self.uses == "frozen_features":
            return f"{name}(uses='frozen_features')"
        return name


def _nce_of_proba(source_proba: np.ndarray, y) -> float:
    return nce(np.argmax(source_proba, axis=1), y)


_nce_of_proba.__name__ = "nce"

log_me_scorer = TransferabilityScorer(log_me)
h_score_scorer = TransferabilityScorer(h_score)
leep_scorer = TransferabilityScorer(leep, uses="source_proba")
nce_scorer = TransferabilityScorer(_nce_of_proba, uses="source_proba")


# -- label-free -------------------------------------------------------------------


def soft_neighborhood_density_score(estimator, X, y=None) -> float:
    """Soft neighbourhood density of the target predictions (Saito et al.,
    ICCV 2021): high when predictions form dense, well-separated clusters.

    Compares settings of one model on the same unlabelled target rows; ``y``
    is ignored. Greater is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.metrics import soft_neighborhood_density_score
    >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]; y = [0] * 5 + [1] * 5
    >>> clf = LogisticRegression().fit(X, y)
    >>> bool(np.isfinite(soft_neighborhood_density_score(clf, X)))
    True
    """
    return soft_neighborhood_density(
        predicted_proba(estimator, X, "soft_neighborhood_density_score")
    )


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
    return neg_entropy(predicted_proba(estimator, X, "prediction_entropy_score"))


def information_maximization_score(estimator, X, y=None) -> float:
    """Mutual information between inputs and predicted labels (IM score).

    ``H(mean_i p_i) - mean_i H(p_i)``: high when each prediction is confident
    and the predictions are spread over the classes, as in the information
    maximisation objective of SHOT (Liang et al., ICML 2020). At most
    ``log(n_classes)``. It is what the information-maximisation loss
    optimises, so it always prefers that loss: it compares settings of one
    loss, not methods.

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
    return mutual_information(
        predicted_proba(estimator, X, "information_maximization_score")
    )


class _SourceValidation:
    """Base of the scorers that use labelled source rows held out from training.

    Parameters
    ----------
    X_source, y_source : array-like
        Labelled source rows the candidates were **not** trained on (split
        them off before building the ``Source``).
    layer : int or str, default=-2
        The layer whose output the domain classifier (importance weights) and
        the reverse classifier see.
    random_state : int, default=0
        Seeds the cross-fitted domain classifier.
    """

    def __init__(self, X_source, y_source, *, layer=-2, random_state=0):
        self.X_source = X_source
        self.y_source = y_source
        self.layer = layer
        self.random_state = random_state

    def _data(self, X):
        X_s = check_array(
            self.X_source, allow_nd=True, dtype=np.float32, input_name="X_source"
        )
        y_s = column_or_1d(self.y_source)
        if len(X_s) != len(y_s):
            raise ValueError(
                f"X_source has {len(X_s)} rows but y_source has {len(y_s)}."
            )
        return X_s, y_s, np.asarray(X, dtype=np.float32)

    def _features(self, estimator, X_s, X_t):
        check_is_fitted(estimator, "module_")
        return (
            layer_output(estimator.module_, X_s, self.layer),
            layer_output(estimator.module_, X_t, self.layer),
        )

    def _weights(self, f_s, f_t):
        return importance_weights(f_s, f_t, random_state=self.random_state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self.y_source)} source rows>)"


class DeepEmbeddedValidation(_SourceValidation):
    """Deep embedded validation (You et al., ICML 2019) as a scorer.

    The importance-weighted cross-entropy of the candidate on held-out
    labelled source rows, with a control variate; weights from a domain
    classifier on ``layer``'s output (source rows vs the target rows scored).
    Returns the negative risk: greater is better. Can compare different
    adaptation methods; costs one domain classifier per call.
    """

    def __call__(self, estimator, X, y=None) -> float:
        check_has_proba(estimator, "DeepEmbeddedValidation")  # before any work
        X_s, y_s, X_t = self._data(X)
        f_s, f_t = self._features(estimator, X_s, X_t)
        proba = estimator.predict_proba(X_s)
        column = np.searchsorted(estimator.classes_, y_s)
        if not np.isin(y_s, estimator.classes_).all():
            raise ValueError("y_source has labels the estimator does not know.")
        loss = -np.log(np.clip(proba[np.arange(len(y_s)), column], 1e-12, None))
        # Raw ratios: normalised to mean 1, the control variate would vanish.
        weights = importance_weights(
            f_s, f_t, random_state=self.random_state, normalize=False
        )
        return deep_embedded_validation(loss, weights)


class ImportanceWeightedAccuracy(_SourceValidation):
    """Importance-weighted accuracy on held-out labelled source rows
    (Sugiyama et al., JMLR 2007) as a scorer; greater is better."""

    def __call__(self, estimator, X, y=None) -> float:
        X_s, y_s, X_t = self._data(X)
        f_s, f_t = self._features(estimator, X_s, X_t)
        weights = self._weights(f_s, f_t)
        return importance_weighted_accuracy(estimator.predict(X_s), y_s, weights)


class ReverseValidation(_SourceValidation):
    """Reverse validation (Ganin et al., JMLR 2016) as a scorer: a linear
    classifier learnt from the candidate's target pseudo-labels on
    ``layer``'s output, scored on held-out labelled source rows."""

    def __call__(self, estimator, X, y=None) -> float:
        X_s, y_s, X_t = self._data(X)
        f_s, f_t = self._features(estimator, X_s, X_t)
        pseudo = estimator.predict(X_t)
        # The training-source arguments declare the class set: every class the
        # estimator predicts, even one missing from the held-out rows.
        classes = np.asarray(estimator.classes_)
        declared = np.repeat(f_s[:1], len(classes), axis=0)
        return reverse_validation_score(
            declared, classes, f_s, y_s, f_t, pseudo, random_state=self.random_state
        )
