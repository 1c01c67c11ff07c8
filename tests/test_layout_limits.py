"""Size limits of the package layout (issue #28), read off the source with
``ast`` so that a newcomer can read any ``fit`` or module in one sitting:

(a) every public estimator's ``fit`` (the classes of ``sktransfer.__all__``
    that have one, and each ``fit`` up their MRO inside sktransfer, e.g.
    ``NetworkEstimator.fit`` behind ``TransferClassifier.fit``) is at most
    40 lines, counted from the first statement after the docstring to the
    end of the function, comments and blank lines included;
(b) no module under sktransfer/ holds more than 400 lines of code (not
    blank, not a comment line, not inside a docstring);
The root's 15-module limit and the import graph without cycles are
``tests/test_layout_rules.py``'s.

Each counter is checked on a small snippet first, so that a pass means
something.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import sktransfer

PACKAGE = Path(sktransfer.__file__).resolve().parent
MAX_FIT_LINES = 40
MAX_MODULE_CODE_LINES = 400


# -- the counters -------------------------------------------------------------


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(
                node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
            )
            and ast.get_docstring(node, clean=False) is not None
        ):
            first = node.body[0]
            lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines that are not blank, not a comment line, not in a docstring."""
    docstrings = _docstring_lines(ast.parse(source))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip()
        and not line.strip().startswith("#")
        and number not in docstrings
    )


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From the first statement after the docstring to the function's end."""
    body = function.body
    if ast.get_docstring(function, clean=False) is not None and len(body) > 1:
        body = body[1:]
    return function.end_lineno - body[0].lineno + 1


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {
    _module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))
}


def public_fits() -> dict[str, tuple[Path, str]]:
    """``module.Class.fit`` -> (file, class name) for each ``fit`` defined in
    sktransfer up the MRO of the public estimators."""
    fits = {}
    for name in sktransfer.__all__:
        obj = getattr(sktransfer, name)
        if not (inspect.isclass(obj) and hasattr(obj, "fit")):
            continue
        for cls in obj.__mro__:
            if "fit" in vars(cls) and cls.__module__.startswith("sktransfer"):
                key = f"{cls.__module__}.{cls.__qualname__}.fit"
                fits[key] = (MODULES[cls.__module__], cls.__qualname__)
    return fits


def fit_lines(path: Path, class_name: str) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "fit":
                    return body_lines(item)
    raise AssertionError(f"no {class_name}.fit in {path}")


# -- the counters, checked on snippets ------------------------------------------


SNIPPET = '''"""Module docstring,
two lines."""

import os  # a comment after code counts


class A:
    """Class docstring."""

    # a comment line
    def fit(self, X):
        """Docstring.

        More.
        """
        x = 1

        # why
        return (
            x
        )
'''


def test_the_counters_count_as_documented():
    assert code_lines(SNIPPET) == 7  # import, class, def, x =, return ( x )
    fit = next(
        n for n in ast.walk(ast.parse(SNIPPET)) if isinstance(n, ast.FunctionDef)
    )
    assert body_lines(fit) == 6  # "x = 1" to the closing parenthesis


# -- the limits ---------------------------------------------------------------------


FITS = public_fits()


@pytest.mark.parametrize(
    "qualified",
    sorted(FITS),
)
def test_a_public_fit_is_at_most_40_lines(qualified):
    n = fit_lines(*FITS[qualified])
    assert n <= MAX_FIT_LINES, (
        f"{qualified} is {n} lines: make it read validate -> the steps (each "
        "a private helper or a small dataclass) -> the fitted attributes."
    )


def test_the_public_fits_are_found():
    # TransferClassifier.fit calls NetworkEstimator.fit: both are checked.
    assert "sktransfer.classifier.TransferClassifier.fit" in FITS
    assert "sktransfer._supervised.NetworkEstimator.fit" in FITS
    assert "sktransfer.shallow._coral.CORAL.fit" in FITS
    assert len(FITS) >= 14


def test_no_module_has_more_than_400_lines_of_code():
    sizes = {
        name: code_lines(path.read_text(encoding="utf-8"))
        for name, path in MODULES.items()
    }
    over = {name: n for name, n in sizes.items() if n > MAX_MODULE_CODE_LINES}
    assert not over, (
        f"modules over {MAX_MODULE_CODE_LINES} lines of code: {over}. Split "
        "by concept into private modules of the same package."
    )
