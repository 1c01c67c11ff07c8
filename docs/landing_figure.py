"""Draw the landing page's figure, docs/_static/landing.png, from a recorded benchmark.

The figure shows the target accuracy of every adaptation loss at its default settings
against source only, on the two digit tasks, as recorded in
``benchmarks/results/adaptation_defaults.json`` (``python -m benchmarks --only
adaptation_defaults``; see docs/benchmarks.md). It reads that file only: nothing is
trained. Run it again after the benchmark is re-run, and commit the PNG::

    .venv/bin/python docs/landing_figure.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "adaptation_defaults.json"
OUT = Path(__file__).resolve().parent / "_static" / "landing.png"


def rows_by_task(path: Path = RESULTS) -> dict[str, list[tuple[str, float, float]]]:
    """``{task: [(method, mean, std), ...]}``: the accuracy rows of the file, in its
    order, the method names without the ``"ours: "`` prefix and ``" (defaults)"``."""
    tasks: dict[str, list[tuple[str, float, float]]] = {}
    for row in json.loads(path.read_text())["rows"]:
        if row["unit"] != "% acc":
            continue
        method = row["method"].removeprefix("ours: ").replace(" (defaults)", "")
        method = method.replace(" (pretrained)", "")
        tasks.setdefault(row["setting"], []).append((method, row["mean"], row["std"]))
    return tasks


def draw(out: Path = OUT) -> Path:
    tasks = rows_by_task()
    fig, axes = plt.subplots(1, len(tasks), figsize=(9, 3.4), sharey=True)
    for ax, (task, rows) in zip(axes, tasks.items(), strict=True):
        names = [name for name, _, _ in rows]
        means = [mean for _, mean, _ in rows]
        stds = [std for _, _, std in rows]
        colors = ["#9e9e9e" if n == "source only" else "#1f77b4" for n in names]
        ax.barh(range(len(rows)), means, xerr=stds, color=colors, height=0.7)
        baseline = dict(zip(names, means, strict=True)).get("source only")
        if baseline is not None:
            ax.axvline(baseline, color="#616161", linestyle="--", linewidth=1)
        ax.set_yticks(range(len(rows)), names)
        ax.set_xlim(min(means) - 2, 100)
        ax.set_xlabel("target accuracy (%)")
        ax.set_title(task.replace("->", "→"), fontsize=10)
    axes[0].invert_yaxis()  # shared: once for both; source only on top
    fig.suptitle(
        "Unsupervised adaptation of a LeNet, every loss at its defaults (3 seeds)",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(draw())
