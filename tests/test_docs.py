"""The documentation cannot rot: every public name is on the API page, and every
snippet in the README and the docs runs as written in a fresh Python process."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "sktransfer",
    "sktransfer.adaptation",
    "sktransfer.augmentation",
    "sktransfer.datasets",
    "sktransfer.metrics",
    "sktransfer.models",
    "sktransfer.plotting",
    "sktransfer.prefix",
    "sktransfer.regularization",
    "sktransfer.shallow",
]
# Files a snippet may read, under $SKTRANSFER_DATA.
DATA_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "usps/usps.h5")


def documented() -> list[object]:
    """The objects docs/api.rst lists, resolved in their ``currentmodule``."""
    objects, module = [], None
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = importlib.import_module(match.group(1))
        elif module is not None and re.match(r"   [A-Za-z_]\w*$", line):
            objects.append(getattr(module, line.strip()))
    return objects


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_page_lists_every_public_name(module_name):
    module = importlib.import_module(module_name)
    listed = documented()
    missing = [
        name
        for name in module.__all__
        if not any(getattr(module, name) is obj for obj in listed)
    ]
    assert not missing, f"docs/api.rst does not list {module_name}: {missing}"


def snippets(path: Path) -> list[str]:
    """The Python code blocks of a markdown or reStructuredText file."""
    text = path.read_text()
    if path.suffix == ".md":
        return re.findall(r"```python\n(.*?)```", text, flags=re.S)
    blocks = re.findall(
        r"\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", text, flags=re.M
    )
    return [re.sub(r"^ {4}", "", b, flags=re.M) for b in blocks]


SNIPPETS = [
    # A snippet that reads the real data sets trains on them: minutes (slow).
    pytest.param(
        code,
        id=f"{path.name}-{i}",
        marks=pytest.mark.slow if "load_" in code else (),
    )
    for path in [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "docs").glob("*.rst")),
    ]
    for i, code in enumerate(snippets(path))
]


def test_snippets_are_found():
    assert len([p for p in SNIPPETS if p.id.startswith("README")]) >= 2
    assert any(p.id.startswith("index.rst") for p in SNIPPETS)
    assert any(p.id.startswith("guide.md") for p in SNIPPETS)


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_runs_in_a_fresh_process(code, tmp_path):
    if "load_" in code:
        home = os.environ.get("SKTRANSFER_DATA")
        if not home or not all(Path(home, f).is_file() for f in DATA_FILES):
            pytest.skip("the snippet reads MNIST and USPS: set SKTRANSFER_DATA")
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # not the checkout: the installed package is what runs
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def gallery_conf() -> dict:
    """docs/conf.py's ``sphinx_gallery_conf``, read without building the docs.

    Running conf.py sets a default ``SKTRANSFER_DATA`` and a warning filter:
    both are put back, so the test leaves the process as it found it.
    """
    import runpy
    import warnings
    from unittest import mock

    with mock.patch.dict(os.environ), warnings.catch_warnings():
        namespace = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    return namespace["sphinx_gallery_conf"]


def test_gallery_runs_every_plot_example():
    # sphinx-gallery skips a file whose path (or bare name) matches
    # ignore_pattern and runs one whose normalized full path matches
    # filename_pattern, both with re.search (gen_rst.py).
    conf = gallery_conf()
    src_dir = ROOT / "docs" / conf["examples_dirs"]
    examples = sorted(src_dir.glob("*.py"))
    plots = [p for p in examples if p.name.startswith("plot_")]
    assert plots, f"no examples/plot_*.py in {src_dir}"

    def ignored(path: Path) -> bool:
        full = os.path.normpath(str(path))
        return any(
            re.search(conf["ignore_pattern"], name) for name in (full, path.name)
        )

    def runs(path: Path) -> bool:
        full = os.path.normpath(str(path))
        return not ignored(path) and bool(re.search(conf["filename_pattern"], full))

    assert [p.name for p in plots if not runs(p)] == []
    # The command-line script (make example) stays out of the gallery.
    assert ignored(src_dir / "mnist_to_usps.py")
