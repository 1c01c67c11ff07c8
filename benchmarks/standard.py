"""The standard digit protocol: MNIST <-> USPS as the literature runs it.

* **MNIST -> USPS**: source MNIST train (60,000 labelled images); target USPS
  train (7,291 images, unlabelled, or k labels per class); scored on USPS
  test (2,007), images no fit ever sees.
* **USPS -> MNIST**: source USPS train (7,291); target MNIST train (60,000,
  unlabelled); scored on MNIST test (10,000), images the adaptation never saw
  (inductive). The score on the 60,000 adaptation rows themselves is
  reported too, in rows marked "transductive".

USPS images are mapped to MNIST's 28x28 layout (``ImageMapping``, resize to
20 and pad, mass centre), as in every digit benchmark here.

**Settings frozen before the first standard run.** Every hyperparameter and
schedule below comes from the 10k development protocol (``adaptation``,
``adaptation_mean_teacher``, ``adaptation_source_free``, ``adaptation_oracle``,
``adaptation_ceiling``; the source there is the 10k MNIST test images) and is
fixed in :data:`FROZEN` before any standard row existed:

* the source: our LeNet trained 10 epochs on the source rows with the affine
  augmentation, batch 128, Adam lr 1e-3 (the library's default);
* the adaptation schedules keep the development protocol's number of
  optimiser steps, not its number of epochs: an epoch of joint training has
  ``ceil(max(n_source, n_target) / 128)`` steps, 79 in the development
  protocol and 469 here, so ``e`` development epochs become
  ``ceil(e * 79 / 469)`` epochs (5 -> 1, 10 -> 2, 20 -> 4, 40 -> 7). Epochs
  over the target rows only (source-free SHOT, fine-tuning on labelled target
  rows) are unchanged when the target is unchanged (MNIST -> USPS) and
  converted the same way when it grows (USPS -> MNIST: 79 -> 469 steps);
* each adaptation loss at the library's defaults (``adaptation_weight="auto"``),
  Adam lr 1e-4, batch 128 source + 128 target rows, augmentation;
* the mean teacher at the development protocol's recipe (weight 3, Adam lr
  1e-3), with the step-matched 10, 20 and 40 development epochs as candidates,
  the one with the highest information-maximisation score on the unlabelled
  target rows kept (no label);
* SHOT source-free at its defaults, Adam lr 1e-4, 5 development epochs;
* the label-free pick: :class:`~sktransfer.TransferSelector` over the
  unsupervised rows (the fitted models, frozen), ``baseline="source only"``,
  its default label-free score (soft neighbourhood density);
* k labels per class: fine-tuning on the k*10 rows alone (30 epochs, batch
  32, lr 1e-4, as ``mnist_usps``), joint with the source (lambda = 1, 5
  development epochs, lr 1e-4), and joint plus information maximisation on
  the unlabelled rest;
* ceilings (every target label; marked CEILING, never a result): fine-tuned on
  the target rows alone (5 epochs, lr 1e-4, as ``adaptation_oracle``) and
  jointly with the source at the mean teacher's schedule (lr 1e-3, 40
  development epochs, as ``adaptation_ceiling``).

Disclosure: the issue that asked for this protocol quoted one seed of it
measured before these settings were fixed (source only 97.56 %, information
maximisation for 10 epochs at lr 1e-4 98.26 % on MNIST -> USPS); that
schedule is not the frozen one (1 epoch) and nothing here was tuned on it.

**Target labels reach only the final scoring.** :class:`Task` holds what a
fit may see: the source rows and labels, the target rows, the evaluation
images without their labels, and :meth:`Task.few_labels` (the k labelled
rows a few-shot row trains on). The evaluation labels live in a
:class:`Grader` that :func:`run` creates and calls only after
:func:`fit_rows` has returned every row's predictions and choices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.frozen import FrozenEstimator

from sktransfer import (
    ImageMapping,
    Source,
    TransferClassifier,
    TransferSelector,
    load_mnist,
    load_usps,
)
from sktransfer.adaptation import (
    CDAN,
    DANN,
    MCC,
    MMD,
    SHOT,
    DeepCORAL,
    InformationMaximization,
    MeanTeacher,
)
from sktransfer.metrics import information_maximization_score
from sktransfer.models import LeNet

from ._harness import Table
from .mnist_usps import augmentation

BATCH = 128
DEV_STEPS = 79  # steps of one development-protocol epoch (10,000 / 128)

#: Everything the standard rows use, fixed before the first standard run.
FROZEN = {
    "pretrain_epochs": 10,
    "pretrain_lr": 1e-3,
    "batch": BATCH,
    "lr": 1e-4,
    "dev_epochs": 5,
    "teacher_lr": 1e-3,
    "teacher_weight": 3.0,
    "teacher_dev_epochs": (10, 20, 40),
    "shot_dev_epochs": 5,
    "finetune_epochs": 30,
    "finetune_batch": 32,
    "ceiling_finetune_epochs": 5,
    "ceiling_joint_dev_epochs": 40,
    "k": (1, 10),
}

#: Published figures the rows compare with, with their protocol.
PUBLISHED = {
    "MNIST -> USPS": {
        "SHOT": "SHOT 97.9 (Liang et al. 2020, Table 2: LeNet, MNIST train "
        "-> USPS train, scored on USPS test)",
        "mean teacher": "self-ensembling 98.26 (French et al. 2018, Table 1, "
        "minimal augmentation; MNIST train -> USPS)",
        "CDAN": "CDAN+E 95.6, CDAN 93.9 (Long et al. 2018, Table 4: MNIST "
        "train 60k -> USPS train 7,291)",
        "DANN": "DANN 90.4 (TLlib's MNIST -> USPS LeNet; skada has no "
        "published digit figure)",
    },
    "USPS -> MNIST": {
        "SHOT": "SHOT 98.0 (Liang et al. 2020, Table 2: USPS train -> "
        "MNIST train, scored on MNIST test)",
        "mean teacher": "self-ensembling 98.07 (French et al. 2018, Table 1, "
        "minimal augmentation)",
        "CDAN": "CDAN+E 98.0, CDAN 96.9 (Long et al. 2018, Table 4)",
        "DANN": "DANN 94.7 (TLlib's USPS -> MNIST LeNet)",
    },
}


def standard_epochs(dev_epochs: int, n_steps: int) -> int:
    """Epochs of ``n_steps`` steps with the development protocol's number of
    optimiser steps (``dev_epochs`` epochs of :data:`DEV_STEPS`), rounded up."""
    return max(1, math.ceil(dev_epochs * DEV_STEPS / n_steps))


@dataclass(frozen=True)
class Task:
    """What a fit may see: no evaluation label, and target labels only
    through :meth:`few_labels`."""

    name: str
    X_source: np.ndarray
    y_source: np.ndarray
    X_target: np.ndarray
    X_eval: np.ndarray
    _y_target: np.ndarray = field(repr=False)

    @property
    def steps(self) -> int:
        """Steps of one joint-training epoch."""
        return math.ceil(max(len(self.X_source), len(self.X_target)) / BATCH)

    def few_labels(self, k: int | None, seed: int) -> np.ndarray:
        """Target labels with all but ``k`` rows per class set to -1 (the
        rows a few-shot fit trains on); ``k=None``: every label (ceilings)."""
        if k is None:
            return self._y_target.copy()
        rng = np.random.RandomState(seed)
        rows = np.concatenate(
            [
                rng.choice(np.flatnonzero(self._y_target == c), k, replace=False)
                for c in range(10)
            ]
        )
        y = np.full(len(self._y_target), -1)
        y[rows] = self._y_target[rows]
        return y


class Grader:
    """The evaluation labels; :func:`run` calls it once every row is fitted."""

    def __init__(self, y_eval: np.ndarray, y_adaptation: np.ndarray | None) -> None:
        self._y_eval, self._y_adaptation = y_eval, y_adaptation

    def accuracy(self, predicted: np.ndarray, transductive: bool = False) -> float:
        y = self._y_adaptation if transductive else self._y_eval
        return 100.0 * float(np.mean(predicted == y))


def load_tasks(quick: bool = False) -> Iterator[tuple[Task, Grader]]:
    """The two standard tasks; ``quick``: 3,000 source and target rows."""
    X_mnist, y_mnist = load_mnist(subset="train", return_X_y=True)
    X_mnist_test, y_mnist_test = load_mnist(subset="test", return_X_y=True)
    X_usps_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_usps_test_raw, y_usps_test = load_usps(subset="test", return_X_y=True)
    mapping = ImageMapping(method="resize_pad", center="mass").fit(X_usps_raw)
    X_usps = mapping.transform(X_usps_raw).astype(np.float32)
    X_usps_test = mapping.transform(X_usps_test_raw).astype(np.float32)
    n = 3000 if quick else None
    yield (
        Task("MNIST -> USPS", X_mnist[:n], y_mnist[:n], X_usps, X_usps_test, y_usps),
        Grader(y_usps_test, None),  # USPS train labels are not scored
    )
    yield (
        Task(
            "USPS -> MNIST", X_usps, y_usps, X_mnist[:n], X_mnist_test[:n], y_mnist[:n]
        ),
        Grader(y_mnist_test[:n], y_mnist[:n]),
    )


@dataclass
class Fitted:
    """One row's outcome before scoring: predictions and how it was chosen."""

    method: str
    predicted: np.ndarray
    predicted_adaptation: np.ndarray | None = None
    note: str = ""
    seconds: float = 0.0


