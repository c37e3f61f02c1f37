"""PrometheusMiddleware and metrics_endpoint, read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_processes import start_server, stop_server

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from covet import Covet  # noqa: E402
from covet.observability import PrometheusMiddleware, metrics_endpoint  # noqa: E402
from covet.testing import TestClient  # noqa: E402


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def labels(method: str, route: str, status: int) -> tuple[tuple[str, str], ...]:
    return (("method", method), ("route", route), ("status", str(status)))


def make_app(registry: Any) -> Covet:
    app = Covet()

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict:
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    app.get("/metrics", include_in_schema=False)(metrics_endpoint(registry))
    app.add_middleware(PrometheusMiddleware, registry=registry)
    return app


def test_requests_are_counted_timed_and_labelled_by_template() -> None:
    registry = prometheus_client.CollectorRegistry()
    with TestClient(make_app(registry), raise_server_exceptions=False) as client:
        for n in range(3):
            assert client.get(f"/items/{n}").status_code == 200
        assert client.get("/boom").status_code == 500
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == prometheus_client.CONTENT_TYPE_LATEST
    found = samples(response.text)
    assert found[("http_requests_total", labels("GET", "/items/<int:item_id>", 200))] == 3
    assert found[("http_requests_total", labels("GET", "/boom", 500))] == 1
    assert found[("http_request_duration_seconds_count", labels("GET", "/items/<int:item_id>", 200))] == 3
    assert found[("http_request_duration_seconds_sum", labels("GET", "/items/<int:item_id>", 200))] > 0
    # Buckets are cumulative and end at the count; a fast in-process request is in the first one.
    bucket = "http_request_duration_seconds_bucket"
    by_bound = {
        dict(key[1])["le"]: value
        for key, value in found.items()
        if key[0] == bucket and dict(key[1])["route"] == "/items/<int:item_id>"
    }
    assert by_bound["+Inf"] == 3 and by_bound["0.001"] <= by_bound["0.01"] <= 3
    assert by_bound["10.0"] == 3
    # Only the scrape itself is in flight while it renders.
    assert found[("http_requests_in_progress", (("method", "GET"),))] == 1


def test_scanner_paths_and_made_up_methods_cannot_explode_cardinality() -> None:
    registry = prometheus_client.CollectorRegistry()
    with TestClient(make_app(registry)) as client:
        for n in range(50):
            client.get(f"/random/{n}/admin.php")
        for n in range(20):
            client.request(f"SCAN{n}", f"/x{n}")
        text = client.get("/metrics").text
    found = samples(text)
    assert found[("http_requests_total", labels("GET", "<unmatched>", 404))] == 50
    other = [key for key in found if key[0] == "http_requests_total" and ("method", "_OTHER") in key[1]]
    assert sum(found[key] for key in other) == 20
    assert "admin.php" not in text and "SCAN" not in text and "/x1" not in text


def test_method_override_behind_a_matched_route_cannot_explode_cardinality() -> None:
    # A route middleware runs after routing: one that copies a client's header into the method
    # (an X-HTTP-Method-Override done wrong) must not give each made-up method a label.
    class MethodOverride:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            for key, value in scope["headers"]:
                if key == b"x-method":
                    scope["method"] = value.decode("latin-1")
            await self.app(scope, receive, send)

    registry = prometheus_client.CollectorRegistry()
    app = Covet()

    @app.post("/tunnel", middleware=[MethodOverride])
    async def tunnel() -> dict:
        return {}

    app.get("/metrics", include_in_schema=False)(metrics_endpoint(registry))
    app.add_middleware(PrometheusMiddleware, registry=registry)
    with TestClient(app) as client:
        for n in range(10):
            assert client.post("/tunnel", headers={"x-method": f"EVIL{n}"}).status_code == 200
        text = client.get("/metrics").text
    assert samples(text)[("http_requests_total", labels("_OTHER", "/tunnel", 200))] == 10
    assert "EVIL" not in text


def test_another_apps_route_cannot_explode_cardinality() -> None:
    # Behind the middleware may be any ASGI app that sets scope["route"] (a 405 included).
    class Route:
        path = "/thing"
        methods = frozenset({"GET"})

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = Route()
        await send({"type": "http.response.start", "status": 405, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    registry = prometheus_client.CollectorRegistry()
    app = PrometheusMiddleware(inner, registry=registry)
    with TestClient(app) as client:
        for n in range(10):
            client.request(f"X{n}", "/thing")
    text = prometheus_client.generate_latest(registry).decode()
    assert samples(text)[("http_requests_total", labels("_OTHER", "/thing", 405))] == 10
    assert 'method="X' not in text


def test_two_apps_share_the_families_of_one_registry() -> None:
    registry = prometheus_client.CollectorRegistry()
    make_app(registry)
    with TestClient(make_app(registry)) as client:
        client.get("/items/1")
    with pytest.raises(ValueError, match="same buckets"):
        PrometheusMiddleware(Covet(), registry=registry, buckets=(1.0, 2.0))


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"covet\[metrics\]"):
        PrometheusMiddleware(Covet())


WORKER_APP = """
import os
from covet import Covet
from covet.observability import PrometheusMiddleware, metrics_endpoint

app = Covet()

@app.get("/pid")
async def pid() -> dict:
    return {"pid": os.getpid()}

app.get("/metrics")(metrics_endpoint())
app.add_middleware(PrometheusMiddleware)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_two_workers_report_the_sum_of_both(tmp_path: Path, server: str) -> None:
    # granian forks its workers from the process that imported the app (and prometheus_client).
    pytest.importorskip(server)
    (tmp_path / "shop.py").write_text(WORKER_APP)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    argv = ["shop.py", "--port", str(port), "--workers", "2", "--no-access-log", "--server", server]
    process = start_server(
        [sys.executable, "-m", "covet", "run", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        sent = 0
        deadline = time.monotonic() + 60
        while len(pids) < 2 or sent < 20:
            assert time.monotonic() < deadline, f"saw workers {pids} only"
            assert process.poll() is None, process.communicate()
            try:
                # A new connection each time, so the kernel can hand it to either worker.
                response = httpx.get(f"{url}/pid", headers={"connection": "close"}, timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            pids.add(response.json()["pid"])
            sent += 1
        # Whichever worker answers the scrape, it reports both workers' requests.
        for _ in range(4):
            text = httpx.get(f"{url}/metrics", headers={"connection": "close"}, timeout=5).text
            assert samples(text)[("http_requests_total", labels("GET", "/pid", 200))] == sent
    finally:
        _, err = stop_server(process, timeout=20)
    assert "Traceback" not in err, err
