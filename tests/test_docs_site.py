"""docs/screenshots.py's HTML checks, on a tiny site written here (no Sphinx build,
no browser)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "screenshots", ROOT / "docs" / "screenshots.py"
)
screenshots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshots)

CSS = '<link rel="stylesheet" href="../_static/custom.css" />'
LANDING = '<table class="sktransfer-cards"></table><img src="_images/landing.png">'


def site(tmp_path: Path, *, api: str, index: str | None = None) -> Path:
    (tmp_path / "auto_examples").mkdir()
    (tmp_path / "generated").mkdir()
    (tmp_path / "index.html").write_text(index or CSS + LANDING)
    (tmp_path / "auto_examples" / "plot_a.html").write_text(CSS)
    (tmp_path / "generated" / "sktransfer.TransferClassifier.html").write_text(api)
    return tmp_path


def test_a_complete_site_passes(tmp_path):
    api = f'{CSS}<h2>Examples using X</h2><div class="sphx-glr-thumbcontainer">'
    assert screenshots.check_html(site(tmp_path, api=api)) == []


def test_what_is_missing_is_named(tmp_path):
    api = f"{CSS}<em>criterion</em>=&lt;class &#39;torch.nn.CrossEntropyLoss&#39;&gt;"
    problems = screenshots.check_html(site(tmp_path, api=api, index="<p>hi</p>"))
    text = "\n".join(problems)
    assert "index: custom.css is not linked" in text
    assert "no cards" in text and "landing.png" in text
    assert "Examples using" in text
    assert "raw <class" in text


def test_an_unbuilt_site_exits_2(tmp_path):
    assert screenshots.main(["--html", str(tmp_path), "--no-shots"]) == 2
