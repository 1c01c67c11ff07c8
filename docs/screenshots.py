"""Check the built documentation site; take screenshots of it with headless Chromium.

Run it after ``make docs``::

    .venv/bin/python docs/screenshots.py            # checks + screenshots
    .venv/bin/python docs/screenshots.py --no-shots # the HTML checks only

It serves ``docs/_build/html`` on a free localhost port and

1. checks the HTML itself (no browser needed): the landing page exists with its
   cards and its figure, every checked page links the site's ``custom.css``, the API
   page has its "Examples using ..." back-link section, and no signature shows a
   default as a raw ``<class '...'>`` repr;
2. with Chromium (``chromium``, ``chromium-browser``, ``google-chrome``, or the path in
   ``$CHROMIUM``), loads the landing page, one gallery page and one API page at
   1280 px wide, writes a screenshot of each under ``docs/_build/screenshots/``
   (ignored by git), and measures in the browser whether anything makes the page
   wider than the window (an element sticking out of the text column and not inside
   a box that scrolls), and whether anything sticks out of the text column.

Without Chromium the screenshots and the width check are skipped with a message and
the exit status is that of the HTML checks: nothing in CI needs a browser. On Debian,
``apt-get install chromium`` installs one. The exit status is 1 when a check fails,
2 when the site is not built.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

DOCS = Path(__file__).resolve().parent
HTML = DOCS / "_build" / "html"
OUT = DOCS / "_build" / "screenshots"
WIDTH, HEIGHT = 1280, 1600

#: The pages looked at: (name, path under the site, or a glob for the first match).
PAGES = (
    ("index", "index.html"),
    ("gallery", "auto_examples/plot_*.html"),
    ("api", "generated/sktransfer.TransferClassifier.html"),
)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# Injected into a page served with ?probe: records, in the DOM that
# --dump-dom prints, how wide the page is and what sticks out of the window.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const width = window.innerWidth;
  // The text column: what is inside it must end where it ends.
  const article = document.querySelector(".bd-article");
  const column = article ? article.getBoundingClientRect().right : width;
  const clipped = (el, upTo) => {
    for (let a = el.parentElement; a && a !== upTo; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll") return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    const inside = article && article.contains(el) && el !== article;
    const limit = inside ? column : width;
    const o = getComputedStyle(el).overflowX;
    // Content wider than its own box, and the box neither scrolls nor wraps it.
    const spills = inside && o !== "auto" && o !== "scroll" &&
      el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
    if (r.width && (r.right > limit + 1 || spills) &&
        !clipped(el, inside ? article : null)) {
      wide.push(el.tagName.toLowerCase() + (el.className ? "." +
        String(el.className).trim().split(/\\s+/).join(".") : "") +
        " right=" + Math.round(r.right));
    }
  }
  const out = document.createElement("pre");
  out.id = "sktransfer-probe";
  out.textContent = JSON.stringify({
    window: width,
    page: document.documentElement.scrollWidth,
    wide: wide.slice(0, 10),
  });
  document.body.appendChild(out);
}, 500));
</script>"""


def find_page(html: Path, pattern: str) -> Path | None:
    """The page at ``pattern`` under ``html`` (the first, sorted, of a glob)."""
    matches = sorted(html.glob(pattern))
    return matches[0] if matches else None


def check_html(html: Path = HTML) -> list[str]:
    """What is wrong with the built site, read from its HTML (empty: nothing)."""
    problems = []
    pages = {name: find_page(html, pattern) for name, pattern in PAGES}
    for name, pattern in PAGES:
        if pages[name] is None:
            problems.append(f"{name}: no page {pattern} under {html}")
    text = {name: page.read_text() for name, page in pages.items() if page}
    for name, page in text.items():
        if not re.search(r'<link[^>]+href="[^"]*_static/custom\.css', page):
            problems.append(f"{name}: custom.css is not linked")
    index = text.get("index", "")
    if index and "sktransfer-cards" not in index:
        problems.append("index: the landing page has no cards (table.sktransfer-cards)")
    if index and "_images/landing.png" not in index:
        problems.append("index: the landing figure (landing.png) is missing")
    api = text.get("api", "")
    if api:
        if "Examples using" not in api or "sphx-glr-thumbcontainer" not in api:
            problems.append(
                "api: no 'Examples using ...' back-link section with thumbnails"
            )
        if re.search(r"&lt;class &#39;|<class '", api):
            problems.append("api: a signature shows a default as a raw <class '...'>")
    return problems


def chromium() -> str | None:
    """The Chromium (or Chrome) executable, or ``None``."""
    given = os.environ.get("CHROMIUM")
    if given:
        return given if shutil.which(given) else None
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((path for n in names if (path := shutil.which(n))), None)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; ``?probe`` adds the width probe to an HTML page."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if query != "probe" or not path.endswith(".html"):
            return super().do_GET()
        page = Path(self.translate_path(path))
        body = page.read_bytes().replace(b"</body>", PROBE.encode() + b"</body>", 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(html: Path) -> Iterator[str]:
    """The site served on a free localhost port; yields its base URL."""
    handler = functools.partial(_Handler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def run_chromium(browser: str, *args: str, timeout: float = 120) -> str:
    """Chromium's stdout for ``args``, with a profile folder of its own."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    return done.stdout


def shoot(browser: str, base: str, html: Path, out: Path) -> list[str]:
    """Screenshots of the pages, and what the width probe found wrong."""
    problems = []
    out.mkdir(parents=True, exist_ok=True)
    for name, pattern in PAGES:
        page = find_page(html, pattern)
        if page is None:
            continue  # reported by check_html
        url = base + page.relative_to(html).as_posix()
        png = out / f"{name}.png"
        png.unlink(missing_ok=True)
        run_chromium(browser, f"--screenshot={png}", url)
        if not png.is_file() or png.stat().st_size == 0:
            problems.append(f"{name}: Chromium wrote no screenshot of {url}")
        else:
            print(f"{name}: {png}")
        # The virtual time budget lets the page's load handlers run (and the
        # probe's timer fire) before Chromium prints the DOM.
        dom = run_chromium(
            browser, "--virtual-time-budget=10000", "--dump-dom", url + "?probe"
        )
        found = re.search(r'<pre id="sktransfer-probe">(.*?)</pre>', dom, re.S)
        if not found:
            problems.append(f"{name}: the width probe did not report")
            continue
        probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        print(f"{name}: page {probe['page']} px wide in a {probe['window']} px window")
        if probe["page"] > probe["window"] or probe["wide"]:
            problems.append(
                f"{name}: wider than the window or the text column: {probe['wide']}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=HTML, help="the built site")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    parser.add_argument("--no-shots", action="store_true", help="HTML checks only")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").is_file():
        print(f"{args.html} has no index.html: run `make docs` first.", file=sys.stderr)
        return 2
    problems = check_html(args.html)
    browser = None if args.no_shots else chromium()
    if args.no_shots:
        print("screenshots skipped (--no-shots)")
    elif browser is None:
        print(
            "screenshots skipped: no Chromium found (chromium, chromium-browser, "
            "google-chrome, or $CHROMIUM); on Debian: apt-get install chromium"
        )
    else:
        with serving(args.html) as base:
            problems += shoot(browser, base, args.html, args.out)
    for problem in problems:
        print("FAIL", problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
