"""TrAdaBoost: boosting that down-weights the source rows the target disagrees with.

Dai, Yang, Xue and Yu, "Boosting for Transfer Learning", ICML 2007: a few
labelled target rows and many labelled source rows from a related but
different distribution. Each round fits the base classifier on both, weighted;
the error is measured on the target rows only; misclassified target rows gain
weight (as in AdaBoost) and misclassified source rows lose weight (by a fixed
factor, as in weighted majority), so that the source rows that do not agree
with the target task fade out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import positive_int
from ._contract import LabelledScore, Rows, classification_rows
from ._importance import fit_weighted

__all__ = ["TrAdaBoostClassifier"]

_MAX_SEED = np.iinfo(np.int32).max


class TrAdaBoostClassifier(
    LabelledScore, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """TrAdaBoost (Dai et al., 2007), binary and multiclass.

    ``fit(X_target, y_target)`` boosts ``estimator`` on the labelled target
    rows together with the labelled source rows of
    ``source=Source(X=X_source, y=y_source)``. With ``n`` source rows, ``N =
    n_estimators`` rounds and ``K`` classes, round ``t``:

    1. fits a clone of ``estimator`` on the source and labelled target rows
       with their current weights (scaled to average 1);
    2. measures its weighted error ``e_t`` on the labelled *target* rows only,
       clipped to ``[1e-10, (1 - 1/K)(1 - 1e-3)]``, and its vote
       ``a_t = log((1 - e_t) / e_t) + log(K - 1)``;
    3. multiplies the weight of each misclassified target row by
       ``exp(a_t)`` and of each misclassified source row by
       ``beta = 1 / (1 + sqrt(2 ln n / N))``.

    ``predict`` is the ``a_t``-weighted vote of the rounds
    ``ceil(N / 2) .. N`` (the second half, as in the paper). For two classes
    this is Dai et al.'s algorithm (``a_t = log(1 / beta_t)``, ``beta_t = e_t /
    (1 - e_t)``); for more, the target side follows SAMME (Zhu, Zou, Rosset
    and Hastie, "Multi-class AdaBoost", 2009), the ``log(K - 1)`` term,
    which keeps a learner better than chance on the target rows positive.

    Unlabelled target rows (``-1``) are left out: TrAdaBoost needs labelled
    target rows, at least one (a ``ValueError`` otherwise). Without a source
    (``source=None``) it is SAMME on the rows of ``X``, voting with the second
    half of the rounds.

    Parameters
    ----------
    estimator : classifier, default=None
        The base classifier; it must take ``sample_weight`` in ``fit``.
        ``None`` means ``LogisticRegression()``. Cloned for each round; its
        ``random_state``, if it has one, is drawn from ``random_state``.
    source : Source, default=None
        The labelled source rows, ``Source(X=X_source, y=y_source)``, with the
        target's features and labels from the same classes. Kept by
        reference through ``clone``, never modified.
    n_estimators : int, default=10
        The number of boosting rounds ``N``.
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled target row when there is a
        source. ``None``: every row is labelled.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``random_state`` of each round's ``estimator``.

    Attributes
    ----------
    estimators_ : list of classifiers
        The ``n_estimators`` fitted classifiers, one per round.
    estimator_weights_ : ndarray of shape (n_estimators,)
        Their votes ``a_t`` (only the second half vote).
    estimator_errors_ : ndarray of shape (n_estimators,)
        Their weighted errors ``e_t`` on the labelled target rows, before
        clipping.
    source_weights_ : ndarray of shape (n_source_samples,)
        The weights of the source rows after the last round, on the scale
        where all the rows' weights average 1 (empty without a source).
    classes_ : ndarray of shape (n_classes,)
        The class labels, from the source and the labelled target rows.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    Notes
    -----
    Sparse (CSR) rows stay sparse when ``estimator`` takes them.

    See Also
    --------
    ImportanceWeightedClassifier : Re-weights source rows without target labels.

    Examples
    --------
    A source whose concept is tilted against the target's (10 features), and
    30 labelled target rows:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer import Source, TrAdaBoostClassifier
    >>> rng = np.random.RandomState(0)
    >>> w_source = rng.normal(size=10)
    >>> w_target = w_source + rng.normal(scale=0.8, size=10)
    >>> X_source = rng.normal(size=(1000, 10))
    >>> y_source = (X_source @ w_source > 0).astype(int)
    >>> X_target = rng.normal(size=(2030, 10))
    >>> y_target = (X_target @ w_target > 0).astype(int)
    >>> X_few, y_few = X_target[:30], y_target[:30]
    >>> X_test, y_test = X_target[30:], y_target[30:]
    >>> few = LogisticRegression().fit(X_few, y_few)
    >>> both = LogisticRegression().fit(np.vstack([X_source, X_few]),
    ...                                 np.r_[y_source, y_few])
    >>> boost = TrAdaBoostClassifier(source=Source(X=X_source, y=y_source),
    ...                              random_state=0).fit(X_few, y_few)
    >>> print(f"target only {few.score(X_test, y_test):.2f}, "
    ...       f"both {both.score(X_test, y_test):.2f}, "
    ...       f"TrAdaBoost {boost.score(X_test, y_test):.2f}")
    target only 0.84, both 0.88, TrAdaBoost 0.93
    """

    def __init__(
        self,
        estimator=None,
        *,
        source=None,
        n_estimators=10,
        unlabelled=-1,
        random_state=None,
    ):
        self.estimator = estimator
        self.source = source
        self.n_estimators = n_estimators
        self.unlabelled = unlabelled
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = LogisticRegression() if self.estimator is None else self.estimator
        if hasattr(base, "__sklearn_tags__"):  # sparse rows when it takes them
            tags.input_tags.sparse = get_tags(base).input_tags.sparse
        return tags

    def fit(self, X, y, sample_weight=None):
        """Boost ``estimator`` on the source and labelled target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows.
        y : array-like of shape (n_samples,)
            Target labels; ``unlabelled`` (``-1``) marks the rows without one
            (left out) when there is a source.
        sample_weight : array-like of shape (n_samples,), default=None
            The initial weights of the target rows (the source rows start at
            1).

        Returns
        -------
        self : TrAdaBoostClassifier
            The fitted estimator.
        """
        n_rounds = positive_int(self.n_estimators, "n_estimators")
        rows = classification_rows(
            self, X, y, sample_weight, unlabelled=self.unlabelled, accept_sparse="csr"
        )
        self._check_labelled_target(rows)
        encoder = LabelEncoder().fit(rows.y_labelled)
        self.classes_ = encoder.classes_
        self._check_two_classes()
        X_all, codes = rows.X_labelled, encoder.transform(rows.y_labelled)
        weights = _BoostingWeights.start(rows, n_rounds, len(self.classes_))
        rng = check_random_state(self.random_state)
        base = LogisticRegression() if self.estimator is None else self.estimator
        self.estimators_, votes, errors = [], [], []
        for _ in range(n_rounds):
            model = _seeded(clone(base), rng)
            fit_weighted(model, X_all, codes, weights.scaled(), "estimator")
            error, vote = weights.update(model.predict(X_all) != codes)
            self.estimators_.append(model)
            votes.append(vote)
            errors.append(error)
        self.estimator_weights_ = np.array(votes)
        self.estimator_errors_ = np.array(errors)
        self.source_weights_ = weights.scaled()[: rows.X_source.shape[0]]
        return self

    def _check_labelled_target(self, rows: Rows) -> None:
        """Each round's error is measured on the labelled target rows: there
        must be some, with some weight."""
        if not len(rows.y):
            raise ValueError(
                "TrAdaBoostClassifier needs labelled target rows (it measures "
                "each round's error on them), but every row of y is marked "
                f"unlabelled ({self.unlabelled!r}). Without target labels, "
                "use ImportanceWeightedClassifier."
            )
        if rows.sample_weight[rows.labelled].sum() <= 0:
            raise ValueError("The labelled target rows all have sample_weight 0.")

    def _check_two_classes(self) -> None:
        if len(self.classes_) < 2:
            raise ValueError(
                "TrAdaBoostClassifier needs at least 2 classes, got 1 class: "
                f"{self.classes_[0]!r}."
            )

    def _votes(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, accept_sparse="csr")
        n_rounds = len(self.estimators_)
        start = int(np.ceil(n_rounds / 2)) - 1
        votes = np.zeros((X.shape[0], len(self.classes_)))
        rows = np.arange(X.shape[0])
        for model, vote in zip(
            self.estimators_[start:], self.estimator_weights_[start:], strict=True
        ):
            votes[rows, model.predict(X).astype(int)] += vote
        return votes

    def predict_proba(self, X):
        """The share of the weighted vote each class gets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For each class, the sum of the votes ``a_t`` of the voting rounds
            that predict it, divided by the sum of their votes.
        """
        votes = self._votes(X)
        return votes / votes.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of the largest weighted vote.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        votes = self._votes(X)
        return self.classes_[votes.argmax(axis=1)]


def _seeded(model, rng: np.random.RandomState):
    """``model`` with its ``random_state``, if it has one, drawn from ``rng``:
    each round's estimator differs, and the whole fit is reproducible."""
    if "random_state" in model.get_params():
        model.set_params(random_state=rng.randint(_MAX_SEED))
    return model


