"""Joint training and unsupervised domain adaptation on MNIST <-> USPS.

Our TransferClassifier with DANN, Deep CORAL, MMD and information
maximisation, source only, and joint training with k = 10 target labels per
class; next to skada 0.6.0's DANN / DeepCoral / SourceOnly on the same LeNet,
data, epochs and batch composition (``batch`` source rows + ``batch`` target
rows per step), in the same process (``benchmarks/skada_baseline.py``).

Hyperparameters are chosen without target labels:

* every method runs with the library defaults (``adaptation_weight="auto"``:
  DANN 0.3, the others 1 -- the committed ``adaptation`` results predate
  "auto" and ran DANN at 1 --, DANN's warm-up gamma 10, features of the
  penultimate block ``fc1``, logits for information maximisation) and the
  same optimisation for all methods and both libraries: Adam, lr 1e-4 (the
  fine-tuning rate of ``mnist_usps``), ``epochs`` epochs, from the same start
  (a LeNet pretrained on the source with affine augmentation, as in
  ``mnist_usps``);
* the "μ chosen by IM score" rows choose the adaptation weight μ from
  ``SELECTION_GRID`` with no label: each μ is fitted on the unlabelled target
  rows, and the fit whose predictions on those rows have the highest
  :func:`sktransfer.metrics.information_maximization_score` is kept
  (transductive selection; ``GridSearchCV(scoring=...)`` does the same with
  held-out folds at k times the cost).

Our rows use RandomAffine on every batch; the like-for-like comparisons with
skada (same pretrained start, no augmentation) are the "no augmentation" rows;
skada's MMD method is DAN (its default bandwidths; ours: MMD's defaults).
``python -m benchmarks --only adaptation_mmd`` runs the MMD rows alone.
Seconds per epoch are the median of skorch's per-epoch durations for both
libraries. Our epochs have ``ceil(n / batch)`` steps and skada's
``floor(n / batch)``, so the time ratios are per step, from ours and
skada's DANN, Deep CORAL and MMD (skada: DAN; no augmentation) run in turn,
3 times 2 epochs each, on seed 0's start: the machine's speed drifts over an
hour-long run. Ours trains the CNN in the channels-last memory layout
(``memory_format="auto"``); the "memory_format=contiguous" rows time ours in
the default layout, in the same alternation.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sktransfer import Source, TransferClassifier, load_usps
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
from .mnist_usps import augmentation, few_labels

SELECTION_GRID = (0.3, 1.0, 3.0)
#: The transfer weights the few-shot CV row chooses among.
LAMBDA_GRID = (0.3, 1.0, 3.0)


def _joint(
    source: Source, *, seed, lr, epochs, batch, module=LeNet, **kw
) -> TransferClassifier:
    """``module`` (our LeNet) trained jointly with ``source``'s rows on
    labelled target rows (lambda = 1), with the affine augmentation; unfitted."""
    return TransferClassifier(
        module, source=source, target_weight=1.0, augment=augmentation(), lr=lr,
        max_epochs=epochs, batch_size=batch, random_state=seed, **kw,
    )  # fmt: skip


def _fit_unlabelled(
    source: Source, X_target, loss, augment, *, seed, lr, epochs, batch, **kw
) -> TransferClassifier:
    """Our LeNet adapted to the unlabelled target rows from ``source``."""
    return TransferClassifier(
        LeNet,
        source=source,
        adaptation=loss,
        augment=augment,
        lr=lr,
        max_epochs=epochs,
        batch_size=batch,
        random_state=seed,
        **kw,
    ).fit(X_target, np.full(len(X_target), -1))


def _time_against_skada(
    table: Table,
    name: str,
    source: Source,
    X_target: np.ndarray,
    init: dict,
    methods: tuple,
    *,
    quick: bool,
    lr: float,
    batch: int,
    bfloat16: tuple | None = None,
) -> None:
    """Seconds per step of ours and skada's ``methods``, alternated.

    The two run in turn, ``repeats`` times each, so that a change in the
    machine's speed hits both; no augmentation, the same start and batches.
    Per step, because our epochs have one more (partial-batch) step. With
    ``bfloat16=(X_eval, y_eval)``, ours also runs with
    ``precision="bfloat16"`` (channels-last), and the accuracy of both our
    precisions after these short fits is recorded (the median over repeats).
    For DANN, the plain PyTorch loop of the same step runs in the same turns,
    in both layouts: what a step costs on this network with no library.
    """
    from . import skada_baseline as base

    epochs, repeats = (1, 1) if quick else (2, 3)
    Xs, ys = source.X, source.y
    steps_ours = math.ceil(max(len(Xs), len(X_target)) / batch)
    steps_skada = max(len(Xs) // batch, len(X_target) // batch)
    variants = {"auto": {}, "contiguous": {"memory_format": "contiguous"}}
    if bfloat16 is not None:
        variants["bfloat16"] = {"precision": "bfloat16"}
        variants["bfloat16, contiguous"] = {
            "precision": "bfloat16",
            "memory_format": "contiguous",
        }
    for method, loss in methods:
        times = {variant: [] for variant in variants}
        accuracy = {variant: [] for variant in variants}
        theirs = []
        # The floor: DANN as a bare PyTorch loop, in both layouts (DANN only).
        loops = {"contiguous": [], "channels-last": []} if method == "dann" else {}
        for repeat in range(repeats):
            _, per_epoch = base.skada_fit_predict(
                method, Xs, ys, X_target, epochs=epochs, batch_size=batch,
                lr=lr, seed=repeat, init_state=init,
            )  # fmt: skip
            theirs.append(per_epoch / steps_skada)
            for layout, loop_times in loops.items():
                _, per_epoch = base.plain_dann_fit(
                    Xs, ys, X_target, epochs=epochs, batch_size=batch, lr=lr,
                    seed=repeat, channels_last=layout == "channels-last",
                )  # fmt: skip
                loop_times.append(per_epoch / steps_skada)
            for variant, settings in variants.items():
                clf = _fit_unlabelled(
                    source, X_target, loss(), None, seed=repeat, lr=lr,
                    epochs=epochs, batch=batch, **settings,
                )  # fmt: skip
                times[variant].append(_seconds_per_epoch(clf) / steps_ours)
                if bfloat16 is not None:
                    accuracy[variant].append(100 * clf.score(*bfloat16))
        ours, contiguous = times["auto"], times["contiguous"]
        if bfloat16 is not None:
            half = np.median(times["bfloat16"])
            table.add(name, f"ms per step, ours precision=bfloat16: {method}",
                      1000 * half, unit="ms")  # fmt: skip
            table.add(name, f"time ratio ours (bfloat16)/skada: {method}",
                      half / np.median(theirs), unit="ratio")  # fmt: skip
            half_plain = np.median(times["bfloat16, contiguous"])
            table.add(name, "ms per step, ours precision=bfloat16, "
                      f"memory_format=contiguous: {method}", 1000 * half_plain,
                      unit="ms")  # fmt: skip
            table.add(name, f"time ratio ours (bfloat16, contiguous)/skada: {method}",
                      half_plain / np.median(theirs), unit="ratio")  # fmt: skip
            for variant in ("auto", "bfloat16"):
                table.add(name, f"accuracy after {repeats}x{epochs} epochs, ours "
                          f"({'float32' if variant == 'auto' else variant}): {method}",
                          float(np.median(accuracy[variant])))  # fmt: skip
        mine, skada = np.median(ours), np.median(theirs)
        for layout, loop_times in loops.items():
            loop = np.median(loop_times)
            table.add(name, f"ms per step, plain PyTorch loop ({layout}): {method}",
                      1000 * loop, unit="ms")  # fmt: skip
            table.add(name, f"time ratio plain PyTorch loop ({layout})/skada: "
                      f"{method}", loop / skada, unit="ratio")  # fmt: skip
        label = f"{method}, no augmentation, {repeats}x{epochs} epochs alternated"
        table.add(name, f"ms per step, ours: {label}", 1000 * mine, unit="ms")
        table.add(name, f"ms per step, skada: {label}", 1000 * skada, unit="ms")
        plain = np.median(contiguous)
        table.add(
            name, f"ms per step, ours memory_format=contiguous: {label}",
            1000 * plain, unit="ms",
        )  # fmt: skip
        table.add(name, f"time ratio ours/skada: {method}", mine / skada, unit="ratio")
        table.add(
            name, f"time ratio ours (contiguous)/skada: {method}", plain / skada,
            unit="ratio",
        )  # fmt: skip


def _seconds_per_epoch(clf: TransferClassifier) -> float:
    return float(np.median(clf.history_[:, "dur"]))


_TIMED = (("dann", DANN), ("deep_coral", DeepCORAL), ("dan", MMD))


def _runs(
    table: Table,
    quick: bool,
    seeds: int,
    batch: int,
    pre_epochs: int,
    only=None,
    module=LeNet,
    tag: str = "",
):
    """Per direction and seed: the data and the source pretrained on it.

    Yields ``(name, seed, (Xs, ys, Xt, X_eval, y_eval, y_target), pretrained)``;
    ``y_target`` (the target training labels) only serves to draw k labelled
    rows. Adds the "source only (pretrained)" row. ``only``: the directions
    to run (default: both); ``module``: the network (default our LeNet),
    ``tag``: appended to the setting's name in the table and in what is
    yielded (to tell networks apart).
    """
    from . import skada_baseline as base

    settings = base.load_settings()
    y_usps_train = load_usps(subset="train", return_X_y=True)[1]
    for name, (Xs, ys, Xt, X_eval, y_eval) in settings.items():
        if only is not None and name not in only:
            continue
        y_target = y_usps_train if name.startswith("MNIST") else y_eval
        if quick:  # a smoke run: 2000 rows of each domain
            Xs, ys = Xs[:2000], ys[:2000]
            Xt, y_target = Xt[:2000], y_target[:2000]
        for seed in range(seeds):
            start = time.perf_counter()
            pretrained = TransferClassifier(
                module,
                augment=augmentation(),
                max_epochs=pre_epochs,
                batch_size=batch,
                random_state=seed,
            ).fit(Xs, ys)
            print(
                f"{name} seed {seed}: source pretrained in "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
            accuracy = 100 * pretrained.score(X_eval, y_eval)
            table.add(name + tag, "source only (pretrained)", accuracy)
            data = (Xs, ys, Xt, X_eval, y_eval, y_target)
            yield name + tag, seed, data, pretrained


def _description(epochs: int, lr: float, batch: int, seeds: int, quick: bool) -> str:
    return (
        f"Unsupervised DA, LeNet, {epochs} epochs, Adam lr {lr}, batch {batch} "
        f"source + {batch} target rows per step, {seeds} seed(s); target accuracy "
        "(%) and seconds per epoch. MNIST->USPS: evaluated on USPS test (2007); "
        "USPS->MNIST: on the same 10k unlabelled MNIST images (transductive). "
        f"Quick mode: {quick}."
    )


def _settings(quick: bool, seeds: int) -> tuple[int, int, int, int, float]:
    """``(seeds, epochs, batch, pretraining epochs, lr)``."""
    return (1, 1, 128, 1, 1e-4) if quick else (seeds, 5, 128, 10, 1e-4)


def run(quick: bool = False, seeds: int = 1, with_skada: bool = True) -> Table:
    from . import skada_baseline as base

    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation", _description(epochs, lr, batch, seeds, quick), quick=quick
    )
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, y_target = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        fit = functools.partial(
            _fit_unlabelled, source, Xt, seed=seed, lr=lr, epochs=epochs, batch=batch
        )
        methods = [
            ("joint, no adaptation loss", None, augmentation()),
            ("DANN", DANN(), augmentation()),
            ("Deep CORAL", DeepCORAL(), augmentation()),
            ("MMD", MMD(), augmentation()),
            ("information maximisation", InformationMaximization(), augmentation()),
            # Like for like with skada (no augmentation, same start, its
            # DANN weight reg=1).
            ("DANN μ=1, no augmentation", DANN(), None),
            ("Deep CORAL, no augmentation", DeepCORAL(), None),
            ("MMD, no augmentation", MMD(), None),
        ]
        fitted = {}
        for method, loss, augment in methods:
            weight = 1.0 if "μ=1" in method else "auto"
            clf = fitted[method] = fit(loss, augment, adaptation_weight=weight)
            table.add(name, f"ours: {method}", 100 * clf.score(X_eval, y_eval))
            seconds = _seconds_per_epoch(clf)
            table.add(name, f"ours: {method} (s/epoch)", seconds, unit="s")
        # The adaptation weight chosen with no target label.
        for method, make in (
            ("DANN", DANN),
            ("information maximisation", InformationMaximization),
        ):
            candidates = {
                mu: fitted[method]  # fitted at the loss's default weight
                if mu == make.default_weight
                else fit(make(), augmentation(), adaptation_weight=mu)
                for mu in SELECTION_GRID
            }
            scores = {
                mu: information_maximization_score(c, Xt)
                for mu, c in candidates.items()
            }
            best = max(scores, key=scores.get)
            row = f"ours: {method}, μ chosen by IM score"
            table.add(name, row, 100 * candidates[best].score(X_eval, y_eval))
            table.rows[(name, row)].note += f"seed {seed}: μ={best}; "
            print(f"    IM scores {scores}", flush=True)
        # Joint training with k = 10 labelled target rows per class (the
        # rest of the target unlabelled): L_source + 1.0 * L_target.
        idx = few_labels(y_target, 10, seed)
        y_joint = np.full(len(Xt), -1)
        y_joint[idx] = y_target[idx]
        clf = TransferClassifier(
            LeNet,
            source=source,
            target_weight=1.0,
            augment=augmentation(),
            lr=lr,
            max_epochs=epochs,
            batch_size=batch,
            random_state=seed,
        ).fit(Xt, y_joint)
        table.add(
            name, "ours: joint, k=10 target labels", 100 * clf.score(X_eval, y_eval)
        )
        if not with_skada:
            continue
        # skada starts from the same pretrained weights as ours.
        init = pretrained.module_.state_dict()
        for method in ("source_only", "dann", "deep_coral", "dan"):
            predict, per_epoch = base.skada_fit_predict(
                method, Xs, ys, Xt, epochs=epochs, batch_size=batch,
                lr=lr, seed=seed, init_state=init,
            )  # fmt: skip
            acc = 100 * np.mean(predict(X_eval) == y_eval)
            table.add(name, f"skada: {method}", acc)
            table.add(name, f"skada: {method} (s/epoch)", per_epoch, unit="s")
        if seed == 0:
            _time_against_skada(
                table, name, source, Xt, init, _TIMED, quick=quick, lr=lr, batch=batch
            )
    return table


def run_mmd(quick: bool = False, seeds: int = 1) -> Table:
    """The MMD rows alone: ours without augmentation against skada's DAN.

    The same sources, data and settings as :func:`run` (which includes these
    rows too); for adding them to a finished full run of :func:`run`.
    """
    from . import skada_baseline as base

    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_mmd", _description(epochs, lr, batch, seeds, quick), quick=quick
    )
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        clf = _fit_unlabelled(
            source, Xt, MMD(), None, seed=seed, lr=lr, epochs=epochs, batch=batch
        )
        table.add(name, "ours: MMD, no augmentation", 100 * clf.score(X_eval, y_eval))
        table.add(
            name, "ours: MMD, no augmentation (s/epoch)", _seconds_per_epoch(clf),
            unit="s",
        )  # fmt: skip
        init = pretrained.module_.state_dict()
        predict, per_epoch = base.skada_fit_predict(
            "dan", Xs, ys, Xt, epochs=epochs, batch_size=batch, lr=lr, seed=seed,
            init_state=init,
        )  # fmt: skip
        table.add(name, "skada: dan", 100 * np.mean(predict(X_eval) == y_eval))
        table.add(name, "skada: dan (s/epoch)", per_epoch, unit="s")
        if seed == 0:
            _time_against_skada(
                table, name, source, Xt, init, _TIMED[2:], quick=quick, lr=lr,
                batch=batch,
            )  # fmt: skip
    return table


def run_timing(quick: bool = False, seeds: int = 1) -> Table:
    """Only the alternated per-step timing against skada (DANN, Deep CORAL,
    MMD/DAN), on the full data: a re-runnable speed check (~25 min), with
    ours in float32 (both layouts) and in bfloat16, and for DANN the floor
    any library's step has on this network: the same DANN step written as a
    bare PyTorch loop (``skada_baseline.plain_dann_fit``), in both layouts.

    The source is pretrained for one epoch: the weights do not change the
    time of a step.
    """
    _, _, batch, _, lr = _settings(quick, 1)
    table = Table(
        "adaptation_timing",
        "Seconds per training step, ours vs skada 0.6.0, alternated "
        f"({'1x1' if quick else '3x2'} epochs), LeNet, Adam lr {lr}, batch "
        f"{batch} source + {batch} target rows, no augmentation; ours in float32 "
        "(channels-last, and contiguous) and with precision='bfloat16' "
        "(channels-last, and contiguous), with the accuracy of both our "
        "precisions (channels-last) after these short fits; for DANN also a "
        "bare PyTorch loop of the same step (no library), contiguous and "
        f"channels-last, in the same alternation. Quick mode: {quick}.",
        quick=quick,
    )
    for name, _, data, pretrained in _runs(table, quick, 1, batch, pre_epochs=1):
        Xs, ys, Xt, X_eval, y_eval = data[:5]
        source = Source(weights=pretrained, X=Xs, y=ys)
        init = pretrained.module_.state_dict()
        _time_against_skada(
            table, name, source, Xt, init, _TIMED, quick=quick, lr=lr, batch=batch,
            bfloat16=(X_eval, y_eval),
        )  # fmt: skip
    return table


#: CDAN's digit results (Long et al., NeurIPS 2018: the full MNIST
#: train set, their LeNet). The MCC paper reports no digit pair.
CDAN_PUBLISHED = {
    ("MNIST(10k) -> USPS", "CDAN"): "93.9",
    ("MNIST(10k) -> USPS", "CDAN+E"): "95.6",
    ("USPS(7291) -> MNIST", "CDAN"): "96.9",
    ("USPS(7291) -> MNIST", "CDAN+E"): "98.0",
}


def run_new_losses(quick: bool = False, seeds: int = 1) -> Table:
    """MCC and CDAN / CDAN+E next to source only and information maximisation,
    with the settings of :func:`run` (augmentation, default weights), and
    CDAN's published digit figures."""
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_new_losses",
        _description(epochs, lr, batch, seeds, quick)
        + " Default adaptation_weight (1.0) for every loss.",
        quick=quick,
    )
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        fit = functools.partial(
            _fit_unlabelled, source, Xt, seed=seed, lr=lr, epochs=epochs, batch=batch
        )
        for method, loss in (
            ("information maximisation", InformationMaximization()),
            ("MCC", MCC()),
            ("CDAN", CDAN()),
            ("CDAN+E", CDAN(entropy=True)),
        ):
            clf = fit(loss, augmentation())
            published = CDAN_PUBLISHED.get((name, method))
            table.add(
                name, f"ours: {method}", 100 * clf.score(X_eval, y_eval),
                note=f"published (Long et al. 2018, their protocol): {published}"
                if published else "",
            )  # fmt: skip
            seconds = _seconds_per_epoch(clf)
            table.add(name, f"ours: {method} (s/epoch)", seconds, unit="s")
    return table


