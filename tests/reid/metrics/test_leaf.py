"""reid.metrics is numpy-only ranking maths and reid.config plain dataclasses: neither imports
torch, images, datasets or another part of reid."""

from __future__ import annotations

import ast
import sys

import pytest

from tests.reid.helpers import REPO

ALLOWED = {"metrics": {"numpy", "scipy", "core", "reid.metrics"}, "config": {"reid.config"}}


def _imported(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_leaf_packages_import_only_what_they_may(package):
    for path in sorted((REPO / "reid" / package).glob("*.py")):
        for name in _imported(path):
            root = name.split(".")[0]
            if root in sys.stdlib_module_names or root == "__future__":
                continue
            assert any(name == a or name.startswith(a + ".") for a in ALLOWED[package]), (
                f"{path.name} imports {name}"
            )
