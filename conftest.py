"""The doctests compare what an example prints: on a loaded machine a fit in
one can pass the few seconds after which ``verbose="auto"`` prints progress
lines, and the output would depend on the machine's speed. Progress is off in
doctests (and only there: ``tests/test_progress.py`` tests it)."""

import math

import pytest


@pytest.fixture(autouse=True)
def _no_progress_lines_in_doctests(request, monkeypatch):
    if type(request.node).__name__ == "DoctestItem":
        from sktransfer._training import progress

        monkeypatch.setattr(progress, "AFTER_S", math.inf)