#: The mean teacher's longer schedules: the paper's (and the library's
#: default) Adam learning rate, for each of these numbers of epochs; the
#: "epochs chosen by IM score" row keeps, per seed, the one whose predictions
#: on the unlabelled target rows have the highest IM score.
TEACHER_LR, TEACHER_EPOCHS = 1e-3, (10, 20, 40)


def run_mean_teacher(quick: bool = False, seeds: int = 1) -> Table:
    """Self-ensembling (:class:`~sktransfer.adaptation.MeanTeacher`) with the
    paper's settings (adaptation weight 3, confidence threshold 0.968, class
    balance 0.005, EMA 0.99) and the affine augmentation of the other rows for
    both views, next to source only and information maximisation; the
    published figures (French et al. 2018, minimal augmentation) in the
    notes.

    Schedules for the mean teacher: the other rows' (Adam lr 1e-4,
    ``epochs``), and the paper's learning rate, 1e-3 (also the library's
    default ``lr``), for each of ``TEACHER_EPOCHS`` epochs. The "epochs
    chosen by IM score" row keeps, per seed, the lr-1e-3 fit whose
    predictions on the unlabelled target rows have the highest
    :func:`~sktransfer.metrics.information_maximization_score`: no target
    label is read.

    Disclosure: lr 1e-3 for 10 epochs was chosen after three schedules had
    been scored on seed 0's USPS -> MNIST target labels (lr 3e-4 for 10 and
    20 epochs: 98.45, 98.42; lr 1e-3 for 10: 98.71) and lr 3e-4 for 10 epochs
    on seed 0's MNIST -> USPS (97.26). 20 and 40 epochs at lr 1e-3 were
    added as candidates after probes scored on target labels: 20 epochs on
    seeds 1 and 2 of USPS -> MNIST (98.94, 98.88 against 98.03, 98.21 for 10)
    and on seed 0 of MNIST -> USPS (97.21 against 97.61), 40 epochs on seed 0
    of USPS -> MNIST (99.15 against 98.71); in each probe the IM score ranked
    the longer schedule first, also where it was less accurate. What the
    IM-score row keeps is then decided without labels.
    """
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    teacher_epochs = (1, 2) if quick else TEACHER_EPOCHS
    table = Table(
        "adaptation_mean_teacher",
        _description(epochs, lr, batch, seeds, quick)
        + " MeanTeacher: adaptation_weight 3 (the paper's), threshold 0.968,"
        " class_balance 0.005, ema 0.99, each view RandomAffine as `augment`;"
        f" the 'paper's lr' rows: Adam lr {TEACHER_LR} for"
        f" {' and '.join(map(str, teacher_epochs))} epochs, and the one of them"
        " with the highest IM score on the unlabelled target rows (no label;"
        " see the docstring for how the candidates were chosen).",
        quick=quick,
    )
    published = {"MNIST(10k) -> USPS": "98.26", "USPS(7291) -> MNIST": "98.07"}
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        note = f"published (French et al. 2018, their MNIST): {published[name]}"
        source = Source(weights=pretrained, X=Xs, y=ys)
        fit = functools.partial(
            _fit_unlabelled, source, Xt, seed=seed, lr=lr, epochs=epochs, batch=batch
        )
        im = fit(InformationMaximization(), augmentation())
        table.add(
            name, "ours: information maximisation", 100 * im.score(X_eval, y_eval)
        )
        teacher = fit(
            MeanTeacher(augment=augmentation()), augmentation(), adaptation_weight=3.0
        )
        table.add(
            name, "ours: mean teacher", 100 * teacher.score(X_eval, y_eval), note=note
        )
        seconds = _seconds_per_epoch(teacher)
        table.add(name, "ours: mean teacher (s/epoch)", seconds, unit="s")
        accuracy, im_score = {}, {}
        for n_epochs in teacher_epochs:
            teacher = fit(
                MeanTeacher(augment=augmentation()), augmentation(),
                adaptation_weight=3.0, lr=TEACHER_LR, epochs=n_epochs,
            )  # fmt: skip
            accuracy[n_epochs] = 100 * teacher.score(X_eval, y_eval)
            im_score[n_epochs] = information_maximization_score(teacher, Xt)
            table.add(
                name,
                f"ours: mean teacher, the paper's lr {TEACHER_LR}, {n_epochs} epochs",
                accuracy[n_epochs],
                note=note,
            )
        chosen = max(im_score, key=im_score.get)
        rounded = {n: round(score, 4) for n, score in im_score.items()}
        print(f"    IM scores by epochs {rounded}", flush=True)
        table.add(
            name,
            f"ours: mean teacher, the paper's lr {TEACHER_LR}, epochs by IM score",
            accuracy[chosen],
            note=f"chose {chosen} epochs; {note}",
        )
    return table