def _adapted(task: Task, source, loss, *, seed: int, epochs: int, lr: float, **kw):
    return TransferClassifier(
        LeNet, source=source, adaptation=loss, augment=augmentation(), lr=lr,
        max_epochs=epochs, batch_size=BATCH, random_state=seed, verbose=0, **kw,
    ).fit(task.X_target, np.full(len(task.X_target), -1))  # fmt: skip


CACHE = Path(__file__).parent / ".cache"  # git-ignored


def _pretrained(task: Task, seed: int, quick: bool) -> TransferClassifier:
    """The source network of ``task`` and ``seed``; kept in :data:`CACHE` (the
    source side only, so later runs of other rows start from the same one)."""
    epochs = 1 if quick else FROZEN["pretrain_epochs"]
    key = (f"{task.name.split()[0]}-{len(task.X_source)}-seed{seed}-{epochs}ep-"
           f"lr{FROZEN['pretrain_lr']}-torch{torch.__version__}.joblib")  # fmt: skip
    path = CACHE / key
    if path.is_file() and not quick:
        return joblib.load(path)
    pretrained = TransferClassifier(
        LeNet, augment=augmentation(), lr=FROZEN["pretrain_lr"], max_epochs=epochs,
        batch_size=BATCH, random_state=seed, verbose=0,
    ).fit(task.X_source, task.y_source)  # fmt: skip
    if not quick:
        CACHE.mkdir(exist_ok=True)
        joblib.dump(pretrained, path)
    return pretrained


