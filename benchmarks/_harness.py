"""Shared pieces of the benchmarks: rows, tables, JSON, timing baselines."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

RESULTS = Path(__file__).parent / "results"
#: Where quick runs write: git-ignored, so that trying the benchmarks leaves the
#: checkout clean (the ``results/<name>_quick.*`` files committed before are
#: earlier quick runs, kept as they were).
QUICK_RESULTS = RESULTS / "quick"


@dataclass
class Row:
    """One line of a results table: a method's scores over seeds."""

    setting: str
    method: str
    values: list[float] = field(default_factory=list)
    unit: str = "% acc"
    note: str = ""

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values)) if len(self.values) > 1 else 0.0

    def cell(self) -> str:
        if self.unit == "% acc":
            return f"{self.mean:.2f} ± {self.std:.2f}"
        if 0 < abs(self.mean) < 0.01:  # small losses keep 3 significant digits
            return f"{self.mean:.3g} ± {self.std:.2g}"
        return f"{self.mean:.3f} ± {self.std:.3f}"


class Table:
    """Rows keyed by (setting, method), filled seed by seed."""

    def __init__(self, name: str, description: str, quick: bool = False) -> None:
        # Quick runs write results/quick/<name>.json (git-ignored), so they
        # never overwrite a full run nor show in git status.
        self.name = f"{name}_quick" if quick else name
        self.folder, self.stem = (QUICK_RESULTS if quick else RESULTS), name
        self.description = description
        self.rows: dict[tuple[str, str], Row] = {}
        self.extra: dict = {}  # saved in the JSON next to the rows
        self.started = time.time()

    def add(self, setting: str, method: str, value: float, **kw) -> None:
        row = self.rows.setdefault((setting, method), Row(setting, method, **kw))
        row.values.append(float(value))
        print(f"  {setting:<28} {method:<44} {value:8.3f}", flush=True)
        self.save({"complete": False})  # a long run killed midway keeps its rows

    def markdown(self) -> str:
        lines = [
            f"### {self.name}",
            "",
            self.description,
            "",
            "| setting | method | mean ± std | n | unit | note |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows.values():
            lines.append(
                f"| {r.setting} | {r.method} | {r.cell()} | {len(r.values)} "
                f"| {r.unit} | {r.note} |"
            )
        return "\n".join(lines)

    def save(self, extra: dict | None = None) -> Path:
        """Write ``results/<name>.json`` and ``.md``, or for a quick run
        ``results/quick/<name>.json`` and ``.md`` (``complete`` unless told)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        out = {
            "name": self.name,
            "description": self.description,
            "seconds": round(time.time() - self.started, 1),
            "machine": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "processor": platform.processor() or platform.machine(),
            },
            "rows": [
                {**asdict(r), "mean": r.mean, "std": r.std} for r in self.rows.values()
            ],
            "complete": True,
            **self.extra,
            **(extra or {}),
        }
        path = self.folder / f"{self.stem}.json"
        path.write_text(json.dumps(out, indent=2))
        (self.folder / f"{self.stem}.md").write_text(self.markdown() + "\n")
        return path


def plain_torch_fit(
    module: torch.nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> torch.nn.Module:
    """The baseline: a plain PyTorch loop with Adam and cross-entropy."""
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(epochs):
        module.train()
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(module(Xt[idx]), yt[idx]).backward()
            optimizer.step()
    return module


def time_ratio(
    ours: Callable[[], object], baseline: Callable[[], object], repeats: int = 3
) -> tuple[float, float, float]:
    """Median seconds of ``ours`` and ``baseline`` run alternately, and the ratio."""
    a, b = [], []
    for _ in range(repeats):
        for fn, times in ((baseline, b), (ours, a)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ta, tb = statistics.median(a), statistics.median(b)
    return ta, tb, ta / tb
