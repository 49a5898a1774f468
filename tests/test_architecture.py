"""The shape of the package (docs/architecture.md): small modules, no import cycles, backends
that do not reach into each other, and a library that does not import its demo model."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "crudql"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """Every crudql module `name` imports, anywhere in the file (TYPE_CHECKING and function
    bodies included): a cycle through a lazy import is still a cycle in the design."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def test_no_module_is_over_600_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_import_cycles_between_modules() -> None:
    # Package __init__ files only re-export their children; edges into them would be edges
    # to their children, so cycles are looked for among modules proper.
    graph = {n: {m for m in deps if not _is_package(m)} for n, deps in GRAPH.items() if not _is_package(n)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_check_does_not_depend_on_a_syntax_nor_the_syntax_on_the_check() -> None:
    for name, deps in GRAPH.items():
        if name.startswith("crudql.syntax"):
            assert not any(d.startswith("crudql.check") for d in deps), name
        if name.startswith("crudql.check"):
            assert not any(d.startswith("crudql.syntax") for d in deps), name


@pytest.mark.parametrize("backend", ["python", "sql", "mongo"])
def test_backends_do_not_reach_into_each_other(backend: str) -> None:
    others = {b for b in ("python", "sql", "mongo") if b != backend}
    for name, deps in GRAPH.items():
        if name.startswith(f"crudql.backends.{backend}"):
            bad = {d for d in deps if any(d.startswith(f"crudql.backends.{o}") for o in others)}
            assert bad == set(), name


def test_no_dialect_test_outside_the_dialects_package() -> None:
    """Engines differ only in crudql.backends.sql.dialects: nobody else asks which one runs."""
    for name, path in MODULES.items():
        if name.startswith("crudql.backends.sql.dialects"):
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('name == "postgresql"', 'name == "sqlite"', "with_variant(", '== "mysql"'):
            assert needle not in text, f"{name}: {needle}"


def test_import_crudql_does_not_import_the_demo_model_nor_optional_drivers() -> None:
    code = (
        "import sys, crudql; "
        "print(sorted(m for m in sys.modules if m.startswith(('crudql.models', 'crudql.sample', "
        "'sqlalchemy', 'pymongo', 'fastapi'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_demo_model_is_reachable_after_a_plain_import() -> None:
    code = "import crudql; print(crudql.models.Contact.__name__, len(crudql.sample.contacts(2)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Contact", "2"]


def test_every_package_ships_py_typed_and_its_grammars() -> None:
    assert (SRC / "py.typed").exists()
    assert sorted(p.name for p in (SRC / "syntax" / "grammar").glob("*.lark")) == ["json.lark", "lisp.lark"]