#: The unsupervised rows at the library's defaults.
LOSSES: dict[str, Callable[[], object]] = {
    "DANN": DANN,
    "Deep CORAL": DeepCORAL,
    "MMD": MMD,
    "CDAN": CDAN,
    "MCC": MCC,
    "information maximisation": InformationMaximization,
}


def fit_rows(
    task: Task, seed: int, rows: set[str], quick: bool = False
) -> tuple[list[Fitted], dict]:
    """Every requested row of one task and seed, fitted; no label is scored.

    ``rows``: groups among ``"unsupervised"`` (every loss; ``"im"``:
    information maximisation alone), ``"teacher"``, ``"shot"``,
    ``"selector"``, ``"few_shot"``, ``"ceiling"``. Returns the rows and the
    per-epoch seconds of the fits that were timed.
    """
    out: list[Fitted] = []
    timing: dict[str, float] = {}
    steps = task.steps
    target_steps = math.ceil(len(task.X_target) / BATCH)
    epochs = 1 if quick else standard_epochs(FROZEN["dev_epochs"], steps)

    def keep(method, clf, start, note=""):
        out.append(
            Fitted(
                method,
                clf.predict(task.X_eval),
                clf.predict(task.X_target) if task.name.startswith("USPS") else None,
                note,
                time.perf_counter() - start,
            )
        )
        if hasattr(clf, "history_"):
            timing[method] = float(np.median(clf.history_[:, "dur"]))
        return clf

    start = time.perf_counter()
    pretrained = _pretrained(task, seed, quick)
    keep("source only", pretrained, start)
    print(f"{task.name} seed {seed}: source in {time.perf_counter() - start:.0f} s",
          flush=True)  # fmt: skip
    source = Source(weights=pretrained, X=task.X_source, y=task.y_source)
    unsupervised = {"source only": pretrained}

    losses = LOSSES if "unsupervised" in rows else {}
    if "im" in rows:  # information maximisation alone
        losses = {"information maximisation": InformationMaximization}
    if losses:
        for method, loss in losses.items():
            start = time.perf_counter()
            clf = _adapted(task, source, loss(), seed=seed, epochs=epochs,
                           lr=FROZEN["lr"])  # fmt: skip
            unsupervised[method] = keep(method, clf, start, f"{epochs} epoch(s)")

    if "teacher" in rows:
        candidates = {}
        for dev in (1,) if quick else FROZEN["teacher_dev_epochs"]:
            n = 1 if quick else standard_epochs(dev, steps)
            start = time.perf_counter()
            clf = _adapted(
                task, source, MeanTeacher(augment=augmentation()), seed=seed,
                epochs=n, lr=FROZEN["teacher_lr"],
                adaptation_weight=FROZEN["teacher_weight"],
            )  # fmt: skip
            candidates[n] = (clf, start)
        scores = {
            n: information_maximization_score(clf, task.X_target)
            for n, (clf, _) in candidates.items()
        }
        chosen = max(scores, key=scores.get)
        clf, start = candidates[chosen]
        shown = {n: round(s, 4) for n, s in scores.items()}
        unsupervised["mean teacher"] = keep(
            "mean teacher (epochs chosen by the IM score)", clf, start,
            f"{chosen} epochs chosen by the IM score among {shown}",
        )  # fmt: skip

    if "shot" in rows:
        # Epochs over the target rows alone: the development target had
        # 7,291 rows (MNIST -> USPS, unchanged here) or 10,000 (USPS -> MNIST).
        dev_target_steps = math.ceil((7291 if task.name.startswith("MNIST")
                                      else 10000) / BATCH)  # fmt: skip
        n = 1 if quick else max(1, math.ceil(
            FROZEN["shot_dev_epochs"] * dev_target_steps / target_steps))  # fmt: skip
        start = time.perf_counter()
        clf = _adapted(task, pretrained, SHOT(), seed=seed, epochs=n, lr=FROZEN["lr"])
        unsupervised["SHOT"] = keep("SHOT, source-free", clf, start, f"{n} epoch(s)")

    if "selector" in rows and len(unsupervised) > 1:
        start = time.perf_counter()
        selector = TransferSelector(
            [(name, FrozenEstimator(clf)) for name, clf in unsupervised.items()],
            baseline="source only",
            random_state=seed,
        ).fit(task.X_target, np.full(len(task.X_target), -1))
        keep(
            "label-free pick (TransferSelector, SND, baseline source only)",
            selector, start, f"picked {selector.best_name_!r}",
        )  # fmt: skip

    if "few_shot" in rows and task.name.startswith("MNIST"):
        for k in FROZEN["k"]:
            y_few = task.few_labels(k, seed)
            labelled = y_few != -1
            start = time.perf_counter()
            clf = TransferClassifier(
                LeNet, source=pretrained, augment=augmentation(), lr=FROZEN["lr"],
                max_epochs=1 if quick else FROZEN["finetune_epochs"],
                batch_size=FROZEN["finetune_batch"], random_state=seed, verbose=0,
            ).fit(task.X_target[labelled], y_few[labelled])  # fmt: skip
            keep(f"k={k}: fine-tuned on the labelled rows", clf, start)
            joint = dict(
                source=source, target_weight=1.0, augment=augmentation(),
                lr=FROZEN["lr"], max_epochs=epochs, batch_size=BATCH,
                random_state=seed, verbose=0,
            )  # fmt: skip
            start = time.perf_counter()
            clf = TransferClassifier(LeNet, **joint).fit(
                task.X_target[labelled], y_few[labelled]
            )
            keep(f"k={k}: joint with the source, no unlabelled row", clf, start)
            start = time.perf_counter()
            clf = TransferClassifier(
                LeNet, adaptation=InformationMaximization(), **joint
            ).fit(task.X_target, y_few)
            keep(f"k={k}: joint + information maximisation on the rest", clf, start)

    if "ceiling" in rows and task.name.startswith("MNIST"):
        y_all = task.few_labels(None, seed)
        start = time.perf_counter()
        clf = TransferClassifier(
            LeNet, source=pretrained, augment=augmentation(), lr=FROZEN["lr"],
            max_epochs=1 if quick else FROZEN["ceiling_finetune_epochs"],
            batch_size=BATCH, random_state=seed, verbose=0,
        ).fit(task.X_target, y_all)  # fmt: skip
        keep("CEILING: every target label, fine-tuned on the target alone", clf, start)
        n = 1 if quick else standard_epochs(FROZEN["ceiling_joint_dev_epochs"], steps)
        start = time.perf_counter()
        clf = TransferClassifier(
            LeNet, source=source, target_weight=1.0, augment=augmentation(),
            lr=FROZEN["teacher_lr"], max_epochs=n, batch_size=BATCH,
            random_state=seed, verbose=0,
        ).fit(task.X_target, y_all)  # fmt: skip
        keep(f"CEILING: every target label, joint with the source, {n} epochs",
             clf, start)  # fmt: skip
    return out, timing


