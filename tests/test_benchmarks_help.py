"""A newcomer can run the benchmarks: ``python -m benchmarks --help`` lists
each with what it measures and its recorded times, and a quick run writes
where git does not look."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository
from benchmarks import __main__ as cli  # noqa: E402


def test_help_lists_every_benchmark_with_its_description_and_times():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    results = ROOT / "benchmarks" / "results"
    for name in cli.BENCHMARKS:
        [i] = [i for i, line in enumerate(lines) if line.startswith(f"  {name}  (")]
        description = lines[i + 1].strip()
        assert description == cli.description(name)
        assert 10 < len(description) <= 88
        for size, path in (("quick", f"{name}_quick.json"), ("full", f"{name}.json")):
            if (results / path).is_file():
                record = json.loads((results / path).read_text())
                if record.get("complete", True):
                    seconds = cli._duration(record["seconds"])
                    assert f"{size} {seconds}" in lines[i], lines[i]
    # Spot checks against files committed with the project.
    [mnist] = [line for line in lines if line.startswith("  mnist_usps  (")]
    assert "quick" in mnist and "full" in mnist
    assert "MNIST -> USPS: source only" in done.stdout


def test_help_imports_no_benchmark_module():
    code = (
        "import sys; from benchmarks import __main__ as cli; cli.listing(); "
        "print(sorted(m for m in sys.modules if m == 'torch' or "
        "m.startswith('benchmarks.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['benchmarks.__main__']"


def test_every_benchmark_names_a_function_that_exists():
    # What --only NAME runs, read from the source (dask and the other extras
    # some benchmarks import need not be installed).
    for name, (module, function) in cli.BENCHMARKS.items():
        tree = ast.parse((ROOT / "benchmarks" / f"{module}.py").read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert function in defined, f"{name}: benchmarks/{module}.py:{function}"


def test_quick_runs_write_where_git_ignores(tmp_path, monkeypatch):
    from benchmarks import _harness

    monkeypatch.setattr(_harness, "QUICK_RESULTS", tmp_path / "quick")
    monkeypatch.setattr(_harness, "RESULTS", tmp_path)
    table = _harness.Table("demo", "a demo", quick=True)
    table.add("setting", "method", 1.0)
    assert table.save() == tmp_path / "quick" / "demo.json"
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "demo.json", "demo.md", "quick"
    ]  # fmt: skip
    full = _harness.Table("demo", "a demo")
    assert full.save() == tmp_path / "demo.json"

    # The real folder is ignored by git (where there is a git checkout).
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "benchmarks/results/quick/demo.json"],
        cwd=ROOT,
    )
    assert ignored.returncode == 0
