"""The package layout's rules (issue #28), read off the source files' syntax
trees, so a newcomer can trust the folder listing:

* at most 15 modules at the package root: the rest live in a family or a
  private package;
* no import cycle among sktransfer's modules (imports inside functions
  count: they hide a cycle, they do not remove it);
* no module imports another package's private module (``metrics._scorers``
  from outside ``metrics``), except the entries of ``ALLOWED``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sktransfer"
MAX_ROOT_MODULES = 15

# (importer, imported): why it is allowed for now.
ALLOWED: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imported(name: str) -> set[str]:
    """The sktransfer modules that importing ``name`` runs directly: each
    module an import statement names (``from .x import y`` names ``x.y``
    when that is a module, else ``x``), and the packages above it that Python
    imports first (the root package and ``name``'s own packages aside: they
    are imported before ``name``; naming one explicitly still counts)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    here = name.split(".") if _is_package(name) else name.split(".")[:-1]
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                named.add(sub if sub in MODULES else base)
    parts = name.split(".")
    own = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    imported = set()
    for target in named & MODULES.keys():
        imported.add(target)
        above = target.split(".")
        imported.update(".".join(above[:i]) for i in range(2, len(above)))
    return imported - (own - named) - {name}


GRAPH = {name: _imported(name) for name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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


def _subpackage(name: str) -> str | None:
    """``sktransfer.metrics`` for ``sktransfer.metrics._scorers``; None for
    the root package and its modules."""
    parts = name.split(".")
    if len(parts) > 2 or (len(parts) == 2 and _is_package(name)):
        return ".".join(parts[:2])
    return None


def _is_private_inside(name: str, package: str) -> bool:
    """A module of ``package`` whose own name (or a package on the way to it,
    below ``package``) starts with an underscore."""
    inner = name[len(package) + 1 :].split(".") if name != package else []
    return any(part.startswith("_") for part in inner)


def test_the_root_holds_at_most_15_modules():
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, (
        f"{len(root)} modules at sktransfer's root: {root}. Put a private "
        "helper in the package that uses it (or in sktransfer/_base/ when "
        "several do)."
    )


def test_the_graph_sees_the_imports():
    # The rules below are only as good as the graph: spot-check it.
    assert "sktransfer._base.sharing" in GRAPH["sktransfer.source"]
    assert "sktransfer._base" in GRAPH["sktransfer.source"]  # runs __init__
    assert "sktransfer.metrics" in GRAPH["sktransfer.selection._selector"]
    # an import inside a function counts
    assert "sktransfer.features" in GRAPH["sktransfer.metrics._scorers"]
    assert "sktransfer.federated._flower" in GRAPH["sktransfer.federated._classifier"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_no_module_imports_another_packages_private_module():
    found = {
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if (package := _subpackage(target)) is not None
        and _subpackage(name) != package
        and _is_private_inside(target, package)
    }
    assert found - ALLOWED.keys() == set()


def test_every_allowed_entry_is_still_needed():
    for name, target in ALLOWED:
        assert target in GRAPH[name], (
            f"{name} no longer imports {target}: drop its ALLOWED entry"
        )
