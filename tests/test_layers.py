"""The layering rules of DESIGN.md, checked on the source (imports point downwards only)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LEAF_MPLT = {"mplt", "mplt.types", "mplt.errors", "mplt.registry"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(*parts: str) -> list[Path]:
    root = REPO.joinpath(*parts)
    if root.is_dir():
        return sorted(root.rglob("*.py"))
    return [root] if root.exists() else []


@pytest.mark.parametrize("path", _files("trackers"), ids=lambda p: p.name)
def test_trackers_use_only_numeric_libraries(path):
    allowed_roots = {"numpy", "scipy", "filterpy", "trackers", "__future__"}
    stdlib = {"collections", "dataclasses", "typing", "itertools", "math", "enum", "functools",
              "abc", "collections.abc"}
    for name in _imports(path):
        root = name.split(".")[0]
        assert root in allowed_roots or name in LEAF_MPLT or name in stdlib, f"{path}: {name}"


@pytest.mark.parametrize(
    "path", _files("mplt", "geometry") + _files("mplt", "localize.py") + _files("mplt", "types.py"),
    ids=lambda p: p.name,
)
def test_math_modules_import_no_cv2_torch_or_click(path):
    for name in _imports(path):
        assert name.split(".")[0] not in {"cv2", "torch", "click", "ultralytics"}, f"{path}: {name}"


@pytest.mark.parametrize("path", _files("reid"), ids=lambda p: p.name)
def test_reid_never_imports_the_application(path):
    for name in _imports(path):
        assert name.split(".")[0] != "mplt", f"{path}: {name}"