def run_loss_scales(quick: bool = False, seeds: int = 1) -> Table:
    """How large each adaptation loss is at ``adaptation_weight=1`` next to
    the source loss it is added to: the epoch means of ``adapt_loss`` and
    ``source_loss`` in ``history_`` over the first epoch from the pretrained
    source, and their ratio (what μ = 1 means for each loss)."""
    seeds, _, batch, pre_epochs, lr = _settings(quick, 1)
    table = Table(
        "adaptation_loss_scales",
        f"Epoch-mean adapt_loss and source_loss of one epoch at "
        f"adaptation_weight=1 (Adam lr {lr}, batch {batch}+{batch}, no "
        f"augmentation), from the LeNet pretrained {pre_epochs} epoch(s) on "
        f"the source; ratio = adapt_loss / source_loss. Quick mode: {quick}.",
        quick=quick,
    )
    losses = {
        "DANN": DANN, "CDAN": CDAN, "DeepCORAL": DeepCORAL, "MMD": MMD,
        "InformationMaximization": InformationMaximization, "MCC": MCC,
        "MeanTeacher": MeanTeacher,
    }  # fmt: skip
    for name, seed, data, pretrained in _runs(table, quick, 1, batch, pre_epochs):
        Xs, ys, Xt = data[:3]
        source = Source(weights=pretrained, X=Xs, y=ys)
        for method, loss in losses.items():
            clf = _fit_unlabelled(
                source, Xt, loss(), None, seed=seed, lr=lr, epochs=1, batch=batch,
                adaptation_weight=1.0,
            )  # fmt: skip
            adapt = float(clf.history_[0, "adapt_loss"])
            source_loss = float(clf.history_[0, "source_loss"])
            table.add(name, f"{method}: adapt_loss", adapt, unit="loss")
            table.add(name, f"{method}: adapt_loss / source_loss",
                      adapt / source_loss, unit="ratio")  # fmt: skip
    return table


