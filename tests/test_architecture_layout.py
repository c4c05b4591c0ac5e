"""The package's shape, as the developer guide asks it: no import cycle between its modules (lazy
imports inside functions included: they only defer a cycle), no module over 600 lines and no
function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "emulator"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The nodes under `if TYPE_CHECKING:`, which never run (annotations only)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports, wherever the import is."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                imported.add(base)
                imported.update(f"{base}.{alias.name}" for alias in node.names)  # a submodule imported by name
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_lazy_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree_of_lazy = ast.parse("def f():\n    from emulator.app import create_app\n")
    assert any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree_of_lazy))


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    assert "emulator.control.api" in graph and "emulator.app" in graph["emulator.server"]
    assert cycles(graph) == []


def test_the_layers_import_downwards_only() -> None:
    """The engine imports nothing of the packages built on it; delivery imports nothing of the
    control API (the audit's route lives in control/); app.py imports the control API's registry
    to register it, not its base for its own 404s and 500s."""
    graph = import_graph()
    for module, imported in graph.items():
        if module.startswith("emulator.engine."):
            assert {m for m in imported if not m.startswith("emulator.engine.")} <= {"emulator.settings",
                                                                                   "emulator.vocabulary"}, module
        if module.startswith("emulator.delivery."):
            assert not {m for m in imported if m.startswith("emulator.control")}, module
    assert {m for m in graph["emulator.app"] if m.startswith("emulator.control")} == {"emulator.control",
                                                                                      "emulator.control.api",
                                                                                      "emulator.control.guard"}


def test_no_module_is_over_600_lines() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (length := (node.end_lineno or start) - start + 1) > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = length
    assert long == {}


def test_the_readme_package_table_names_what_exists() -> None:
    """Each folder of the package has a row in the README's layout table, and every module a row
    names (`name.py`) is in that folder."""
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(emulator/[a-z_/]*)` \| (.+) \|$", readme, flags=re.MULTILINE))
    folders = {f"emulator/{p.parent.relative_to(PACKAGE)}/".replace("/./", "/") for p in PACKAGE.rglob("__init__.py")}
    assert folders == set(rows)
    for folder, text in rows.items():
        for module in re.findall(r"`([a-z_]+\.py)`", text):
            assert (PACKAGE.parent / folder / module).is_file(), f"{folder}{module}"
