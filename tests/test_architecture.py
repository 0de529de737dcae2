"""The shape of the code, checked like behaviour: the layers' import contract holds, no module
imports itself back through others, and nothing outside the model packages asks which
concrete model it holds (the model contract has a method for it instead)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from homefeed.training.registry import MODEL_CLASSES

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "homefeed"
MODEL_PACKAGES = ("models", "ranking", "training")  # where concrete model classes may be named


def test_the_layers_contract_holds() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _import_graph() -> dict[str, set[str]]:
    """Module -> the homefeed modules it imports, read from the source: ``from package import
    name`` imports the package (its ``__init__`` runs) and, when ``name`` is a module, that
    module too. Imports inside functions count; a deferred import still closes a cycle."""
    modules = {}
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                named = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                named = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            else:
                continue
            graph[module] |= {name for name in named if name in modules and name != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back() -> None:
    graph = _import_graph()
    assert "homefeed.homepage.pipeline" in graph["homefeed.homepage"]
    assert _cycles(graph) == []


def test_a_cycle_is_found_where_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


def _isinstance_on_models(path: Path, root: Path = SOURCE) -> list[str]:
    """``isinstance`` calls in ``path`` whose class argument names a registered model class."""
    model_names = {cls.__name__ for cls in MODEL_CLASSES.values()} | {"Recommender"}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "isinstance"
            and len(node.args) == 2
        ):
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            named = {getattr(cls, "id", getattr(cls, "attr", None)) for cls in classes}
            if named & model_names:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_the_model_packages_ask_which_model_they_hold() -> None:
    outside = [
        path for path in SOURCE.rglob("*.py") if path.relative_to(SOURCE).parts[0] not in MODEL_PACKAGES
    ]
    assert outside and [hit for path in outside for hit in _isinstance_on_models(path)] == []


def test_the_isinstance_check_finds_a_model_check(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(m):\n    return isinstance(m, (int, models.CovisitationRecommender))\n", encoding="utf-8"
    )
    assert _isinstance_on_models(probe, tmp_path) == ["probe.py:2"]
