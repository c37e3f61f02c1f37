"""Shared fixtures: the py/c twin selection DESIGN.md asks every parsing/routing unit to run under."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

_TWINS = {
    "router": ("covet._router_py", "covet._speedups._router"),
    "parsers": ("covet._parsers_py", "covet._speedups._parsers"),
}


def _load_twin(kind: str, impl: str) -> ModuleType:
    python_name, compiled_name = _TWINS[kind]
    if impl == "py":
        return importlib.import_module(python_name)
    try:
        return importlib.import_module(compiled_name)
    except ImportError:
        if os.environ.get("COVET_REQUIRE_EXTENSIONS"):
            raise
        pytest.skip(f"{compiled_name} is not built (pure-Python install)")


@pytest.fixture(params=["py", "c"])
def router_impl(request: pytest.FixtureRequest) -> ModuleType:
    """The matcher module: the pure-Python reference, then the compiled twin when built."""
    return _load_twin("router", request.param)


@pytest.fixture(params=["py", "c"])
def parsers_impl(request: pytest.FixtureRequest) -> ModuleType:
    """The request parsers module: the pure-Python reference, then the compiled twin when built."""
    return _load_twin("parsers", request.param)
