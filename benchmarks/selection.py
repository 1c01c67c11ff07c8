"""Choosing how to transfer: transferability scores, label-free selection.

1. **With labels** (MNIST -> USPS, k = 10 labels per class): for each way to
   transfer a LeNet pretrained on MNIST (fine-tuning with freeze depth 0-3;
   features of layer 0-3 + a linear model), its transferability scores
   (LogME, H-score; computed without training) and its accuracy on the USPS
   test set once trained. Kendall tau between each score and the accuracy;
   the time of scoring every candidate vs training every candidate (the
   grid); the accuracy of ``TransferSelector``'s pick vs the grid's best.
2. **Without labels** (unsupervised adaptation, both digit directions and the
   12 Office-Caltech10 tasks): each candidate setting (source only, joint
   training, DANN, Deep CORAL, MMD, information maximisation) is trained;
   each label-free score picks one; the table gives the picked setting's
   target accuracy against the oracle pick (by target labels) and against
   source only, as SKADA-Bench reports it.

``python -m benchmarks --only selection [--quick]``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import (
    FeatureTransferTransformer,
    Source,
    TransferClassifier,
    TransferSelector,
    load_office_caltech10,
)
from sktransfer.adaptation import DANN, MMD, DeepCORAL, InformationMaximization
from sktransfer.metrics import (
    DeepEmbeddedValidation,
    ImportanceWeightedAccuracy,
    ReverseValidation,
    ensemble_agreement,
    h_score_scorer,
    information_maximization_score,
    log_me_scorer,
    prediction_entropy_score,
    soft_neighborhood_density_score,
)
from sktransfer.models import MLP, LeNet
from sktransfer.selection._selector import guarded_pick, untrained

from ._harness import Table
from .mnist_usps import augmentation, few_labels

DOMAINS = ("amazon", "webcam", "dslr", "caltech")


# -- with labels --------------------------------------------------------------


def _supervised_candidates(source, epochs: int) -> dict:
    tune = dict(source=source, lr=1e-4, max_epochs=epochs, batch_size=32)
    candidates = {
        f"fine-tune, freeze_depth={k}": TransferClassifier(
            freeze_depth=k, random_state=0, **tune
        )
        for k in range(4)
    }
    for layer in range(4):
        pooling = "max" if layer < 2 else None
        candidates[f"features of block {layer} + LR"] = make_pipeline(
            FeatureTransferTransformer(source, layer=layer, pooling=pooling),
            StandardScaler(),
            LogisticRegression(C=0.1, max_iter=2000),
        )
    return candidates


def _with_labels(table: Table, quick: bool, seeds: int) -> None:
    from .skada_baseline import load_settings

    X_mnist, y_mnist, X_usps, X_test, y_test = load_settings()["MNIST(10k) -> USPS"]
    y_usps = _usps_train_labels()
    name = "MNIST(10k) -> USPS, k=10"
    pre_epochs, epochs = (2, 5) if quick else (10, 30)
    for seed in range(seeds):
        source = TransferClassifier(
            LeNet, augment=augmentation(), max_epochs=pre_epochs, batch_size=128,
            random_state=seed,
        ).fit(X_mnist, y_mnist)  # fmt: skip
        few = few_labels(y_usps, 10, seed)
        X, y = X_usps[few], y_usps[few]
        candidates = _supervised_candidates(source, epochs)
        scores = {"LogME": [], "H-score": []}
        accuracies, score_time, train_time = [], 0.0, 0.0
        for label, candidate in candidates.items():
            start = time.perf_counter()
            prepared = untrained(candidate).fit(X, y)
            scores["LogME"].append(log_me_scorer(prepared, X, y))
            scores["H-score"].append(h_score_scorer(prepared, X, y))
            score_time += time.perf_counter() - start
            start = time.perf_counter()
            accuracy = 100 * candidate.fit(X, y).score(X_test, y_test)
            train_time += time.perf_counter() - start
            accuracies.append(accuracy)
            table.add(name, f"{label}: accuracy", accuracy)
            table.add(name, f"{label}: LogME", scores["LogME"][-1], unit="score")
            print(f"  {label}: {accuracy:.2f} % LogME {scores['LogME'][-1]:.4f}")
        for score, values in scores.items():
            tau = kendalltau(values, accuracies).statistic
            table.add(name, f"Kendall tau, {score} vs accuracy", tau, unit="tau")
        table.add(name, "best candidate (oracle: by test accuracy)", max(accuracies))
        # The grid a user would run: 3-fold CV accuracy of every candidate on
        # the labelled rows, then a refit of the best.
        start = time.perf_counter()
        folds = StratifiedKFold(3, shuffle=True, random_state=seed)
        cv = {
            label: cross_val_score(clone(c), X, y, cv=folds).mean()
            for label, c in _supervised_candidates(source, epochs).items()
        }
        chosen = max(cv, key=cv.get)
        grid = clone(candidates[chosen]).fit(X, y)
        grid_time = time.perf_counter() - start
        table.add(name, "grid (3-fold CV over all candidates)",
                  100 * grid.score(X_test, y_test), note=chosen)  # fmt: skip
        for top_k in (1, 2):
            start = time.perf_counter()
            selector = TransferSelector(
                list(_supervised_candidates(source, epochs).items()),
                top_k=top_k, random_state=seed,
            ).fit(X, y)  # fmt: skip
            elapsed = time.perf_counter() - start
            table.add(name, f"TransferSelector(top_k={top_k})",
                      100 * selector.score(X_test, y_test),
                      note=selector.best_name_)  # fmt: skip
            table.add(name, f"time: TransferSelector(top_k={top_k}) / grid",
                      elapsed / grid_time, unit="ratio",
                      note=f"{elapsed:.1f} s vs {grid_time:.1f} s")  # fmt: skip
        table.add(name, "time: scoring all / training all once",
                  score_time / train_time, unit="ratio",
                  note=f"{score_time:.1f} s vs {train_time:.1f} s")  # fmt: skip


def _usps_train_labels() -> np.ndarray:
    from sktransfer import load_usps

    return load_usps(subset="train", return_X_y=True)[1]


# -- without labels -------------------------------------------------------------

LABEL_FREE = {
    "SND": lambda held_out: soft_neighborhood_density_score,
    "IM (mutual information)": lambda held_out: information_maximization_score,
    "entropy": lambda held_out: prediction_entropy_score,
    "DEV": lambda held_out: DeepEmbeddedValidation(*held_out),
    "IWA": lambda held_out: ImportanceWeightedAccuracy(*held_out),
    "reverse validation": lambda held_out: ReverseValidation(*held_out),
}


ENSEMBLE = "ensemble agreement (EnsV)"


def _adaptation_candidates(
    source: Source, module, epochs: int, lr: float, batch: int, seed: int = 0
):
    common = dict(source=source, lr=lr, max_epochs=epochs, batch_size=batch,
                  random_state=seed)  # fmt: skip
    if module is not None:
        common["module"] = module
    return {
        "source only": TransferClassifier(**{**common, "max_epochs": 0}),
        "joint, no adaptation loss": TransferClassifier(**common),
        "DANN, mu=0.3": TransferClassifier(
            adaptation=DANN(), adaptation_weight=0.3, **common
        ),  # fmt: skip
        "DANN, mu=1": TransferClassifier(
            adaptation=DANN(), adaptation_weight=1.0, **common
        ),
        "Deep CORAL, mu=1": TransferClassifier(adaptation=DeepCORAL(), **common),
        "MMD, mu=1": TransferClassifier(adaptation=MMD(), **common),
        "information maximisation": TransferClassifier(
            adaptation=InformationMaximization(), **common
        ),
    }


def _pick_rows(table: Table, name: str, candidates: dict, X_t, X_eval, y_eval,
               held_out) -> dict:  # fmt: skip
    """Train every candidate, score it every label-free way; add a row per
    score: the accuracy of its pick. Returns the per-candidate record (kept in
    the JSON under ``candidates``, so that a selection rule can be studied
    without re-training)."""
    accuracy, scores = {}, {s: {} for s in [*LABEL_FREE, ENSEMBLE]}
    proba, source_accuracy = {}, {}
    for label, candidate in candidates.items():
        fitted = candidate.fit(X_t, np.full(len(X_t), -1))
        accuracy[label] = 100 * fitted.score(X_eval, y_eval)
        proba[label] = fitted.predict_proba(X_t)
        source_accuracy[label] = 100 * fitted.score(*held_out)
        for score, make in LABEL_FREE.items():
            scores[score][label] = make(held_out)(fitted, X_t)
        print(f"  {name} {label}: {accuracy[label]:.2f} %", flush=True)
    agreement = ensemble_agreement(list(proba.values()))
    scores[ENSEMBLE] = dict(zip(proba, agreement.tolist(), strict=True))
    predictions = {k: p.argmax(1) for k, p in proba.items()}
    oracle = max(accuracy.values())
    table.add(name, "oracle pick (target labels)", oracle,
              note=max(accuracy, key=accuracy.get))  # fmt: skip
    table.add(name, "source only", accuracy["source only"])
    baseline = predictions["source only"]
    record = {
        "task": name,
        "accuracy": accuracy,
        "held_out_source_accuracy": source_accuracy,
        "agreement_with_source_only": {
            k: float(np.mean(p == baseline)) for k, p in predictions.items()
        },
        "scores": {s: {k: float(v) for k, v in d.items()} for s, d in scores.items()},
    }
    for rule, choose in RULES.items():
        pick = choose(record)
        table.add(name, f"{rule} pick", accuracy[pick], note=pick)
    return record


def _best(values: dict) -> str:
    finite = {k: v for k, v in values.items() if np.isfinite(v)}
    return max(finite, key=finite.get)


def _guarded(score: str):
    """The score's pick, kept only if it agrees with the ensemble of all
    candidates at least as well as source only does (TransferSelector's
    ``baseline="source only"`` rule, the library's own function)."""

    def choose(record: dict) -> str:
        pick = _best(record["scores"][score])
        agreement = record["scores"][ENSEMBLE]
        return guarded_pick(pick, agreement, "source only")[0]

    return choose


#: How each row picks a candidate from a task's record: every score alone,
#: and SND and the IM score guarded by the baseline rule.
RULES = {
    **{s: (lambda r, s=s: _best(r["scores"][s])) for s in [*LABEL_FREE, ENSEMBLE]},
    "SND, guarded (baseline: source only)": _guarded("SND"),
    "IM, guarded (baseline: source only)": _guarded("IM (mutual information)"),
}


def _gaps(record: dict, pick: str) -> tuple[float, float]:
    """Points below the oracle and below source only of the candidate ``pick``."""
    accuracy = record["accuracy"]
    return (
        max(accuracy.values()) - accuracy[pick],
        accuracy["source only"] - accuracy[pick],
    )


def _digits_without_labels(table: Table, quick: bool, seed: int) -> list[dict]:
    from .skada_baseline import load_settings

    records = []
    epochs, pre_epochs = (1, 2) if quick else (5, 10)
    for name, (Xs, ys, Xt, X_eval, y_eval) in load_settings().items():
        if quick:
            Xs, ys, Xt = Xs[:2000], ys[:2000], Xt[:2000]
        rng = np.random.RandomState(seed)
        held = rng.rand(len(Xs)) < 0.1  # labelled source rows kept out of training
        pretrained = TransferClassifier(
            LeNet, augment=augmentation(), max_epochs=pre_epochs, batch_size=128,
            random_state=seed,
        ).fit(Xs[~held], ys[~held])  # fmt: skip
        source = Source(weights=pretrained, X=Xs[~held], y=ys[~held])
        candidates = _adaptation_candidates(source, LeNet, epochs, 1e-4, 128, seed)
        records.append(_pick_rows(table, name, candidates, Xt, X_eval, y_eval,
                                  (Xs[held], ys[held])))  # fmt: skip
    return records


def _office_caltech(table: Table, quick: bool, seed: int) -> list[dict]:
    data = {d: load_office_caltech10(d, return_X_y=True) for d in DOMAINS}
    records = []
    tasks = [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    for s, t in tasks[:2] if quick else tasks:
        Xs, ys = data[s]
        Xt, yt = data[t]
        scaler = StandardScaler().fit(np.vstack([Xs, Xt]))  # one scale for both
        Xs = scaler.transform(Xs).astype(np.float32)
        Xt = scaler.transform(Xt).astype(np.float32)
        rng = np.random.RandomState(seed)
        held = rng.rand(len(Xs)) < 0.15
        torch.manual_seed(seed)  # the MLP's first weights: not the process's history
        module = MLP(Xs.shape[1], 10, hidden_units=(256,), dropout=0.5)
        pretrained = TransferClassifier(
            module, max_epochs=30, batch_size=32, lr=1e-3, random_state=seed,
            optimizer__weight_decay=1e-3,
        ).fit(Xs[~held], ys[~held])  # fmt: skip
        source = Source(weights=pretrained, X=Xs[~held], y=ys[~held])
        candidates = _adaptation_candidates(source, module, 10, 1e-4, 32, seed)
        records.append(_pick_rows(table, f"Office-Caltech10 {s} -> {t}", candidates,
                                  Xt, Xt, yt, (Xs[held], ys[held])))  # fmt: skip
    return records


def _without_labels(table: Table, quick: bool, seeds: int) -> None:
    records = []
    for seed in range(seeds):
        records += _digits_without_labels(table, quick, seed)
        records += _office_caltech(table, quick, seed)
        table.extra["candidates"] = records
    for score, choose in RULES.items():
        gaps = [_gaps(record, choose(record)) for record in records]
        table.add("all unsupervised tasks", f"{score}: mean points below oracle",
                  float(np.mean([g[0] for g in gaps])), unit="points")  # fmt: skip
        table.add("all unsupervised tasks", f"{score}: worst points below source only",
                  float(np.max([g[1] for g in gaps])), unit="points")  # fmt: skip


def run_with_labels(quick: bool = False, seeds: int = 3) -> Table:
    """Only part 1 (with labels): ``--only selection_labels``."""
    seeds = 1 if quick else seeds
    table = Table(
        "selection_labels",
        "Choosing how to transfer with labels: MNIST(10k) -> USPS, LeNet "
        "pretrained with affine augmentation, 10 USPS labels per class, accuracy "
        "on USPS test; candidates fine-tune (freeze depth 0-3, lr 1e-4, batch "
        "32) or a layer's features + LogisticRegression; the grid is 3-fold CV "
        f"over all of them plus a refit. {seeds} seed(s). Quick mode: {quick}.",
        quick=quick,
    )
    _with_labels(table, quick, seeds)
    return table


def run(quick: bool = False, seeds: int = 1) -> Table:
    seeds = 1 if quick else seeds
    table = Table(
        "selection",
        "Choosing how to transfer. With labels: MNIST(10k) -> USPS, LeNet "
        "pretrained with affine augmentation, 10 USPS labels per class, accuracy "
        "on USPS test; candidates fine-tune (freeze depth 0-3, lr 1e-4, batch 32) "
        "or a layer's features + LogisticRegression. Without labels: each "
        "adaptation setting trained (digits: 5 epochs, lr 1e-4, batch 128; "
        "Office-Caltech10: MLP(256), 10 epochs, batch 32, features standardised "
        "over both domains), then picked by each label-free score; DEV, IWA and "
        "reverse validation use 10-15 % of the labelled source rows held out "
        f"from training. Quick mode: {quick}.",
        quick=quick,
    )
    _with_labels(table, quick, seeds)
    _without_labels(table, quick, 1)
    return table


def run_label_free(quick: bool = False, seeds: int = 3) -> Table:
    """Only part 2 (without labels): ``--only selection_label_free``."""
    seeds = 1 if quick else seeds
    table = Table(
        "selection_label_free",
        "Choosing how to adapt without target labels: each adaptation setting "
        "trained (digits: 5 epochs, lr 1e-4, batch 128; Office-Caltech10: "
        "MLP(256), 10 epochs, batch 32, features standardised over both "
        "domains), then picked by each label-free score; DEV, IWA and reverse "
        "validation use 10-15 % of the labelled source rows held out from "
        f"training. {seeds} seed(s), each a new pretraining, held-out split and "
        f"candidate seed. Quick mode: {quick}.",
        quick=quick,
    )
    _without_labels(table, quick, seeds)
    return table
