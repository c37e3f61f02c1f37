"""TracingMiddleware's spans, read back from the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from covet import BackgroundTasks, Covet  # noqa: E402
from covet.observability import TracingMiddleware  # noqa: E402
from covet.testing import TestClient  # noqa: E402

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def make_app(exporter: InMemorySpanExporter) -> Covet:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.shop")
    app = Covet()

    def audit(item_id: int) -> None:
        with tracer.start_as_current_span("audit"):
            pass

    @app.get("/items/<int:item_id>")
    async def item(item_id: int, tasks: BackgroundTasks) -> dict:
        with tracer.start_as_current_span("load item"):
            pass
        tasks.add_task(audit, item_id)
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    app.add_middleware(TracingMiddleware, tracer_provider=provider)
    return app


def spans_by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


def test_server_span_attributes_and_children(exporter: InMemorySpanExporter) -> None:
    with TestClient(make_app(exporter), base_url="http://shop.example:8080") as client:
        assert client.get("/items/4?secret=x", headers={"user-agent": "probe/1"}).status_code == 200
    spans = spans_by_name(exporter)
    server = spans["GET /items/<int:item_id>"]
    assert server.kind is SpanKind.SERVER
    assert dict(server.attributes) == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": "/items/4",
        "network.protocol.version": "1.1",
        "server.address": "shop.example",
        "server.port": 8080,
        "user_agent.original": "probe/1",
        "client.address": "testclient",
        "client.port": 50000,
        "http.response.status_code": 200,
        "http.route": "/items/<int:item_id>",
    }
    assert server.status.status_code is StatusCode.UNSET
    # The handler's span and the background task's are the server span's children.
    for child in ("load item", "audit"):
        assert spans[child].parent.span_id == server.context.span_id
        assert spans[child].context.trace_id == server.context.trace_id


def test_traceparent_continues_the_callers_trace(exporter: InMemorySpanExporter) -> None:
    with TestClient(make_app(exporter)) as client:
        client.get("/items/1", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    server = spans_by_name(exporter)["GET /items/<int:item_id>"]
    assert server.context.trace_id == int(TRACE_ID, 16)
    assert server.parent.span_id == int(PARENT_ID, 16)
    assert server.parent.is_remote


@pytest.mark.parametrize("garbage", ["00-zz-yy-01", "ff-" + "0" * 32 + "-" + "0" * 16 + "-01", "x" * 5000])
def test_malformed_traceparent_starts_a_new_trace(exporter: InMemorySpanExporter, garbage: str) -> None:
    with TestClient(make_app(exporter)) as client:
        assert client.get("/items/1", headers={"traceparent": garbage}).status_code == 200
    server = spans_by_name(exporter)["GET /items/<int:item_id>"]
    assert server.parent is None


def test_server_error_marks_the_span(exporter: InMemorySpanExporter) -> None:
    with TestClient(make_app(exporter), raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    server = spans_by_name(exporter)["GET /boom"]
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes["http.response.status_code"] == 500
    assert server.attributes["error.type"] == "RuntimeError"
    assert [event.name for event in server.events] == ["exception"]


def test_5xx_response_marks_the_span(exporter: InMemorySpanExporter) -> None:
    app = make_app(exporter)

    @app.get("/down")
    async def down() -> tuple:
        return {"detail": "maintenance"}, 503

    with TestClient(app) as client:
        assert client.get("/down").status_code == 503
    server = spans_by_name(exporter)["GET /down"]
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes["error.type"] == "503"


def test_unmatched_request_has_no_route(exporter: InMemorySpanExporter) -> None:
    with TestClient(make_app(exporter)) as client:
        client.get("/wp-login.php")
        client.request("PURGE", "/items/1")
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GET", "HTTP"]
    assert all("http.route" not in span.attributes for span in spans)
    assert spans[0].attributes["http.response.status_code"] == 404
    assert spans[1].attributes["http.request.method"] == "_OTHER"
    assert spans[1].attributes["http.request.method_original"] == "PURGE"


def test_global_tracer_provider_is_the_default() -> None:
    middleware = TracingMiddleware(Covet())
    assert middleware.tracer is not None
    assert trace.get_tracer_provider() is not None


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    with pytest.raises(ImportError, match=r"covet\[otel\]"):
        TracingMiddleware(Covet())


@pytest.mark.parametrize("host", ["example.com:\xb2", "example.com:\xb9\xb3", "[::1]:\xb9", "example.com:99999999"])
def test_host_with_a_non_ascii_port_digit_is_traced_not_a_500(exporter: InMemorySpanExporter, host: str) -> None:
    # str.isdigit() says yes to '²', '³' and '¹' (Latin-1 bytes 0xB2, 0xB3, 0xB9, as servers decode
    # headers), which int() refuses.
    with TestClient(make_app(exporter)) as client:
        response = client.get("/items/1", headers={"host": host.encode("latin-1")})
    assert response.status_code == 200
    [server] = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert "server.port" not in server.attributes
