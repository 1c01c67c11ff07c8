"""Shallow adaptation on Office-Caltech10 (SURF features): CORAL and SPL.

For each of the 12 source -> target tasks, the target accuracy of a linear
model trained on the labelled source rows, without and with
:class:`sktransfer.CORAL` (``CORAL(source=Source(X=X_source, y=y_source),
estimator=model).fit(X_target)``, the target rows unlabelled), for two
models: LogisticRegression and the paper's linear SVM (``LinearSVC``). The
usual CORAL protocol: each domain's
features z-scored with its own mean and standard deviation, CORAL's
regularisation 1 (the ``eye(d)`` of Sun, Feng and Saenko, AAAI 2016).
Nothing is chosen with target labels: every setting (C = 1 for both models)
is fixed in advance.

Then :class:`sktransfer.SelectivePseudoLabeling` (SPL, Wang and Breckon,
AAAI 2020) with the settings of the authors' reference code for
Office-Caltech10 (128 principal components, 128 LPP dimensions, 11
iterations, LPP regularisation 1), in four rows:

- on the same per-domain z-scored features as every other row (the setting
  fixed before any SPL result was seen);
- with the preprocessing chosen per task by a rule that uses the *source*
  labels only (:func:`_choose_preprocessing`): among four common
  bag-of-words preprocessings, the one whose source rows are best classified
  (5-fold cross-validation on the source domain) by the nearest class mean
  after SPL's own first step (L2, PCA, L2). This rule was written after the
  z-score row had been seen on the target labels (51.08 %), before the other
  preprocessings' target accuracies were. Every SPL configuration evaluated
  on target labels during development is listed in the table's description;
- two ensembles of SPL over the same four preprocessings (one SPL fitted on
  each, each domain preprocessed with its own statistics), which average the
  members' ``predict_proba`` on the target rows with equal weights and
  predict the argmax. Members: those whose source CV accuracy (as above) is
  within one binomial standard error of the best (:func:`_ensemble_members`,
  the primary row), and, as an ablation, all four. Both rules were written
  down together, after the four fixed preprocessings and the choice rule had
  been seen on the target labels (12-task means in the table's description),
  before either ensemble's target accuracy was.

SPL is deterministic: each task's SPL fits are made once and their scores
reported for every seed.

``python -m benchmarks --only shallow [--quick]``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler, normalize
from sklearn.svm import LinearSVC

from sktransfer import CORAL, SelectivePseudoLabeling, Source, load_office_caltech10

from ._harness import Table

DOMAINS = ("amazon", "webcam", "dslr", "caltech")
C = 1.0  # scikit-learn's default for both models; fixed, never tuned
MAX_ITER = 10_000
#: The published 12-task means (Sun et al. 2016, Table 1: SURF features,
#: linear SVM), for comparison only: not numbers of this benchmark.
PUBLISHED = {"source only": "about 46 %", "CORAL": "about 48.8 %"}
SPL_Z = "SPL (z-scored per domain)"
SPL_RULE = "SPL (preprocessing by source CV)"
SPL_ENSEMBLE = "SPL ensemble (source CV within 1 SE)"
SPL_ENSEMBLE_ALL = "SPL ensemble (all four, equal weights)"
#: SPL's paper reports no SURF results; published 12-task SURF means of other
#: shallow methods, for comparison only.
SPL_NOTE = (
    "no published SPL figure on SURF; published SURF means: MEDA 52.7, "
    "JGSA 50.6, EasyTL 50.5, CORAL 48.8, JDA 46.3 %"
)


def _zscore(X: np.ndarray) -> np.ndarray:
    """Each domain standardised with its own statistics (a feature that is
    constant within a domain is only centred)."""
    return StandardScaler().fit_transform(X)


#: The candidate preprocessings of raw SURF word counts, each applied to a
#: domain with its own statistics; the first is the table's protocol and wins
#: ties.
PREPROCESSINGS = {
    "z-score": _zscore,
    "L2 of counts": lambda X: np.asarray(X, dtype=np.float64),  # SPL L2-normalises
    "histogram then z-score": lambda X: _zscore(X / X.sum(axis=1, keepdims=True)),
    "square root": lambda X: np.sqrt(X),
}


def _models(seed: int) -> dict:
    return {
        "LogisticRegression": LogisticRegression(C=C, max_iter=MAX_ITER),
        # The dual solver: the same optimum as the primal one, several times
        # faster on these tables.
        "LinearSVC": LinearSVC(C=C, dual=True, max_iter=MAX_ITER, random_state=seed),
    }


def _source_cv_accuracy(X: np.ndarray, y: np.ndarray, n_components: int = 128):
    """5-fold CV accuracy (%) on the source rows of the nearest class mean on
    SPL's first-step features (L2, PCA fitted on the training folds, L2).
    Uses source labels only."""
    accuracies = []
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for train, test in folds.split(X, y):
        A, B = normalize(X[train]), normalize(X[test])
        pca = PCA(min(n_components, len(train) - 1), svd_solver="full").fit(A)
        A, B = normalize(pca.transform(A)), normalize(pca.transform(B))
        classes = np.unique(y[train])
        means = normalize(np.vstack([A[y[train] == c].mean(axis=0) for c in classes]))
        nearest = (B @ means.T).argmax(axis=1)  # unit vectors: max cosine
        accuracies.append(np.mean(classes[nearest] == y[test]))
    return 100 * float(np.mean(accuracies))


def _source_cv_scores(X_source_raw: np.ndarray, y_source: np.ndarray) -> dict:
    """:func:`_source_cv_accuracy` of each candidate preprocessing (%).
    Looks at the source domain only."""
    return {
        name: _source_cv_accuracy(f(X_source_raw), y_source)
        for name, f in PREPROCESSINGS.items()
    }


def _choose_preprocessing(scores: dict[str, float]) -> str:
    """The candidate preprocessing with the best source CV accuracy
    (``scores`` from :func:`_source_cv_scores`; ties: the first)."""
    return max(PREPROCESSINGS, key=lambda name: scores[name])


def _ensemble_members(scores: dict[str, float], n_source: int) -> list[str]:
    """The members of the primary SPL ensemble: the preprocessings whose source
    CV accuracy is within one binomial standard error of the best one.

    The rule, fixed before any target accuracy of an ensemble was seen: with
    ``p`` the best source CV accuracy (a fraction) and ``n`` the number of
    source rows, the standard error is ``100 * sqrt(p (1 - p) / n)`` points
    (the "one standard error" rule: scores closer than that to the best are
    not told apart by the source CV); every preprocessing scoring at least
    ``best - SE`` is a member, with equal weight. The best is always one.
    Source labels only; no threshold is tuned.
    """
    best = max(scores.values())
    p = best / 100
    se = 100 * np.sqrt(p * (1 - p) / n_source)
    return [name for name in PREPROCESSINGS if scores[name] >= best - se]


def _spl_accuracies(raw: dict, s: str, t: str, chosen: str, members: list[str]):
    """Target accuracy (%) of the SPL rows for the task ``s -> t``.

    One SPL is fitted per candidate preprocessing (each domain preprocessed
    with its own statistics); the z-score one is the z-score row, the one
    chosen by source CV the rule's row. The ensembles average the members'
    ``predict_proba`` on the target rows with equal weights and predict the
    argmax (ties: the first class): ``members`` (the one-SE rule of
    :func:`_ensemble_members`) for the primary ensemble, all four for the
    ablation. Both rules were fixed before either was seen on target labels.
    """
    (Xs_raw, ys), (Xt_raw, yt) = raw[s], raw[t]
    proba, scores = {}, {}
    for name, prep in PREPROCESSINGS.items():
        Xt_p = prep(Xt_raw)
        spl = SelectivePseudoLabeling(source=Source(X=prep(Xs_raw), y=ys))
        spl.fit(Xt_p)
        proba[name] = spl.predict_proba(Xt_p)
        scores[name] = 100 * spl.score(Xt_p, yt)
        classes = spl.classes_

    def ensemble(names: list[str]) -> float:
        mean = np.mean([proba[name] for name in names], axis=0)
        return 100 * float(np.mean(classes[mean.argmax(axis=1)] == yt))

    return {
        SPL_Z: scores["z-score"],
        SPL_RULE: scores[chosen],
        SPL_ENSEMBLE: ensemble(members),
        SPL_ENSEMBLE_ALL: ensemble(list(PREPROCESSINGS)),
    }


def _accuracies(Xs, ys, Xt, yt, seed: int) -> tuple[dict[str, float], list[str]]:
    """Target accuracy (%) of each model trained on the source rows, without
    and with CORAL; and the methods whose solver did not converge."""
    out, unconverged = {}, []
    for name, model in _models(seed).items():
        for method, estimator in (
            (f"{name}, source only", clone(model)),
            (f"CORAL + {name}",
             CORAL(source=Source(X=Xs, y=ys), estimator=clone(model))),
        ):  # fmt: skip
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                if isinstance(estimator, CORAL):
                    estimator.fit(Xt)  # the target rows, no label
                else:
                    estimator.fit(Xs, ys)
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                unconverged.append(method)
            out[method] = 100 * estimator.score(Xt, yt)
    return out, unconverged


def run(quick: bool = False, seeds: int = 1) -> Table:
    seeds = 1 if quick else seeds
    tasks = [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    if quick:
        tasks = tasks[:3]
    table = Table(
        "shallow",
        "CORAL (sktransfer.CORAL, regularization=1 as in the paper) on "
        "Office-Caltech10 SURF features (800-word bag of words): target accuracy "
        "of a linear model trained on all labelled source rows, tested on all "
        "target rows (unlabelled for CORAL, which sees their features only). "
        "Protocol: each domain's features z-scored with its own mean and "
        "standard deviation (StandardScaler fitted per domain), for every "
        "method but the SPL rows after the first. Models: "
        "LogisticRegression(C=1, lbfgs, max_iter 10000) and "
        "LinearSVC(C=1, squared hinge, one-vs-rest, dual solver, max_iter "
        "10000), the paper's kind of classifier; C fixed at scikit-learn's "
        "default, nothing chosen with target labels. "
        f"{seeds} seed(s): the seed is LinearSVC's random_state; "
        "LogisticRegression is deterministic. The mean rows average the "
        f"{len(tasks)} tasks per seed. The 'published' notes quote Sun, Feng "
        "and Saenko (AAAI 2016, Table 1, linear SVM) for comparison; they are "
        "not results of this run. Solvers that stopped before converging are "
        "listed in the JSON under not_converged. "
        "SPL rows: sktransfer.SelectivePseudoLabeling (Wang and Breckon, AAAI "
        "2020; structured-prediction selective pseudo-labelling) with the "
        "settings of the authors' reference code (PCA 128, LPP 128 dimensions, "
        "11 iterations, LPP "
        "regularisation 1), fitted with the labelled source rows and the "
        "unlabelled target rows, scored on the target rows; deterministic. "
        f"'{SPL_Z}': on the per-domain z-scored features, the setting fixed in "
        f"advance. '{SPL_RULE}': the preprocessing of the raw word counts "
        "chosen per task among z-score per domain, L2 of the counts, histogram "
        "(row sum 1) then z-score per domain, and square root, by the 5-fold "
        "cross-validated source accuracy of the nearest class mean on L2-PCA-L2 "
        "features (source labels only; choices in the JSON under "
        "spl_preprocessing_by_source). Disclosure: this rule was written after "
        "the z-score SPL row had been seen on the target labels; during "
        "development SPL was evaluated on the target labels with each fixed "
        "preprocessing (12-task means: z-score 51.08, L2 of counts 44.98, "
        "histogram then z-score 52.57, square root 51.00) and with the rule "
        "(52.07), and with nothing else before the ensembles below. "
        f"'{SPL_ENSEMBLE}': one SPL fitted per candidate preprocessing (each "
        "domain preprocessed with its own statistics); the members' "
        "predict_proba on the target rows averaged with equal weights, the "
        "prediction its argmax; members: the preprocessings whose source CV "
        "accuracy (the rule's score) is at least the best minus one binomial "
        "standard error, 100 sqrt(p (1 - p) / n) points with p the best score "
        "and n the number of source rows (source labels only; members and "
        "scores in the JSON under spl_ensemble_members and "
        f"spl_source_cv_accuracy). '{SPL_ENSEMBLE_ALL}': the same average "
        "over all four preprocessings, as an ablation. Disclosure: both "
        "ensemble rules were written down together, the one-SE rule named the "
        "primary row, after the source CV scores and the four fixed "
        "preprocessings' and the rule's target means above had been seen, "
        "before any target accuracy of either ensemble was; they were then "
        "evaluated on the target labels once, with no change after "
        "(12-task means: one-SE ensemble 53.77, all four equal weights "
        "53.35); no other ensemble was evaluated. The SPL paper reports "
        f"no SURF results. Quick mode: {quick}.",
        quick=quick,
    )
    data, raw = {}, {}
    for domain in DOMAINS:
        X, y = load_office_caltech10(domain, return_X_y=True)
        raw[domain] = (X, y)
        data[domain] = (_zscore(X), y)
    # The source-label rule's choice and the ensemble's members for each
    # source domain (seed-free; source labels only).
    sources = dict.fromkeys(s for s, _ in tasks)
    cv_scores = {s: _source_cv_scores(*raw[s]) for s in sources}
    chosen = {s: _choose_preprocessing(cv_scores[s]) for s in sources}
    members = {s: _ensemble_members(cv_scores[s], len(raw[s][1])) for s in sources}
    table.extra["spl_preprocessing_by_source"] = chosen
    table.extra["spl_source_cv_accuracy"] = {
        s: {name: round(v, 2) for name, v in scores.items()}
        for s, scores in cv_scores.items()
    }
    table.extra["spl_ensemble_members"] = members
    print(f"  SPL preprocessing chosen on the source labels: {chosen}", flush=True)
    print(f"  SPL ensemble members (source CV within 1 SE): {members}", flush=True)
    # SPL is deterministic: each task's fits are made once, for every seed.
    spl_rows = {
        (s, t): _spl_accuracies(raw, s, t, chosen[s], members[s]) for s, t in tasks
    }
    for seed in range(seeds):
        per_method: dict[str, list[float]] = {}
        for s, t in tasks:
            (Xs, ys), (Xt, yt) = data[s], data[t]
            accuracies, unconverged = _accuracies(Xs, ys, Xt, yt, seed)
            accuracies.update(spl_rows[s, t])
            for method, accuracy in accuracies.items():
                table.add(f"{s} -> {t}", method, accuracy)
                per_method.setdefault(method, []).append(accuracy)
            for method in unconverged:
                print(f"  not converged: {s} -> {t}, {method}", flush=True)
                table.extra.setdefault("not_converged", []).append(
                    {"task": f"{s} -> {t}", "method": method, "seed": seed}
                )
        for method, values in per_method.items():
            if method.startswith("SPL"):
                table.add(
                    f"mean of {len(tasks)} tasks",
                    method,
                    float(np.mean(values)),
                    note=SPL_NOTE,
                )
                continue
            svm = "LinearSVC" in method
            published = PUBLISHED["CORAL" if method.startswith("CORAL") else
                                  "source only"]  # fmt: skip
            table.add(
                f"mean of {len(tasks)} tasks",
                method,
                float(np.mean(values)),
                note=f"published, Sun et al. 2016 (linear SVM"
                f"{'' if svm else ', not LR'}): {published}",
            )
    return table
