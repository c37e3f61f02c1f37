"""pytest plugin (auto-loaded when covet is installed): the ``covet_client`` fixture factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["covet_client"]


@pytest.fixture
def covet_client() -> Iterator[Callable[..., Any]]:
    """Make started ``TestClient``s for apps; each is closed (lifespan shutdown) after the test.

    Example::

        def test_home(covet_client):
            client = covet_client(app)
            assert client.get("/").status_code == 200
    """
    from .testing import TestClient

    clients: list[TestClient] = []

    def make(app: Any, **options: Any) -> TestClient:
        client = TestClient(app, **options)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)
