"""An ensemble of one shallow transfer estimator over several preprocessings,
its members chosen by how well each preprocessing serves the *source* rows.

Which preprocessing of count features (z-scores, square roots, histograms)
suits a shallow method changes from task to task, and target labels cannot
tell. :class:`PreprocessingEnsemble` scores every candidate preprocessing by
cross-validation on the labelled source rows only, keeps those the source
cannot tell apart from the best (within one binomial standard error), fits
one copy of the estimator on each kept preprocessing (each domain
preprocessed with its own statistics) and averages their probabilities.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..source import Source
from ._contract import LabelledScore, classification_rows
from ._pseudo_labeling import SelectivePseudoLabeling

__all__ = ["PreprocessingEnsemble"]

MEMBER_RULES = ("one_se", "best", "all")


def _histogram(X: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows summing to 0 stay 0)."""
    total = X.sum(axis=1, keepdims=True)
    return np.divide(X, total, out=np.zeros_like(X), where=total != 0)


def default_preprocessings() -> dict[str, object]:
    """The four preprocessings of non-negative counts behind the
    Office-Caltech10 recipe (``benchmarks/shallow.py``), in its order (the
    first wins ties)."""
    return {
        "z-score": StandardScaler(),
        "counts": FunctionTransformer(),  # SPL L2-normalises them itself
        "histogram then z-score": make_pipeline(
            FunctionTransformer(_histogram), StandardScaler()
        ),
        "square root": FunctionTransformer(np.sqrt),
    }


