"""Shared fixtures: the py/c twin selection DESIGN.md asks every parsing/routing unit to run under."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

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


# --- the three ways a real app runs ----------------------------------------------------------------
#
# App-level test modules declare ``pytestmark = pytest.mark.usefixtures("serving_mode")`` and then
# run three times: as written, with a no-op before_request hook on every app, and with every app
# behind a no-op pure-ASGI middleware. The expected responses are the same, so a route shape that
# only works (or only fails) on the plain path shows up. Applied when the app freezes, so apps made
# at module level are covered too.

SERVING_MODES = ("plain", "hooked", "wrapped")


async def _noop_before_request(request: Any) -> None:
    return None


class _NoopMiddleware:
    """Pure ASGI, passes everything through untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(params=SERVING_MODES)
def serving_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which of the three ways the apps in this test are served (see above)."""
    from covet import Covet

    mode: str = request.param
    if mode == "plain" or request.node.get_closest_marker("plain_only") is not None:
        return mode
    freeze = Covet._freeze

    def frozen_with_extra(self: Covet) -> Any:
        if mode == "hooked":
            self.before_request_funcs.insert(0, _noop_before_request)
        else:
            self.user_middleware.insert(0, (_NoopMiddleware, {}))
        return freeze(self)

    monkeypatch.setattr(Covet, "_freeze", frozen_with_extra)
    return mode
