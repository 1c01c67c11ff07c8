"""GPU check: TransferClassifier's training throughput against a plain PyTorch loop.

Both train the same :class:`~sktransfer.models.LeNet` (Adam, lr 1e-3,
cross-entropy) on the same MNIST-shaped synthetic data (random 1x28x28 images,
10 classes) for the same number of steps, on the same device, run alternately
(plain, sktransfer, plain without sync, ...) ``--repeats`` times; medians
are reported. Settings: every precision the device runs (``float32``,
``bfloat16``, and ``float16`` with a gradient scaler on CUDA) in both memory
layouts (``contiguous``, ``channels_last``).

The plain loop is what a careful user writes: a shuffled index per epoch,
one fancy-indexing gather per batch, pinned memory and ``non_blocking``
copies on CUDA, ``torch.autocast`` and a ``GradScaler`` for float16. It calls
``loss.item()`` every step, as skorch's history does ("plain"); the "plain,
no sync" variant keeps the loss on the device and synchronises once per run,
the fastest a Python loop gets.

Throughput counts training steps only: from the first batch to the last,
synchronised (a callback in skorch's ``on_train_begin``/``on_train_end``).
``fit_s`` also counts everything else a ``fit`` does (checking X, preparing
the network) and the plain loop's model set-up. The target: sktransfer's
training time within 1.1x the plain loop's.

Without a CUDA GPU this says so and measures nothing, unless ``--device cpu``
is given; CPU numbers are labelled CPU and written to ``gpu_check_cpu.json``
so that they never stand in for GPU numbers.

Run: ``python -m benchmarks.gpu_check [--device cuda] [--precision float32 ...]``
(about a minute on a recent GPU with the defaults).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from sktransfer import TransferClassifier
from sktransfer.models import LeNet

RESULTS = Path(__file__).parent / "results"
TARGET = 1.1  # sktransfer's training time over the plain loop's
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
NO_GPU = (
    "No CUDA GPU is present on this machine (torch.cuda.is_available() is "
    "False): nothing was measured. Run this on a machine with a GPU, or pass "
    "--device cpu for CPU numbers (labelled CPU, not GPU)."
)


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class TrainTimer(Callback):
    """Seconds from the first training batch to the last, synchronised."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.seconds = float("nan")

    def on_train_begin(self, net, **kwargs):
        synchronize(self.device)
        self.start = time.perf_counter()

    def on_train_end(self, net, **kwargs):
        synchronize(self.device)
        self.seconds = time.perf_counter() - self.start


def plain_loop(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    device: str,
    precision: str,
    memory_format: str,
    batch_size: int,
    epochs: int,
    sync_every_step: bool,
) -> tuple[float, float]:
    """``(train_s, fit_s)`` of a plain PyTorch loop."""
    fit_start = time.perf_counter()
    torch.manual_seed(0)
    model = LeNet(n_classes=10).to(device)
    if memory_format == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    kind = torch.device(device).type
    cuda = kind == "cuda"
    scaler = torch.amp.GradScaler(kind, enabled=precision == "float16")
    dtype = _DTYPES.get(precision, torch.float32)
    total = torch.zeros((), device=device)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        for begin in range(0, len(X), batch_size):
            idx = order[begin : begin + batch_size]
            xb, yb = X[idx], y[idx]
            if cuda:
                xb, yb = xb.pin_memory(), yb.pin_memory()
            xb = xb.to(device, non_blocking=cuda)
            yb = yb.to(device, non_blocking=cuda)
            optimizer.zero_grad()
            with torch.autocast(kind, dtype=dtype, enabled=precision != "float32"):
                out = model(xb)
            loss = F.cross_entropy(out.float(), yb)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if sync_every_step:
                loss.item()
            else:
                total += loss.detach()
    total.item()
    synchronize(device)
    end = time.perf_counter()
    return end - start, end - fit_start


def sktransfer_fit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    device: str,
    precision: str,
    memory_format: str,
    batch_size: int,
    epochs: int,
) -> tuple[float, float]:
    """``(train_s, fit_s)`` of ``TransferClassifier(LeNet).fit``."""
    timer = TrainTimer(device)
    clf = TransferClassifier(
        LeNet,
        module__n_classes=10,
        classes=np.arange(10),
        memory_format=memory_format,
        precision=precision,
        device=device,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        callbacks=[("train_timer", timer)],
        random_state=0,
    )
    synchronize(device)
    start = time.perf_counter()
    clf.fit(X, y)
    synchronize(device)
    return timer.seconds, time.perf_counter() - start


