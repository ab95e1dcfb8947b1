"""The layers of DESIGN.md, checked on the source: imports point downwards only, no loops.

Every project module belongs to one layer (:data:`LAYERS`, lowest first). A module may import
modules of its own group and of lower layers, never of a higher one or a sibling group of the
same layer. Imports under ``if TYPE_CHECKING:`` are annotations only and do not count; imports
inside functions do. Third-party imports are limited per group (:data:`THIRD_PARTY`).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Groups of modules, lowest layer first; groups on one line are independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("trackers", "reid"),
    ("mplt.version", "mplt.config"),
    ("mplt.geometry", "mplt.io"),
    (
        "mplt.localize",
        "mplt.feet",
        "mplt.selfcal",
        "mplt.detection",
        "mplt.appearance",
        "mplt.eval",
        "mplt.synthetic",
        "mplt.finish",
    ),
    ("mplt.render",),
    ("mplt.pipeline",),
    ("mplt.api",),
    ("mplt.fleet", "mplt.adapt"),
    ("mplt",),
    ("cli",),
]

#: Third-party packages a group may import (None: any). The standard library is always allowed.
THIRD_PARTY: dict[str, set[str] | None] = {
    "core": {"numpy", "yaml"},
    "trackers": {"numpy", "scipy", "filterpy"},
    "mplt.geometry": {"numpy", "yaml"},
    "mplt.localize": {"numpy"},
    "mplt.feet": {"numpy", "cv2"},
    "mplt.finish": {"numpy"},
    "mplt.config": set(),
    "mplt.version": set(),
}

PROJECT = {"core", "trackers", "reid", "mplt", "cli"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names imported by a file (``from a import b`` gives ``a`` and ``a.b``), except
    those under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; use absolute imports")
    return names


def _source_files() -> list[Path]:
    files = [REPO / "cli.py"]
    for top in ("core", "trackers", "reid", "mplt"):
        files += sorted((REPO / top).rglob("*.py"))
    return files


MODULES = {_module_name(p): p for p in _source_files()}


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (``a.b.c`` -> ``a.b`` if c is a name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _group(module: str) -> str:
    """The layer group of a module: the longest group name it falls under."""
    best = None
    for groups in LAYERS:
        for g in groups:
            if (module == g or module.startswith(g + ".")) and (best is None or len(g) > len(best)):
                best = g
    assert best is not None, f"{module} belongs to no layer; add it to LAYERS"
    return best


LAYER_OF = {g: i for i, groups in enumerate(LAYERS) for g in groups}
EDGES = {
    m: {t for name in _imports(p) if (t := _resolve(name)) is not None and t != m}
    for m, p in MODULES.items()
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_downwards(module):
    group = _group(module)
    for target in EDGES[module]:
        other = _group(target)
        if other == group:
            continue
        assert LAYER_OF[other] < LAYER_OF[group], (
            f"{module} (layer {LAYER_OF[group]}, {group}) imports {target} "
            f"(layer {LAYER_OF[other]}, {other})"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_third_party_imports_stay_within_the_group_budget(module):
    allowed = THIRD_PARTY.get(_group(module))
    if allowed is None:
        return
    for name in _imports(MODULES[module]):
        root = name.split(".")[0]
        if root in PROJECT or root in sys.stdlib_module_names or root == "__future__":
            continue
        assert root in allowed, f"{module} imports {name}; its group may use only {allowed}"


def test_no_import_loops():
    """No cycle among modules (strongly connected components of size 1 only)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in EDGES[v]:
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(MODULES)))
    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not cycles, f"import loops: {cycles}"


@pytest.mark.parametrize("top", ["bench", "videos"])
def test_scripts_do_not_import_the_tests(top):
    for path in sorted((REPO / top).rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(REPO).parts):
            continue  # virtual environments and caches of the benchmarks
        for name in _imports(path):
            assert name.split(".")[0] != "tests", f"{path}: {name}"


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _group(module)