def run_source_free(quick: bool = False, seeds: int = 1) -> Table:
    """Source-free adaptation (:class:`~sktransfer.adaptation.SHOT`): the
    pretrained network's weights and the unlabelled target rows, no source
    row; SHOT with the paper's settings (pseudo-label weight 0.3, diversity
    1, head frozen) and SHOT-IM (no pseudo-labels), next to source only and
    information maximisation with the source rows (the same loss on the
    target, plus the source loss). Settings of :func:`run`: augmentation,
    ``adaptation_weight`` 1."""
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_source_free",
        _description(epochs, lr, batch, seeds, quick)
        + " Source-free rows: batches of target rows only, from the"
        " pretrained network's weights (no source row).",
        quick=quick,
    )
    # Liang, Hu & Feng, ICML 2020, Table 2: their LeNet, the 60k MNIST train
    # set, 30 epochs; not results of this run.
    published = {"MNIST(10k) -> USPS": "98.0", "USPS(7291) -> MNIST": "98.4"}
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        weights_only = functools.partial(
            _fit_unlabelled, pretrained, Xt, seed=seed, lr=lr, epochs=epochs,
            batch=batch,
        )  # fmt: skip
        for method, loss in (
            ("SHOT, source-free", SHOT()),
            ("SHOT-IM, source-free", SHOT(pseudo_label_weight=0.0)),
        ):
            clf = weights_only(loss, augmentation())
            note = f"published SHOT (Liang et al. 2020): {published[name]}"
            table.add(
                name,
                f"ours: {method}",
                100 * clf.score(X_eval, y_eval),
                note=note if method.startswith("SHOT,") else "",
            )
        with_rows = _fit_unlabelled(
            Source(weights=pretrained, X=Xs, y=ys), Xt, InformationMaximization(),
            augmentation(), seed=seed, lr=lr, epochs=epochs, batch=batch,
        )  # fmt: skip
        table.add(
            name,
            "ours: information maximisation, with source rows",
            100 * with_rows.score(X_eval, y_eval),
        )
    return table


