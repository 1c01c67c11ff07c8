"""Run the benchmarks: ``python -m benchmarks [--quick] [--seeds N] [--only NAME]``.

Each benchmark prints its rows as they come, then a markdown table, and writes
``benchmarks/results/<name>.json`` and ``<name>.md``; a ``--quick`` run writes
them under ``benchmarks/results/quick/`` instead, which git ignores, so trying
the benchmarks leaves the checkout clean. Data is read through
``SKTRANSFER_DATA`` like everywhere else. ``--help`` lists every benchmark with
what it measures and how long its recorded runs took.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import textwrap
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"  # as in _harness, which imports torch

#: name -> (module, function). The modules are imported only to run one, so
#: that ``--help`` answers at once.
BENCHMARKS = {
    "mnist_usps": ("mnist_usps", "run"),
    "adaptation": ("adaptation", "run"),
    "adaptation_mmd": ("adaptation", "run_mmd"),
    "adaptation_timing": ("adaptation", "run_timing"),
    "adaptation_new_losses": ("adaptation", "run_new_losses"),
    "adaptation_mean_teacher": ("adaptation", "run_mean_teacher"),
    "adaptation_loss_scales": ("adaptation", "run_loss_scales"),
    "adaptation_source_free": ("adaptation", "run_source_free"),
    "adaptation_defaults": ("adaptation", "run_defaults"),
    "adaptation_skada_new_losses": ("adaptation", "run_skada_new_losses"),
    "adaptation_oracle": ("adaptation", "run_oracle"),
    "adaptation_ceiling": ("adaptation", "run_ceiling"),
    "adaptation_few_shot_teacher": ("adaptation", "run_few_shot_teacher"),
    "adaptation_ceiling_networks": ("ceiling", "run"),
    "features_prefix": ("features_prefix", "run"),
    "features_layout": ("features_prefix", "run_layout"),
    "federated": ("federated", "run"),
    "selection": ("selection", "run"),
    "selection_labels": ("selection", "run_with_labels"),
    "selection_label_free": ("selection", "run_label_free"),
    "shallow": ("shallow", "run"),
    "shallow_instance": ("shallow_instance", "run"),
    "parallel": ("parallel", "run"),
    "regularized": ("regularized", "run_regularized"),
    "standard_digits": ("standard", "run"),
    "standard_memory": ("standard", "run_memory"),
}


def benchmark(name: str):
    """The function that runs benchmark ``name`` (its module imported now)."""
    module, function = BENCHMARKS[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def description(name: str, width: int = 88) -> str:
    """One line on what ``name`` measures: the first sentence of its function's
    docstring (of its module's, when the function has none), read from the
    source without importing it, markup removed, cut to ``width``."""
    module, function = BENCHMARKS[name]
    tree = ast.parse((HERE / f"{module}.py").read_text())
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    doc = (found and ast.get_docstring(found[0])) or ast.get_docstring(tree) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = re.sub(r":\w+:`~?([^`]*)`", lambda m: m[1].rsplit(".", 1)[-1], text)
    text = text.replace("``", "").replace("**", "")
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return textwrap.shorten(sentence, width, placeholder=" …")


def recorded_seconds(name: str) -> dict[str, float]:
    """How long the recorded runs of ``name`` took, by size (``"quick"``,
    ``"full"``): the ``seconds`` of ``results/<name>_quick.json`` (or, without
    it, of a local quick run in ``results/quick/<name>.json``) and of
    ``results/<name>.json``, where they exist and the run completed."""
    candidates = {
        "quick": [RESULTS / f"{name}_quick.json", RESULTS / "quick" / f"{name}.json"],
        "full": [RESULTS / f"{name}.json"],
    }
    seconds = {}
    for size, paths in candidates.items():
        for path in paths:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("complete", True) and "seconds" in record:
                seconds[size] = float(record["seconds"])
                break
    return seconds


def _duration(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def listing() -> str:
    """Every benchmark: its name, its recorded times, what it measures."""
    lines = [
        "benchmarks (run one with --only NAME; times are those of the recorded "
        "runs, on the machine that made them):",
        "",
    ]
    for name in BENCHMARKS:
        seconds = recorded_seconds(name)
        times = ", ".join(
            f"{size} {_duration(seconds[size])}"
            for size in ("quick", "full")
            if size in seconds
        )
        lines.append(f"  {name}  ({times or 'no recorded run'})")
        lines.append(f"      {description(name)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="sktransfer benchmarks: each prints a markdown table and "
        "writes benchmarks/results/<name>.json and .md (with --quick, under "
        "benchmarks/results/quick/, which git ignores).",
        epilog=listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one seed, few epochs; writes under benchmarks/results/quick/",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--only", choices=list(BENCHMARKS), action="append", metavar="NAME"
    )
    args = parser.parse_args()
    for name in args.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        table = benchmark(name)(quick=args.quick, seeds=args.seeds)
        path = table.save()
        print("\n" + table.markdown() + f"\n\nwritten: {path}\n", flush=True)


if __name__ == "__main__":
    main()