def measure(args: argparse.Namespace) -> dict:
    device = args.device
    rng = np.random.RandomState(0)
    n = args.batch_size * args.steps_per_epoch
    X = rng.rand(n, 1, 28, 28).astype(np.float32)
    y = rng.randint(0, 10, n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    epochs = max(1, args.steps // args.steps_per_epoch)
    steps = epochs * args.steps_per_epoch
    samples = steps * args.batch_size
    rows = []
    for precision in args.precision:
        for memory_format in args.memory_format:
            common = dict(
                device=device,
                precision=precision,
                memory_format=memory_format,
                batch_size=args.batch_size,
            )
            runs = {
                "plain": partial(plain_loop, Xt, yt, **common, sync_every_step=True),
                "sktransfer": partial(sktransfer_fit, X, y, **common),
                "plain, no sync": partial(
                    plain_loop, Xt, yt, **common, sync_every_step=False
                ),
            }
            for run in runs.values():  # warm-up: kernels chosen, caches filled
                run(epochs=1)
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    times[name].append(run(epochs=epochs))
            train = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
            fit = {k: statistics.median(f for _, f in v) for k, v in times.items()}
            row = {
                "precision": precision,
                "memory_format": memory_format,
                "train_s": train,
                "fit_s": fit,
                "samples_per_s": {k: samples / v for k, v in train.items()},
                "ratio_vs_plain": train["sktransfer"] / train["plain"],
                "ratio_vs_plain_no_sync": train["sktransfer"] / train["plain, no sync"],
                "fit_ratio_vs_plain": fit["sktransfer"] / fit["plain"],
            }
            row["meets_target"] = row["ratio_vs_plain"] <= TARGET
            rows.append(row)
            print(
                f"{device:<6} {precision:<9} {memory_format:<14} "
                + "  ".join(f"{k} {v:9.0f}/s" for k, v in row["samples_per_s"].items())
                + f"  ratio {row['ratio_vs_plain']:.3f}"
                f" (no sync {row['ratio_vs_plain_no_sync']:.3f},"
                f" whole fit {row['fit_ratio_vs_plain']:.3f})",
                flush=True,
            )
    kind = torch.device(device).type
    return {
        "name": "gpu_check",
        "measured_on": kind,
        "device_name": (
            torch.cuda.get_device_name(device)
            if kind == "cuda"
            else f"CPU ({platform.processor() or platform.machine()}); not a GPU"
        ),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "settings": {
            "batch_size": args.batch_size,
            "steps": steps,
            "steps_per_epoch": args.steps_per_epoch,
            "repeats": args.repeats,
        },
        "target": f"sktransfer train_s <= {TARGET} x plain train_s",
        "rows": rows,
        "all_meet_target": all(r["meets_target"] for r in rows),
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help='"cuda" (default), "cpu"')
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=["float32", "bfloat16", "float16"],
        help="default: float32 bfloat16, and float16 on CUDA",
    )
    parser.add_argument(
        "--memory-format",
        nargs="+",
        choices=["contiguous", "channels_last"],
        default=["contiguous", "channels_last"],
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--steps-per-epoch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, help="where the JSON goes")
    args = parser.parse_args(argv)
    cuda = torch.device(args.device).type == "cuda"
    if args.precision is None:
        args.precision = ["float32", "bfloat16"] + (["float16"] if cuda else [])
    args.steps_per_epoch = min(args.steps_per_epoch, args.steps)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    kind = torch.device(args.device).type
    if kind == "cuda" and not torch.cuda.is_available():
        print(NO_GPU)
        return 1
    if kind == "cpu":
        print("Measuring on the CPU: these are CPU numbers, not GPU numbers.")
    result = measure(args)
    path = args.output or RESULTS / (
        "gpu_check.json" if kind == "cuda" else f"gpu_check_{kind}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    missed = [r for r in result["rows"] if not r["meets_target"]]
    verdict = (
        "meets the target in every setting"
        if not missed
        else f"misses the target in {len(missed)} of {len(result['rows'])} settings"
    )
    print(f"{result['device_name']}: sktransfer {verdict} ({result['target']}).")
    print(f"Written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