def run_defaults(quick: bool = False, seeds: int = 1) -> Table:
    """Every adaptation loss with the library's defaults, ``adaptation_weight``
    included (``"auto"``: the loss's ``default_weight``), next to source only:
    the note flags a row more than 1 point below source only on average."""
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_defaults",
        _description(epochs, lr, batch, seeds, quick)
        + " Every loss with its default parameters and adaptation_weight='auto'"
        " (DANN 0.3, MeanTeacher 3, the others 1); RandomAffine on every batch"
        " unless the row says otherwise (MeanTeacher: also its two views).",
        quick=quick,
    )
    losses = {
        "DANN": DANN, "CDAN": CDAN, "Deep CORAL": DeepCORAL, "MMD": MMD,
        "information maximisation": InformationMaximization, "MCC": MCC,
    }  # fmt: skip
    results: dict[tuple[str, str], list[float]] = {}
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        fit = functools.partial(
            _fit_unlabelled, source, Xt, seed=seed, lr=lr, epochs=epochs, batch=batch
        )
        runs = [(method, loss(), augmentation()) for method, loss in losses.items()]
        runs += [
            ("DANN, no augmentation", DANN(), None),
            ("mean teacher", MeanTeacher(augment=augmentation()), augmentation()),
        ]
        results.setdefault((name, "source only"), []).append(
            100 * pretrained.score(X_eval, y_eval)
        )
        for method, loss, augment in runs:
            accuracy = 100 * fit(loss, augment).score(X_eval, y_eval)
            results.setdefault((name, method), []).append(accuracy)
            table.add(name, f"ours: {method} (defaults)", accuracy)
    for (name, method), accuracies in results.items():
        if method != "source only":
            gap = np.mean(accuracies) - np.mean(results[name, "source only"])
            table.rows[name, f"ours: {method} (defaults)"].note = (
                f"{gap:+.2f} vs source only"
                + (": more than 1 point below" if gap < -1 else "")
            )
    return table