ROW_GROUPS = ("unsupervised", "teacher", "shot", "selector", "few_shot", "ceiling")


def _published(task: str, method: str) -> str:
    for key, text in PUBLISHED[task].items():
        if key in method:
            return text
    return ""


def run(
    quick: bool = False,
    seeds: int | tuple[int, ...] = 3,
    rows: tuple[str, ...] = ROW_GROUPS,
    tasks: tuple[str, ...] = ("MNIST -> USPS", "USPS -> MNIST"),
    name: str = "standard_digits",
) -> Table:
    """Every row of :func:`fit_rows` on both tasks; scored after each seed's
    fits are done. ``rows`` and ``tasks`` narrow a run (then give it another
    ``name``, so that it does not replace the whole table); ``seeds``: how
    many (0, 1, ...) or which, so that seeds can run in separate processes
    and be joined by :func:`merge`."""
    seeds = (0,) if quick else tuple(range(seeds)) if isinstance(seeds, int) else seeds
    table = Table(
        name,
        f"Standard digit protocol ({len(seeds)} seed(s); quick: {quick}): "
        "MNIST train (60k) -> USPS train (7,291, unlabelled), scored on USPS "
        "test (2,007); USPS train -> MNIST train (60k, unlabelled), scored on "
        "MNIST test (10k, inductive) and, in rows marked transductive, on the "
        "adaptation rows. Settings frozen before the first run (see "
        f"benchmarks/standard.py): {FROZEN}. LeNet, affine augmentation. "
        "Rows marked CEILING use every target label and are references, not "
        "results.",
        quick=quick,
    )
    table.extra["frozen"] = FROZEN
    table.extra["seeds"] = list(seeds)
    seconds: dict = {}
    for task, grader in load_tasks(quick):
        if task.name not in tasks:
            continue
        for seed in seeds:
            fitted, timing = fit_rows(task, seed, set(rows), quick=quick)
            seconds[f"{task.name} seed {seed}"] = timing
            # Scoring starts here, after every choice above was made.
            for row in fitted:
                note = "; ".join(
                    x for x in (row.note, _published(task.name, row.method)) if x
                )
                table.add(task.name, row.method, grader.accuracy(row.predicted),
                          note=note)  # fmt: skip
                if row.predicted_adaptation is not None:
                    table.add(
                        task.name,
                        f"{row.method} [transductive: the adaptation rows]",
                        grader.accuracy(row.predicted_adaptation, transductive=True),
                    )
            table.extra["seconds_per_epoch"] = seconds
            table.save({"complete": False})
    return table