@dataclass
class _BoostingWeights:
    """The weights of the source rows, then the labelled target rows, and
    how a round changes them: Dai et al.'s update for the source rows,
    SAMME's vote for the target rows."""

    weights: np.ndarray
    is_target: np.ndarray  # mask: the labelled target rows
    beta: float  # factor of a misclassified source row
    ceiling: float  # the highest error a vote is computed from
    n_classes: int

    @classmethod
    def start(cls, rows: Rows, n_rounds: int, n_classes: int) -> _BoostingWeights:
        """The first round's weights: 1 per source row, ``sample_weight`` per
        labelled target row."""
        n_source = rows.X_source.shape[0]
        is_target = np.r_[np.zeros(n_source, bool), np.ones(len(rows.y), bool)]
        beta = 1.0
        if n_source > 1:
            beta = 1.0 / (1.0 + np.sqrt(2.0 * np.log(n_source) / n_rounds))
        # Just below chance, so that the vote of a round stays finite.
        ceiling = (1.0 - 1.0 / n_classes) * (1.0 - 1e-3)
        return cls(rows.weights_labelled(), is_target, beta, ceiling, n_classes)

    def scaled(self) -> np.ndarray:
        """The weights scaled to average 1 (what an estimator is fitted with)."""
        return self.weights * (len(self.weights) / self.weights.sum())

    def update(self, missed: np.ndarray) -> tuple[float, float]:
        """The round's error on the target rows and its vote, given the rows
        it ``missed``; the missed rows re-weighted, then all normalised."""
        t_weights = self.weights[self.is_target]
        error = float(t_weights @ missed[self.is_target] / t_weights.sum())
        clipped = min(max(error, 1e-10), self.ceiling)
        vote = np.log((1.0 - clipped) / clipped) + np.log(self.n_classes - 1.0)
        update = np.where(self.is_target, np.exp(vote), self.beta)
        weights = np.where(missed, self.weights * update, self.weights)
        self.weights = weights / weights.sum()
        return error, vote