def run_skada_new_losses(quick: bool = False, seeds: int = 1) -> Table:
    """CDAN and MCC, ours and skada 0.6.0's, like for like: the same
    pretrained start, data, batches, epochs and optimiser, no augmentation,
    weight 1 (skada's ``reg=1``; CDAN: DANN's critic on the outer product of
    features and softmax predictions, warm-up gamma 10 for both; MCC:
    temperature 2.5, the paper's and our default, for both)."""
    from . import skada_baseline as base

    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_skada_new_losses",
        _description(epochs, lr, batch, seeds, quick)
        + " No augmentation; adaptation weight 1 for both libraries.",
        quick=quick,
    )
    for name, seed, data, pretrained in _runs(table, quick, seeds, batch, pre_epochs):
        Xs, ys, Xt, X_eval, y_eval, _ = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        init = pretrained.module_.state_dict()
        for method, loss in (("cdan", CDAN()), ("mcc", MCC())):
            clf = _fit_unlabelled(
                source, Xt, loss, None, seed=seed, lr=lr, epochs=epochs,
                batch=batch, adaptation_weight=1.0,
            )  # fmt: skip
            table.add(name, f"ours: {method}", 100 * clf.score(X_eval, y_eval))
            predict, _ = base.skada_fit_predict(
                method, Xs, ys, Xt, epochs=epochs, batch_size=batch, lr=lr,
                seed=seed, init_state=init,
            )  # fmt: skip
            accuracy = 100 * np.mean(predict(X_eval) == y_eval)
            table.add(name, f"skada: {method}", accuracy)
    return table