def merge(parts: tuple[str, ...], name: str) -> Table:
    """One table from runs of the same frozen settings on different seeds
    (``results/<part>.json``, each written by :func:`run`): the values of a
    row are joined seed by seed. Refuses parts whose settings differ, that
    share a seed, or whose rows differ (a row missing from one part would
    give a mean over fewer seeds under the same name)."""
    import json

    from ._harness import RESULTS

    loaded = [json.loads((RESULTS / f"{part}.json").read_text()) for part in parts]
    seeds: list[int] = []
    for part, data in zip(parts, loaded, strict=True):
        if json.loads(json.dumps(FROZEN)) != data["frozen"]:
            raise ValueError(f"{part} ran other settings than FROZEN: {data['frozen']}")
        # Runs before seeds were recorded ran seed 0 only.
        seeds += data.get("seeds", [0])
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"parts {parts} share a seed: {seeds}")
    keys = [[(r["setting"], r["method"]) for r in data["rows"]] for data in loaded]
    if any(k != keys[0] for k in keys):
        raise ValueError(f"parts {parts} hold different rows")
    for part, data in zip(parts, loaded, strict=True):
        n = len(data.get("seeds", [0]))
        if any(len(r["values"]) != n for r in data["rows"]):
            raise ValueError(f"{part} lacks a row on one of its {n} seed(s)")
    table = Table(
        name,
        loaded[0]["description"].replace(
            f"({len(loaded[0].get('seeds', [0]))} seed(s);", f"({len(seeds)} seed(s);"
        )
        + f" Joined from {', '.join(parts)} (seeds {seeds}).",
    )
    per_epoch = {k: v for d in loaded for k, v in d["seconds_per_epoch"].items()}
    table.extra.update(
        frozen=FROZEN,
        seeds=seeds,
        parts=list(parts),
        machines=[data["machine"] for data in loaded],
        seconds_per_epoch=per_epoch,
        part_seconds=[data["seconds"] for data in loaded],
    )
    # A note that differs by seed (the selector's pick) is kept for each seed.
    notes: dict[tuple[str, str], list[str]] = {}
    for data in loaded:
        for r in data["rows"]:
            notes.setdefault((r["setting"], r["method"]), []).append(r["note"])
    part_seeds = [data.get("seeds", [0]) for data in loaded]
    for data in loaded:
        for r in data["rows"]:
            kept = notes[r["setting"], r["method"]]
            note = (
                kept[0]
                if len(set(kept)) == 1
                else "; ".join(
                    f"seeds {s}: {n}" for s, n in zip(part_seeds, kept, strict=True)
                )
            )
            for value in r["values"]:
                table.add(r["setting"], r["method"], value, unit=r["unit"], note=note)
    # Every row has one value per seed (checked above): complete for its rows.
    table.save()
    return table


