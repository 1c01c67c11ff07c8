"""Size limits of the package layout (issue #28), read off the source with
``ast`` so that a newcomer can read any ``fit`` or module in one sitting:

(a) every public estimator's ``fit`` (the classes of ``sktransfer.__all__``
    that have one, and each ``fit`` up their MRO inside sktransfer, e.g.
    ``NetworkEstimator.fit`` behind ``TransferClassifier.fit``) is at most
    40 lines, counted from the first statement after the docstring to the
    end of the function, comments and blank lines included;
(b) no module under sktransfer/ holds more than 400 lines of code (not
    blank, not a comment line, not inside a docstring);
(c) at most 15 modules at the package root (sktransfer/*.py);
(d) no import cycle among sktransfer's modules, counting the imports that
    run when a module is imported: module level (class bodies, ``try`` and
    plain ``if`` blocks included), not inside functions and not under
    ``if TYPE_CHECKING:``. ``tests/test_layout_rules.py`` also counts the
    imports inside functions; this is the import-time graph.

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
MAX_ROOT_MODULES = 15

#: ``fit``s another change is shortening, with the reason: xfail(strict=False)
#: until it lands (NetworkEstimator.fit was one, until 42c5ddc).
BEING_SHORTENED: dict[str, str] = {}


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


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_imports(body: list[ast.stmt]):
    """The import statements that run when the module is imported."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # runs when called, not when imported
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_time_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, ()):
                    inner = getattr(child, "body", None)
                    if isinstance(child, ast.stmt):
                        yield from _import_time_imports([child])
                    elif inner is not None:  # except handlers, match cases
                        yield from _import_time_imports(inner)


def imported_modules(source: str, name: str, is_package: bool, known) -> set[str]:
    """The sktransfer modules that importing module ``name`` imports: each
    one an import statement names (``from .x import y`` names ``x.y`` when
    that is a module, else ``x``), and the packages above it, which Python
    imports first (except ``name``'s own packages, being imported already)."""
    here = name.split(".") if is_package else name.split(".")[:-1]
    named = set()
    for node in _import_time_imports(ast.parse(source).body):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = ".".join(
                here[: len(here) - node.level + 1]
                + ([node.module] if node.module else [])
            )
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            named.add(sub if sub in known else base)
    named &= set(known)
    above = set()
    for target in named:
        parts = target.split(".")
        above.update(".".join(parts[:i]) for i in range(1, len(parts)))
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    return (named | (above - own)) - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


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


def test_the_import_graph_counts_import_time_imports_only():
    source = """
from typing import TYPE_CHECKING
from . import b
from .c import helper
import pkg.d
from .sub.e import thing
try:
    from .f import g
except ImportError:
    from .h import g
class K:
    from .i import j
if TYPE_CHECKING:
    from .inside_type_checking import T
else:
    from .k import T
def later():
    from .inside_function import x
"""
    known = {
        "pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.sub", "pkg.sub.e",
        "pkg.f", "pkg.h", "pkg.i", "pkg.k", "pkg.inside_type_checking",
        "pkg.inside_function",
    }  # fmt: skip
    edges = imported_modules(source, "pkg.a", False, known)
    assert edges == {
        "pkg.b", "pkg.c", "pkg.d", "pkg.sub", "pkg.sub.e", "pkg.f", "pkg.h",
        "pkg.i", "pkg.k",
    }  # fmt: skip
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# -- the limits ---------------------------------------------------------------------


FITS = public_fits()


@pytest.mark.parametrize(
    "qualified",
    [
        pytest.param(
            key,
            marks=pytest.mark.xfail(strict=False, reason=BEING_SHORTENED[key])
            if key in BEING_SHORTENED
            else (),
        )
        for key in sorted(FITS)
    ],
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


def test_the_root_holds_at_most_15_modules():
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, f"{len(root)} root modules: {root}"


def test_no_import_cycle_at_import_time():
    graph = {
        name: imported_modules(
            path.read_text(encoding="utf-8"),
            name,
            path.name == "__init__.py",
            MODULES.keys(),
        )
        for name, path in MODULES.items()
    }
    # The graph sees the real imports (a spot check).
    assert "sktransfer.shallow._contract" in graph["sktransfer.shallow._coral"]
    assert "sktransfer.federated._flower" in graph["sktransfer.federated._classifier"]
    assert cycles(graph) == []