def run_oracle(quick: bool = False, seeds: int = 1) -> Table:
    """The fully labelled reference of MNIST(10k) -> USPS at the short
    schedule (not a ceiling: the 40-epoch mean teacher of
    :func:`run_mean_teacher` passes it without a label; :func:`run_ceiling`
    trains on every label at the mean teacher's schedule): the
    pretrained source fine-tuned on *all* 7291 labelled USPS train images
    (the unsupervised rows use none of those labels), with the settings of
    :func:`run` (Adam 1e-4, batch 128, augmentation) for ``epochs`` and 3x
    as many epochs; evaluated on USPS test. (USPS -> MNIST has no ceiling
    row: its evaluation rows are its target rows.)

    Next to it, the semi-supervised rows the few-shot target is about: k = 10
    labelled USPS rows per class, the other rows unlabelled, trained jointly
    with the source (``target_weight=1``) and an adaptation loss at its
    default weight; and the same labelled rows alone (no unlabelled rows),
    jointly with the source, at lambda = 1 and with lambda chosen by 3-fold
    CV on them among ``LAMBDA_GRID``. And the ceiling of joint training: all
    the labelled USPS rows jointly with the source."""
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    table = Table(
        "adaptation_oracle",
        _description(epochs, lr, batch, seeds, quick)
        + " Oracle rows: every target training row labelled.",
        quick=quick,
    )
    runs = _runs(table, quick, seeds, batch, pre_epochs, only=("MNIST(10k) -> USPS",))
    for name, seed, data, pretrained in runs:
        Xs, ys, Xt, X_eval, y_eval, y_target = data
        idx = few_labels(y_target, 10, seed)
        y_few = np.full(len(Xt), -1)
        y_few[idx] = y_target[idx]
        source = Source(weights=pretrained, X=Xs, y=ys)
        joint = _joint(source, seed=seed, lr=lr, epochs=epochs, batch=batch)
        # Without unlabelled rows: the 100 labelled ones only, jointly with
        # the source rows; at lambda = 1, and with lambda chosen by 3-fold CV
        # on those 100 rows (the source comes with every clone).
        clf = clone(joint).fit(Xt[idx], y_target[idx])
        table.add(
            name,
            "k=10 target labels per class, joint with the source, no unlabelled rows",
            100 * clf.score(X_eval, y_eval),
        )
        search = GridSearchCV(
            clone(joint), {"target_weight": LAMBDA_GRID},
            cv=StratifiedKFold(3, shuffle=True, random_state=seed),
        ).fit(Xt[idx], y_target[idx])  # fmt: skip
        row = (
            "k=10 target labels per class, joint with the source, no unlabelled "
            "rows, lambda by 3-fold CV on the labelled rows"
        )
        table.add(name, row, 100 * search.score(X_eval, y_eval))
        table.rows[
            (name, row)
        ].note += f"seed {seed}: lambda={search.best_params_['target_weight']}; "
        for method, loss in (
            ("information maximisation", InformationMaximization),
            ("MCC", MCC),
        ):
            clf = clone(joint).set_params(adaptation=loss()).fit(Xt, y_few)
            table.add(
                name,
                f"k=10 target labels per class + {method} on the unlabelled rest",
                100 * clf.score(X_eval, y_eval),
            )
        # The ceiling of joint training: every target row labelled.
        clf = clone(joint).fit(Xt, y_target)
        table.add(
            name,
            f"oracle: all {len(Xt)} labelled target rows jointly with the source "
            f"(lambda=1), {epochs} epochs",
            100 * clf.score(X_eval, y_eval),
        )
        for n_epochs in (epochs, 3 * epochs):
            clf = TransferClassifier(
                LeNet, source=pretrained, augment=augmentation(), lr=lr,
                max_epochs=n_epochs, batch_size=batch, random_state=seed,
            ).fit(Xt, y_target)  # fmt: skip
            table.add(
                name,
                f"oracle: fine-tuned on all {len(Xt)} labelled target rows, "
                f"{n_epochs} epochs",
                100 * clf.score(X_eval, y_eval),
            )
    return table


def _joint_description(
    pre_epochs: int, target_rows: str, network: str = "LeNet"
) -> str:
    return (
        f"MNIST(10k) -> USPS, {network} pretrained on the source ({pre_epochs} epochs, "
        f"affine augmentation), then trained jointly with the source rows on "
        f"{target_rows} (lambda = 1), affine augmentation."
    )


