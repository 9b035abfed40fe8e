"""The generator package keeps the house conventions: a docstring saying what each module is for,
`__all__` in each module, and only `render` imports jinja2."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from kontrakt import generator

MODULES = sorted(
    p.stem for p in Path(generator.__file__).parent.glob("*.py") if p.stem != "__init__"
)


def test_public_names() -> None:
    assert generator.__all__ == ["Built", "Outcome", "build", "generate"]
    assert MODULES == [
        "cache",
        "command",
        "ir",
        "load",
        "models",
        "naming",
        "parse",
        "partition",
        "pipeline",
        "render",
        "sharing",
        "syntax",
        "unions",
        "validate",
        "views",
        "write",
    ]


@pytest.mark.parametrize("name", MODULES)
def test_module_has_docstring_and_all(name: str) -> None:
    module = importlib.import_module(f"kontrakt.generator.{name}")
    assert module.__doc__ and module.__doc__.strip()
    assert isinstance(module.__all__, list)
    for public in module.__all__:
        assert hasattr(module, public), f"generator.{name}.{public}"


@pytest.mark.parametrize("name", MODULES)
def test_only_render_imports_jinja2(name: str) -> None:
    tree = ast.parse((Path(generator.__file__).parent / f"{name}.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert ("jinja2" in imported) == (name == "render")
    modules = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any(m.startswith(("kontrakt.conformance", "kontrakt.sandbox")) for m in modules)