class _CosineNearestMean(ClassifierMixin, BaseEstimator):
    """Nearest class mean by cosine on L2-normalised rows (SPL's first-step
    classifier); the default source scorer's last step."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        means = np.vstack([X[y == c].mean(axis=0) for c in self.classes_])
        self.means_ = means / np.maximum(
            np.linalg.norm(means, axis=1, keepdims=True), 1e-12
        )
        return self

    def predict(self, X):
        return self.classes_[(X @ self.means_.T).argmax(axis=1)]


class _CappedPCA(PCA):
    """PCA with at most ``n_components`` and fewer when the rows are fewer."""

    def fit(self, X, y=None):
        return self._capped(PCA.fit, X, y)

    def fit_transform(self, X, y=None):
        return self._capped(PCA.fit_transform, X, y)

    def _capped(self, method, X, y):
        wanted = self.n_components
        self.n_components = min(wanted, X.shape[0] - 1, X.shape[1])
        try:
            return method(self, X, y)
        finally:
            self.n_components = wanted


def default_source_scorer() -> object:
    """L2, PCA (128 components), L2, nearest class mean by cosine: SPL's own
    first step, which is what the recipe scores each preprocessing by."""
    return make_pipeline(
        Normalizer(),
        _CappedPCA(128, svd_solver="full"),
        Normalizer(),
        _CosineNearestMean(),
    )


class PreprocessingEnsemble(LabelledScore, ClassifierMixin, BaseEstimator):
    """One shallow transfer estimator over several preprocessings, averaged.

    Each candidate preprocessing is scored by ``cv``-fold cross-validated
    accuracy of ``source_scorer`` on the labelled **source** rows (no target
    label is read). The members are chosen by ``members``; one clone of
    ``estimator`` is fitted per member, on the source rows preprocessed with
    the source's own statistics (``source=`` of the clone) and the target
    rows preprocessed with the target's. ``predict_proba`` averages the
    members' probabilities with equal weights.

    Parameters
    ----------
    estimator : estimator, default=None
        A classifier taking ``source=Source(X=..., y=...)`` and
        ``fit(X_target, y_target)``; ``None``: :class:`SelectivePseudoLabeling`.
    preprocessings : dict of str to transformer, default=None
        The candidates, each a scikit-learn transformer fitted once per
        domain. ``None``: z-score, the counts as they are, histogram then
        z-score, square root (for non-negative counts, e.g. bag-of-words or
        SURF histograms; the first wins ties).
    source : Source
        The labelled source rows, ``Source(X=X_source, y=y_source)``.
    members : {"one_se", "best", "all"}, default="one_se"
        ``"one_se"``: every preprocessing whose source accuracy ``a`` is at
        least ``best - sqrt(best (1 - best) / n_source)`` (the source cannot
        tell them apart); ``"best"``: the best alone; ``"all"``: every one.
    source_scorer : classifier, default=None
        What each preprocessing is scored with on the source rows; ``None``:
        L2, PCA (up to 128 components), L2, then the nearest class mean by
        cosine (SPL's own first step).
    cv : int, default=5
        Folds of the source cross-validation (stratified, shuffled with
        ``random_state``).
    unlabelled : int, str or None, default=-1
        Marker of unlabelled target rows; given to each member that has an
        ``unlabelled`` parameter.
    random_state : int or None, default=0
        Seed of the source folds.

    Attributes
    ----------
    source_scores_ : dict of str to float
        Source cross-validated accuracy of each preprocessing.
    members_ : list of str
        The preprocessings in the ensemble.
    estimators_ : dict of str to estimator
        The fitted member of each preprocessing in ``members_``.
    preprocessors_ : dict of str to transformer
        Each member's preprocessing fitted on the target rows (what
        ``predict`` applies).
    classes_ : ndarray
        The class labels.
    n_features_in_ : int
        Number of features.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import PreprocessingEnsemble, Source
    >>> rng = np.random.RandomState(0)
    >>> y_source = rng.randint(0, 2, 200)
    >>> words = np.arange(20) < 5  # class 1 uses the first 5 words more
    >>> X_source = rng.poisson(1 + 3 * y_source[:, None] * words, (200, 20))
    >>> y_target = rng.randint(0, 2, 150)
    >>> X_target = rng.poisson(2 + 3 * y_target[:, None] * words, (150, 20))
    >>> ens = PreprocessingEnsemble(source=Source(X=X_source, y=y_source))
    >>> ens = ens.fit(X_target)  # no target label
    >>> ens.members_[0] in ens.source_scores_
    True
    >>> ens.score(X_target, y_target) > 0.8
    True
    """

    def __init__(
        self,
        estimator=None,
        preprocessings=None,
        *,
        source=None,
        members="one_se",
        source_scorer=None,
        cv=5,
        unlabelled=-1,
        random_state=0,
    ):
        self.estimator = estimator
        self.preprocessings = preprocessings
        self.source = source
        self.members = members
        self.source_scorer = source_scorer
        self.cv = cv
        self.unlabelled = unlabelled
        self.random_state = random_state

    def fit(self, X, y=None):
        """Score the preprocessings on the source, fit the chosen members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target rows.
        y : array-like of shape (n_samples,), default=None
            Target labels, ``unlabelled`` for unlabelled rows; ``None``: every
            row unlabelled.

        Returns
        -------
        self : PreprocessingEnsemble
        """
        candidates = self._check_params()
        rows = classification_rows(
            self, X, y, unlabelled=self.unlabelled,
            dense_because="the preprocessings centre or divide the rows",
        )  # fmt: skip
        if not rows.has_source:
            raise ValueError(
                "PreprocessingEnsemble scores each preprocessing on the source "
                "rows: give source=Source(X=X_source, y=y_source)."
            )
        # Each preprocessing of the source rows, fitted on them once: scored,
        # then given to that member.
        prepared = {
            name: clone(step).fit_transform(rows.X_source)
            for name, step in candidates.items()
        }
        self.source_scores_ = self._source_scores(prepared, rows.y_source)
        self.members_ = self._choose(self.source_scores_, rows.X_source.shape[0])
        y_target = np.asarray(y, dtype=object) if y is not None else None
        self.estimators_, self.preprocessors_ = {}, {}
        for name in self.members_:
            self.preprocessors_[name] = clone(candidates[name]).fit(rows.X)
            member = self._member(Source(X=prepared[name], y=rows.y_source))
            target_rows = self.preprocessors_[name].transform(rows.X)
            self.estimators_[name] = member.fit(target_rows, y_target)
        self.classes_ = self.estimators_[self.members_[0]].classes_
        self._marker = self.unlabelled
        return self

    def predict_proba(self, X):
        """Mean of the members' probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False)
        return np.mean(
            [
                self.estimators_[name].predict_proba(
                    self.preprocessors_[name].transform(X)
                )
                for name in self.members_
            ],
            axis=0,
        )

    def predict(self, X):
        """The class of highest mean probability (ties: the first)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _check_params(self) -> dict[str, object]:
        """The candidate preprocessings, after checking every parameter."""
        candidates = (
            default_preprocessings()
            if self.preprocessings is None
            else self.preprocessings
        )
        if not isinstance(candidates, dict) or not candidates:
            raise TypeError(
                "preprocessings must be None or a non-empty dict of name to "
                f"transformer; got {candidates!r}."
            )
        for name, step in candidates.items():
            if not (hasattr(step, "fit") and hasattr(step, "transform")):
                raise TypeError(
                    f"preprocessings[{name!r}] must be a transformer (fit and "
                    f"transform); got {type(step).__name__}."
                )
        if self.members not in MEMBER_RULES:
            raise ValueError(
                f"members must be one of {MEMBER_RULES}; got {self.members!r}."
            )
        if (
            not isinstance(self.cv, Integral)
            or isinstance(self.cv, bool)
            or self.cv < 2
        ):
            raise ValueError(f"cv must be an int of at least 2; got {self.cv!r}.")
        if self.estimator is not None and "source" not in self.estimator.get_params():
            raise TypeError(
                "estimator must take source=Source(...) (a shallow transfer "
                "estimator such as SelectivePseudoLabeling); "
                f"{type(self.estimator).__name__} has no source parameter."
            )
        return candidates

    def _source_scores(self, prepared: dict, y_source) -> dict[str, float]:
        """Cross-validated accuracy of the scorer on each preprocessed source."""
        scorer = (
            default_source_scorer()
            if self.source_scorer is None
            else self.source_scorer
        )
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        return {
            name: float(np.mean(cross_val_score(clone(scorer), X, y_source, cv=folds)))
            for name, X in prepared.items()
        }

    def _choose(self, scores: dict[str, float], n_source: int) -> list[str]:
        """The members under the ``members`` rule (the best is always one)."""
        best = max(scores.values())
        if self.members == "all":
            return list(scores)
        if self.members == "best":
            return [max(scores, key=scores.get)]
        se = np.sqrt(best * (1 - best) / n_source)
        return [name for name, score in scores.items() if score >= best - se]

    def _member(self, source: Source):
        """A fresh clone of the estimator on ``source`` (SPL by default)."""
        if self.estimator is None:
            member = SelectivePseudoLabeling()
        else:
            member = clone(self.estimator)
        params = {"source": source}
        if "unlabelled" in member.get_params():
            params["unlabelled"] = self.unlabelled
        return member.set_params(**params)