def run_ceiling(quick: bool = False, seeds: int = 1) -> Table:
    """What full supervision reaches on MNIST(10k) -> USPS at the mean
    teacher's schedules: the pretrained source trained jointly with the source
    rows on *all* 7291 labelled USPS train images (``target_weight=1``, the
    affine augmentation of the other rows), at the mean teacher's Adam lr 1e-3
    for each of ``TEACHER_EPOCHS[1:]`` epochs; evaluated on USPS test.

    The unsupervised and few-shot targets are read against it: an adapted
    network that sees no (or 100) target labels can hardly pass the same
    network trained on every one of them. (:func:`run_oracle` has the
    5-epoch, lr-1e-4 version; :func:`benchmarks.ceiling.run` asks the same
    of a deeper network, and adds the mean teacher to the labels.)
    """
    seeds, _, batch, pre_epochs, _ = _settings(quick, seeds)
    schedules = (1,) if quick else TEACHER_EPOCHS[1:]
    table = Table(
        "adaptation_ceiling",
        _joint_description(pre_epochs, "all labelled USPS train rows")
        + f" Adam lr {TEACHER_LR}, batch {batch} + {batch}, for "
        f"{' and '.join(map(str, schedules))} epochs; accuracy (%) on USPS test "
        f"(2007), {seeds} seed(s). Quick mode: {quick}.",
        quick=quick,
    )
    runs = _runs(table, quick, seeds, batch, pre_epochs, only=("MNIST(10k) -> USPS",))
    for name, seed, data, pretrained in runs:
        Xs, ys, Xt, X_eval, y_eval, y_target = data
        source = Source(weights=pretrained, X=Xs, y=ys)
        for n_epochs in schedules:
            start = time.perf_counter()
            clf = _joint(
                source, seed=seed, lr=TEACHER_LR, epochs=n_epochs, batch=batch
            ).fit(Xt, y_target)
            table.add(
                name,
                f"all {len(Xt)} target labels, joint with the source, lr "
                f"{TEACHER_LR}, {n_epochs} epochs",
                100 * clf.score(X_eval, y_eval),
            )
            seconds = time.perf_counter() - start
            print(f"    {n_epochs} epochs in {seconds:.0f} s", flush=True)
    return table


def run_few_shot_teacher(quick: bool = False, seeds: int = 1) -> Table:
    """MNIST(10k) -> USPS with k = 10 labelled USPS rows per class and **no
    unlabelled row**: the mean teacher's recipe of :func:`run_mean_teacher`
    (Adam lr 1e-3, 40 epochs, :class:`~sktransfer.adaptation.MeanTeacher`
    at weight 3, the network keeps the teacher's weights) applied to the 100
    labelled rows, jointly with the source rows (``target_weight=1``). The
    consistency term sees those 100 rows only; with ``adaptation_weight=0``
    only the teacher's weight averaging is left, which tells the two apart.
    Next to the joint row of :func:`run_oracle` (lr 1e-4, 5 epochs).

    Disclosure: the recipe is the unsupervised one, carried over unchanged
    (its 40 epochs were chosen there by the IM score). Before this
    benchmark, seed 0 (the probe's own pretrained start) was scored on target
    labels: the mean teacher on the labelled rows at lr 1e-3 for 10 epochs,
    97.46, against 92.18 without it at the same lr; at lr 1e-4, 5 epochs,
    97.11 with it at weight 3 and at weight 0.
    """
    seeds, epochs, batch, pre_epochs, lr = _settings(quick, seeds)
    n_epochs = 1 if quick else TEACHER_EPOCHS[-1]
    table = Table(
        "adaptation_few_shot_teacher",
        _joint_description(pre_epochs, "k=10 labelled USPS train rows per class")
        + f" No unlabelled row; batch {batch} source rows + the labelled rows;"
        f" 'joint': Adam lr {lr}, {epochs} epochs; 'mean teacher': "
        f"Adam lr {TEACHER_LR}, {n_epochs} epochs, MeanTeacher (threshold "
        f"0.968, class_balance 0.005, ema 0.99, RandomAffine views) on the "
        f"labelled rows, predictions from the teacher. Accuracy (%) on USPS "
        f"test (2007), {seeds} seed(s). Quick mode: {quick}.",
        quick=quick,
    )
    runs = _runs(table, quick, seeds, batch, pre_epochs, only=("MNIST(10k) -> USPS",))
    for name, seed, data, pretrained in runs:
        Xs, ys, Xt, X_eval, y_eval, y_target = data
        idx = few_labels(y_target, 10, seed)
        source = Source(weights=pretrained, X=Xs, y=ys)
        joint = _joint(source, seed=seed, lr=lr, epochs=epochs, batch=batch)
        clf = clone(joint).fit(Xt[idx], y_target[idx])
        table.add(
            name,
            f"k=10 labels per class, joint with the source, lr {lr}, {epochs} epochs",
            100 * clf.score(X_eval, y_eval),
        )
        for weight in (3.0, 0.0):
            start = time.perf_counter()
            clf = clone(joint).set_params(
                adaptation=MeanTeacher(augment=augmentation()),
                adaptation_weight=weight, lr=TEACHER_LR, max_epochs=n_epochs,
            ).fit(Xt[idx], y_target[idx])  # fmt: skip
            table.add(
                name,
                f"k=10 labels per class, joint with the source + mean teacher on "
                f"the labelled rows (weight {weight:g}), lr {TEACHER_LR}, "
                f"{n_epochs} epochs",
                100 * clf.score(X_eval, y_eval),
            )
            seconds = time.perf_counter() - start
            print(f"    weight {weight:g} in {seconds:.0f} s", flush=True)
    return table