_MEMORY_SCRIPT = """
import resource, sys, time
import numpy as np
from sklearn.model_selection import GridSearchCV
from sktransfer import Source, TransferClassifier, load_mnist, load_usps, ImageMapping
from sktransfer.models import LeNet
n = int(sys.argv[2])
Xs, ys = load_mnist(subset="train", return_X_y=True)
Xs, ys = Xs[:n], ys[:n]
Xu, yu = load_usps(subset="train", return_X_y=True)
Xt = ImageMapping(method="resize_pad", center="mass").fit(Xu).transform(Xu)[:100]
yt = yu[:100]
pre = TransferClassifier(LeNet, max_epochs=1, random_state=0, verbose=0).fit(
    Xs[:500], ys[:500])
clf = TransferClassifier(LeNet, source=Source(weights=pre, X=Xs, y=ys),
                         target_weight=1.0, max_epochs=1, batch_size=128,
                         random_state=0, verbose=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if sys.argv[1] == "search":
    GridSearchCV(clf, {"target_weight": [0.5, 1.0]}, cv=3, n_jobs=1).fit(Xt, yt)
else:
    clf.fit(Xt, yt)
print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      time.perf_counter() - start)
"""


def run_memory(quick: bool = False, seeds: int = 1) -> Table:
    """Peak memory of one joint fit with a 60k-row ``Source`` against a
    ``GridSearchCV(cv=3, n_jobs=1)`` over two candidates with the same source
    (7 fits): the search must not copy the source per fold. Each is measured
    in a fresh process (peak resident set size, ``ru_maxrss``), after the data
    is loaded; one epoch each (469 steps), 100 labelled USPS rows."""
    import subprocess
    import sys

    n = 5000 if quick else 60000
    table = Table(
        "standard_memory",
        f"Peak resident memory (MiB) of a fresh process: a TransferClassifier "
        f"with Source(X={n} MNIST rows) fitted once, against GridSearchCV(cv=3, "
        "n_jobs=1) over 2 candidates (6 fold fits and the refit); 'before' is "
        "after loading the data and pretraining, before the fit. One epoch, "
        f"batch {BATCH}, 100 labelled USPS rows. Quick mode: {quick}.",
        quick=quick,
    )
    peaks, setting = {}, f"Source with {n} rows"
    for kind in ("single", "search"):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, kind, str(n)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        before, peak, seconds = map(float, out.stdout.split()[-3:])
        peaks[kind] = peak
        table.add(setting, f"{kind}: before",
                  before, unit="MiB")  # fmt: skip
        table.add(setting, f"{kind}: peak",
                  peak, unit="MiB")  # fmt: skip
        table.add(setting, f"{kind}: seconds",
                  seconds, unit="s")  # fmt: skip
    ratio = peaks["search"] / peaks["single"]
    table.add(setting, "peak ratio search / single (target <= 1.5)", ratio,
              unit="ratio")  # fmt: skip
    return table
