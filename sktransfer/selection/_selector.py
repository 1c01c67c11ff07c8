"""TransferSelector: rank candidate ways to transfer cheaply, train the best few."""

from __future__ import annotations

import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import (
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._labels import (
    check_marker_type,
    check_not_a_class,
    labelled_rows,
    marked,
)
from .._params import InstanceOf, Interval, IsCallable, Options, check_params
from ..metrics import (
    ensemble_agreement,
    log_me_scorer,
    soft_neighborhood_density_score,
)
from ._ranking import rank_key, trainable_parameters, untrained
from ._target_only import (
    TARGET_ONLY,
    Comparison,
    compared,
    cv_verdict,
    not_compared,
    target_only_model,
)


@dataclass(frozen=True)
class _Choice:
    """What choosing a candidate found."""

    rows: list[dict]  # of report_, one per candidate
    name: str  # the chosen candidate's
    estimator: object  # it, fitted on all the rows
    decided_by: str  # which score decided, in words


class TransferSelector(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Choose how to transfer: score every candidate cheaply, train the best few.

    With target labels, every candidate is *prepared* without training (its
    source weights copied and its blocks frozen, ``max_epochs=0``) and ranked
    by a transferability score of the representation its new head learns from
    (``scoring``, LogME by default). Candidates the score cannot tell apart
    (the same source network with other freeze depths gets the same score)
    are ranked by their number of trainable parameters, fewest first: cheaper
    to train, and less prone to overfit a few labels. Only the ``top_k`` best
    are trained, on the labelled rows but a held-out ``validation_size``, and
    the one with the best accuracy there is refitted on all rows; with
    ``top_k=1`` the best-ranked one is fitted on all rows at once.

    Without target labels (every ``y`` is the ``unlabelled`` marker, e.g.
    unsupervised domain adaptation) nothing can be ranked before training:
    every candidate is trained and the one with the best label-free score on
    the target rows (``label_free_scoring``) is kept. Include a candidate
    without adaptation and name it ``baseline``: no label-free score can
    promise that adapting helps, so the score's pick must then agree with
    the ensemble of all candidates (the argmax of their mean probabilities)
    at least as well as the baseline does, else the baseline is kept.

    Parameters
    ----------
    candidates : list of estimators or of (name, estimator) pairs
        The settings to choose from, e.g. ``TransferClassifier`` with other
        ``freeze_depth``, ``adaptation`` or ``source``; any classifier works.
        What ``scoring`` can rank before training: a ``TransferClassifier``
        (its prepared network), a feature transformer, and a ``Pipeline`` of
        steps before a model (on what the steps return). A plain classifier
        (e.g. ``LogisticRegression()``) has no representation to score
        before training: it is not ranked (``transferability`` NaN) but
        always trained, beside the ``top_k`` best-ranked ones, and compared
        with them on the held-out rows. A candidate that reads the
        ``unlabelled`` marker as a class (a plain classifier, or a
        ``TransferClassifier`` without source data) is refused when ``y``
        holds marked rows: the selector would read them as unlabelled.
    scoring : callable, default=None
        Transferability scorer ``(estimator, X, y) -> float`` used to rank
        candidates before training; ``None`` means
        :data:`~sktransfer.metrics.log_me_scorer`.
    label_free_scoring : callable or "ensemble", default=None
        What decides without target labels. A scorer
        ``(estimator, X, y=None) -> float``; ``None`` means
        :func:`~sktransfer.metrics.soft_neighborhood_density_score`. Give a
        :class:`~sktransfer.metrics.DeepEmbeddedValidation` to compare
        adaptation methods with held-out source rows. ``"ensemble"``: the
        candidate that agrees most with the ensemble of all candidates
        (:func:`~sktransfer.metrics.ensemble_agreement`, EnsV); it needs
        ``predict_proba`` and one class set.
    baseline : str, default=None
        Without labels: the name of the candidate that does not adapt (e.g.
        the source model as it is, ``max_epochs=0``). The pick of
        ``label_free_scoring`` replaces it only if it agrees with the
        ensemble of all candidates at least as well as the baseline does
        (:func:`~sktransfer.metrics.ensemble_agreement`); a score fooled by
        its own loss (the information-maximisation score always prefers that
        loss) then cannot pull the choice below "no adaptation" unnoticed.
        Every candidate needs ``predict_proba``. ``None``: no guard.
    target_only : estimator, True or None, default=None
        A model trained on the labelled target rows alone, to see whether the
        transfer helps at all, e.g. ``LogisticRegression()``; ``True`` means
        scaled features (images flattened) and a ``LogisticRegression``.
        Once a candidate is chosen, it and this model are compared by
        stratified k-fold cross-validation on the labelled target rows (k =
        5, or fewer when the rarest class has fewer rows): in each fold the
        chosen candidate is refitted on all the rows but the held-out
        labelled ones (the unlabelled rows included), the target-only model
        on the other folds' labelled rows, and both are scored on the
        held-out rows. When the target-only model scores higher on average,
        a :class:`NegativeTransferWarning` says so; ``report_`` gets a
        ``target only`` row and ``target_only_`` the comparison in words.
        With fewer than 2 labelled rows in some class, nothing is compared
        and ``target_only_`` says why. The choice among the candidates is
        unchanged: the target-only model is never ``best_estimator_`` (add
        it to ``candidates`` for that, when every row is labelled).
        ``None``: no comparison.
    top_k : int, default=2
        How many of the best-ranked candidates are trained (with labels);
        candidates that cannot be ranked are trained too.
    validation_size : float, default=0.25
        Fraction of the labelled target rows held out to compare the trained
        candidates.
    unlabelled : int, float, str or None, default=-1
        The value of ``y`` that marks an unlabelled row. It may not be a class
        the candidates learn: with labels coded ``{-1, 1}``, pass
        ``unlabelled=None`` or another marker.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, and the candidates whose own
        ``random_state`` is ``None``.
    verbose : int, default=0
        ``1`` prints a line per candidate.

    Attributes
    ----------
    best_estimator_ : estimator
        The chosen candidate, fitted on all the rows.
    best_name_ : str
        Its name.
    decided_by_ : str
        Which score decided, in words.
    report_ : pandas.DataFrame
        One row per candidate: ``candidate``, ``transferability`` (its
        ranking score, with labels), ``trained``, ``validation_accuracy``,
        ``trainable_parameters`` (with labels; NaN where it is not a network),
        ``label_free_score`` and, with ``baseline`` or ``"ensemble"``,
        ``ensemble_agreement`` (without labels), ``seconds`` (time spent on
        it) and ``selected``.
    classes_ : ndarray
        The chosen estimator's classes.
    target_only_ : str or None
        With ``target_only``: the cross-validated comparison of the chosen
        candidate with the target-only model, in words, or why none was
        made. ``None`` without ``target_only``.
    negative_transfer_ : bool or None
        Whether the target-only model scored higher in that comparison;
        ``None`` when none was made.
    target_only_estimator_ : estimator or None
        The target-only model fitted on all the labelled target rows (when
        the comparison was made), to use instead of ``best_estimator_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import TransferClassifier, TransferSelector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(120, 5)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> source = TransferClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> selector = TransferSelector(
    ...     [(f"freeze {k}", TransferClassifier(source=source, freeze_depth=k,
    ...                                         max_epochs=5, random_state=0))
    ...      for k in (0, 1)],
    ...     random_state=0,
    ... ).fit(X[:40], y[:40])
    >>> selector.report_["candidate"].tolist()
    ['freeze 0', 'freeze 1']
    >>> selector.best_name_ in ("freeze 0", "freeze 1")
    True

    With ``target_only``, the chosen candidate is compared with a model of
    the labelled target rows alone, by cross-validation; a
    :class:`NegativeTransferWarning` comes when the latter wins:

    >>> from sklearn.linear_model import LogisticRegression
    >>> selector = TransferSelector(
    ...     [TransferClassifier(source=source, max_epochs=5, random_state=0)],
    ...     target_only=LogisticRegression(), random_state=0,
    ... ).fit(X[:40], y[:40])
    >>> selector.report_[["candidate", "cv_accuracy"]].shape
    (2, 2)
    >>> selector.target_only_.startswith("5-fold cross-validation")
    True
    """

    _constraints = {
        "candidates": InstanceOf((list, tuple), "a non-empty list of estimators"),
        "scoring": [None, IsCallable()],
        "label_free_scoring": [None, IsCallable(), Options("ensemble")],
        "baseline": [None, InstanceOf(str, "a candidate's name")],
        "target_only": [
            None,
            Options(True, text="True"),
            InstanceOf(BaseEstimator, "an estimator (e.g. LogisticRegression())"),
        ],
        "top_k": Interval(Integral, 1),
        "validation_size": Interval(Real, 0.05, 0.9),
        "verbose": [Interval(Integral, 0), InstanceOf(bool, "a bool")],
    }

    def __init__(
        self,
        candidates,
        *,
        scoring=None,
        label_free_scoring=None,
        baseline=None,
        target_only=None,
        top_k=2,
        validation_size=0.25,
        unlabelled=-1,
        random_state=None,
        verbose=0,
    ):
        self.candidates = candidates
        self.scoring = scoring
        self.label_free_scoring = label_free_scoring
        self.baseline = baseline
        self.target_only = target_only
        self.top_k = top_k
        self.validation_size = validation_size
        self.unlabelled = unlabelled
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Choose a candidate and fit it on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Target inputs.
        y : array-like of shape (n_samples,)
            Target labels; ``unlabelled`` marks rows without one.

        Returns
        -------
        self : TransferSelector
            The fitted selector. The fitted attributes are set once every
            candidate's fit has succeeded: a fit that fails or is interrupted
            sets none.
        """
        check_params(self, self._constraints)
        named, y = self._check_fit_inputs(X, y)
        labelled = ~marked(y, self.unlabelled)
        if len(np.unique(y[labelled])) >= 2:
            choice = self._with_labels(named, X, y, labelled)
        else:
            choice = self._without_labels(named, X, y)
        report = pd.DataFrame(choice.rows)
        report["selected"] = report["candidate"] == choice.name
        comparison = Comparison(report)
        if self.target_only is not None:
            chosen = dict(named)[choice.name]
            comparison = compared(
                report,
                choice.name,
                *self._versus_target_only(chosen, choice.name, X, y),
            )
        # The one place that sets fitted attributes: only once all succeeded.
        validate_data(self, X, skip_check_array=True)  # n_features_in_, names
        self.report_ = comparison.report
        self.best_name_ = choice.name
        self.best_estimator_ = choice.estimator
        self.decided_by_ = choice.decided_by
        self.classes_ = getattr(choice.estimator, "classes_", None)
        self.target_only_ = comparison.verdict
        self.negative_transfer_ = comparison.negative
        self.target_only_estimator_ = comparison.estimator
        return self

    def _check_fit_inputs(self, X, y) -> tuple[list[tuple[str, object]], np.ndarray]:
        """The named candidates (seeded clones) and ``y`` as an array, or a
        clear error. ``X`` is only checked (shape, no sparse matrix): the
        candidates get it as it was given, column names included."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None (mark unlabelled rows with the unlabelled value instead)."
            )
        check_array(
            X, allow_nd=True, dtype=None, ensure_all_finite=False, estimator=self
        )
        named = self._named_candidates()
        if self.baseline is not None and self.baseline not in dict(named):
            raise ValueError(
                f"baseline={self.baseline!r} is not a candidate's name; the names "
                f"are {[name for name, _ in named]}."
            )
        if self.target_only is not None and TARGET_ONLY in dict(named):
            raise ValueError(
                f"a candidate is named {TARGET_ONLY!r}, the name of the "
                "target-only model in report_: rename it, or leave target_only=None."
            )
        y = np.asarray(y)
        check_marker_type(y, self.unlabelled)
        return named, y

    def _versus_target_only(self, candidate, name: str, X, y):
        """The chosen candidate against the target-only model, by stratified
        cross-validation on the labelled rows: ``(fold scores of the
        candidate, of the target-only model, the target-only model fitted on
        all labelled rows, the verdict in words)``; the scores are ``None``
        when too few rows are labelled to compare."""
        rows_l = np.flatnonzero(~marked(y, self.unlabelled))
        y_l = y[rows_l]
        counts = np.unique(y_l, return_counts=True)[1] if len(y_l) else [0]
        folds = int(min(5, min(counts)))
        if len(counts) < 2 or folds < 2:
            return None, None, None, not_compared(len(rows_l), min(counts))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        every = np.arange(len(y))
        transferred, alone = [], []
        for train, test in split.split(np.zeros(len(y_l)), y_l):
            held = rows_l[test]
            kept = np.setdiff1d(every, held)
            fitted = self._fit(name, candidate, _take(X, kept), y[kept])
            transferred.append(float(fitted.score(_take(X, held), y[held])))
            model = target_only_model(self.target_only).fit(
                _take(X, rows_l[train]), y_l[train]
            )
            alone.append(float(model.score(_take(X, held), y[held])))
        self._say(
            f"{name}: cross-validated accuracy {np.mean(transferred):.4f}, "
            f"target only {np.mean(alone):.4f}"
        )
        model = target_only_model(self.target_only).fit(_take(X, rows_l), y_l)
        verdict = cv_verdict(folds, len(rows_l), name, transferred, alone, model)
        return transferred, alone, model, verdict

    def _fit(self, name: str, candidate, X, y):
        """A clone of ``candidate`` fitted on ``X, y``, refused if it learnt
        the ``unlabelled`` marker as a class: the selector reads those rows
        as unlabelled, the candidate trained on them as a class."""
        fitted = clone(candidate).fit(X, y)
        classes = getattr(fitted, "classes_", None)
        if classes is not None and marked(y, self.unlabelled).any():
            check_not_a_class(
                classes,
                self.unlabelled,
                f"The classes_ of candidate {name!r}, {np.asarray(classes).tolist()},",
                " Otherwise that candidate read the marked rows as a class: a "
                "TransferClassifier reads the marker as unlabelled only when it "
                "trains across domains (a Source with data, or an adaptation "
                "loss adapting a source), a plain classifier never.",
            )
        return fitted

    def _named_candidates(self) -> list[tuple[str, object]]:
        named = [
            c if isinstance(c, tuple) and len(c) == 2 else (f"candidate {i}", c)
            for i, c in enumerate(self.candidates)
        ]
        if not named:
            raise ValueError("candidates is empty: give at least one estimator.")
        names = [name for name, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be unique; got {names}.")
        for name, estimator in named:
            if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
                raise TypeError(
                    f"candidate {name!r} is not an estimator with fit and predict: "
                    f"{estimator!r}."
                )
        return [(name, self._seeded(estimator)) for name, estimator in named]

    def _seeded(self, candidate):
        """A clone; one without a random_state of its own gets the selector's."""
        candidate = clone(candidate)
        params = candidate.get_params()
        if self.random_state is not None and params.get("random_state", 0) is None:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            candidate.set_params(random_state=seed)
        return candidate

    def _with_labels(self, named, X, y, labelled):
        """Rank by ``scoring``, validate the top few: the choice, fitted on
        all rows."""
        scoring = self.scoring or log_me_scorer
        rows_l = np.flatnonzero(labelled)
        X_l, y_l = _take(X, rows_l), y[rows_l]
        rows, unranked = [], []
        for i, (name, candidate) in enumerate(named):
            start = time.perf_counter()
            prepared = untrained(candidate)
            if prepared is None:  # nothing to score before training
                score, count = np.nan, np.nan
                unranked.append(i)
                self._say(f"{name}: not ranked (nothing to score before training)")
            else:
                prepared.fit(X_l, y_l)
                score = float(scoring(prepared, X_l, y_l))
                count = trainable_parameters(prepared)
                self._say(f"{name}: {scoring!r} = {score:.4f}")
            rows.append(
                {
                    "candidate": name,
                    "transferability": score,
                    "trainable_parameters": count,
                    "trained": False,
                    "validation_accuracy": np.nan,
                    "seconds": time.perf_counter() - start,
                }
            )
        ranked = [i for i in range(len(rows)) if i not in unranked]
        order = sorted(ranked, key=lambda i: rank_key(rows[i]))
        # The best ranked, then every candidate the score could not rank.
        top = order[: self.top_k] + unranked
        val = self._validation_rows(rows_l, y_l)
        fit_rows = np.setdiff1d(np.arange(len(y)), val)
        for i in top if len(top) > 1 and len(val) else ():
            name, candidate = named[i]
            start = time.perf_counter()
            trained = self._fit(name, candidate, _take(X, fit_rows), y[fit_rows])
            accuracy = float(trained.score(_take(X, val), y[val]))
            rows[i].update(trained=True, validation_accuracy=accuracy)
            rows[i]["seconds"] += time.perf_counter() - start
            self._say(f"{name}: validation accuracy {accuracy:.4f}")
        ranking = f"{scoring!r} ranked {len(ranked)} candidates" + (
            f" ({len(unranked)} could not be ranked)" if unranked else ""
        )
        if len(top) > 1 and len(val):
            best = max(top, key=lambda i: rows[i]["validation_accuracy"])
            chose = (
                f"the top {len(order[: self.top_k])}"
                + (" and those not ranked" if unranked else "")
                if ranked
                else "all of them"
            )
            decided_by = (
                f"{ranking}; the accuracy on {len(val)} held-out labelled rows "
                f"chose among {chose}"
            )
        else:
            best = top[0]
            why = (
                "a single candidate"
                if len(named) == 1
                else "top_k=1"
                if len(top) == 1
                else "too few labelled rows to validate"
            )
            decided_by = f"{ranking} ({why})"
        name, candidate = named[best]
        return _Choice(rows, name, self._fit(name, candidate, X, y), decided_by)

    def _validation_rows(self, rows_l, y_l) -> np.ndarray:
        n_val = int(round(self.validation_size * len(rows_l)))
        classes, counts = np.unique(y_l, return_counts=True)
        if n_val < 1 or len(rows_l) - n_val < 2:
            return np.array([], dtype=int)
        stratify = counts.min() >= 2 and n_val >= len(classes)
        split = (StratifiedShuffleSplit if stratify else ShuffleSplit)(
            n_splits=1, test_size=n_val, random_state=self.random_state
        )
        _, val = next(split.split(np.zeros(len(y_l)), y_l if stratify else None))
        return np.sort(rows_l[val])

    def _without_labels(self, named, X, y):
        """Train all, keep the best by ``label_free_scoring`` (guarded by the
        baseline): the choice."""
        scoring = self.label_free_scoring or soft_neighborhood_density_score
        consensus = scoring == "ensemble" or self.baseline is not None
        for name, candidate in named if consensus else ():
            if not hasattr(candidate, "predict_proba"):  # refused before training
                raise TypeError(
                    "the ensemble agreement (label_free_scoring='ensemble' or a "
                    f"baseline) needs predict_proba; candidate {name!r} has none."
                )
        rows, fitted = [], {}
        for name, candidate in named:
            start = time.perf_counter()
            fitted[name] = self._fit(name, candidate, X, y)
            rows.append(
                {
                    "candidate": name,
                    "trained": True,
                    "seconds": time.perf_counter() - start,
                }
            )
            self._say(f"{name}: trained in {rows[-1]['seconds']:.1f} s")
        agreement = ensemble_agreement(_probas(fitted, X)) if consensus else None
        if scoring == "ensemble":
            scores, decided = agreement, "agreement with the ensemble (EnsV)"
        else:
            scores = [float(scoring(estimator, X)) for estimator in fitted.values()]
            decided = _name(scoring)
        for i, row in enumerate(rows):
            row["label_free_score"] = float(scores[i])
            if agreement is not None:
                row["ensemble_agreement"] = float(agreement[i])
            self._say(f"{row['candidate']}: {decided} = {scores[i]:.4f}")
        if not np.isfinite(scores).any():
            raise ValueError(f"{decided} is not finite for any candidate.")
        names = [row["candidate"] for row in rows]
        best = names[int(np.nanargmax(scores))]
        if self.baseline is None:
            decided_by = f"{decided} on the unlabelled target rows"
        else:
            best, decided_by = guarded_pick(
                best, dict(zip(names, agreement, strict=True)), self.baseline, decided
            )
        return _Choice(rows, best, fitted[best], decided_by)

    def _say(self, line: str) -> None:
        if self.verbose:
            print(f"[TransferSelector] {line}", flush=True)

    def predict(self, X):
        """Predictions of the chosen estimator."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities of the chosen estimator."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    def score(self, X, y, sample_weight=None):
        """The chosen estimator's score (accuracy for a classifier) on the
        labelled rows: rows of ``y`` marked ``unlabelled`` are left out, as
        in ``fit``; a ``ValueError`` when no row is labelled."""
        check_is_fitted(self)
        X, y, sample_weight = labelled_rows(X, y, sample_weight, self.unlabelled)
        return self.best_estimator_.score(X, y, sample_weight=sample_weight)


def guarded_pick(
    pick: str, agreement: dict[str, float], baseline: str, decided: str = "the score"
) -> tuple[str, str]:
    """``pick`` unless it agrees with the ensemble less than ``baseline``
    does; then ``baseline``. Returns the name and the reason, in words."""
    if agreement[pick] >= agreement[baseline]:
        return pick, (
            f"{decided} on the unlabelled target rows (its pick agrees with the "
            f"ensemble of all candidates at least as well as the baseline "
            f"{baseline!r}: {agreement[pick]:.3f} >= {agreement[baseline]:.3f})"
        )
    return baseline, (
        f"{decided} picked {pick!r}, which agrees with the ensemble of all "
        f"candidates less than the baseline {baseline!r} "
        f"({agreement[pick]:.3f} < {agreement[baseline]:.3f}): the baseline is kept"
    )


def _probas(fitted: dict, X) -> list[np.ndarray]:
    """Every candidate's class probabilities on ``X``, in one class order."""
    classes = None
    probas = []
    for name, estimator in fitted.items():
        if classes is None:
            classes = estimator.classes_
        elif not np.array_equal(estimator.classes_, classes):
            raise ValueError(
                "the ensemble agreement needs one class set; candidate "
                f"{name!r} predicts {list(estimator.classes_)}, another "
                f"{list(classes)}."
            )
        probas.append(np.asarray(estimator.predict_proba(X)))
    return probas


def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def _name(scorer) -> str:
    return getattr(scorer, "__name__", repr(scorer))
