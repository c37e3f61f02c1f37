"""OpenTelemetry tracing: one server span per HTTP request (``covet[otel]``).

The span follows the stable HTTP semantic conventions (``http.request.method``, ``url.path``,
``url.scheme``, ``http.route``, ``http.response.status_code``, ``server.address``,
``server.port``, ``client.address``, ``client.port``, ``network.protocol.version``,
``user_agent.original``, ``error.type``); it is named ``"{method} {route}"`` once routing has
matched (just ``"{method}"`` otherwise, as the conventions ask). Its parent comes from the
request's ``traceparent`` / ``tracestate`` headers (W3C Trace Context) through the globally
configured propagator. The span is the current span while the app runs, so spans made in
handlers, dependencies and background tasks (which run in the request's task) are its children.

``url.query`` is left out on purpose: query strings carry tokens and signatures, and a trace
backend is rarely as guarded as the app.
"""

from __future__ import annotations

from typing import Any

from ..types import ASGIApp, Message, Receive, Scope, Send
from ._extras import require

__all__ = ["TracingMiddleware"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def _header_getter() -> Any:
    textmap = require("opentelemetry.propagators.textmap", "otel", "TracingMiddleware")

    class ScopeHeaders(textmap.Getter):  # type: ignore[misc,name-defined]
        """Reads propagation headers straight from the ASGI scope's raw header list."""

        def get(self, carrier: Any, key: str) -> list[str] | None:
            name = key.lower().encode("latin-1")
            values = [value.decode("latin-1") for field, value in carrier if field == name]
            return values or None

        def keys(self, carrier: Any) -> list[str]:
            return [field.decode("latin-1") for field, _ in carrier]

    return ScopeHeaders()


class TracingMiddleware:
    """Trace every HTTP request as an OpenTelemetry server span (see the module docstring).

    Example::

        from covet.observability import TracingMiddleware

        app.add_middleware(TracingMiddleware)    # uses the global TracerProvider

    ``tracer_provider``: the provider to take the tracer from (default: the global one, set by
    ``opentelemetry.trace.set_tracer_provider`` or the ``opentelemetry-instrument`` agent).
    A 5xx response, or an exception escaping the app, sets the span's status to ERROR; the
    exception is recorded as an event. Needs ``covet[otel]``.
    """

    def __init__(self, app: ASGIApp, *, tracer_provider: Any = None) -> None:
        from .. import __version__

        self._trace = require("opentelemetry.trace", "otel", "TracingMiddleware")
        self._propagate = require("opentelemetry.propagate", "otel", "TracingMiddleware")
        self.app = app
        self.tracer = self._trace.get_tracer("covet", __version__, tracer_provider=tracer_provider)
        self._getter = _header_getter()
        self._server = self._trace.SpanKind.SERVER
        self._error = self._trace.Status(self._trace.StatusCode.ERROR)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        parent = self._propagate.extract(headers, getter=self._getter)
        method = scope["method"]
        attributes = _request_attributes(scope, method)
        name = method if method in _METHODS else "HTTP"
        status = 0

        with self.tracer.start_as_current_span(
            name, context=parent, kind=self._server, attributes=attributes
        ) as span:

            async def send_traced(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_attribute("error.type", str(status))
                        span.set_status(self._error)
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            except BaseException as exc:
                if not status and isinstance(exc, Exception):
                    # What the client gets: the app's outermost layer answers an escaped error with 500.
                    span.set_attribute("http.response.status_code", 500)
                    span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None)
                if isinstance(template, str):
                    span.set_attribute("http.route", template)
                    span.update_name(f"{name} {template}")


def _request_attributes(scope: Scope, method: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": method if method in _METHODS else "_OTHER",
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if method not in _METHODS:
        attributes["http.request.method_original"] = method
    for key, value in scope["headers"]:
        if key == b"host":
            host, port = _host_and_port(value.decode("latin-1"))
            attributes["server.address"] = host
            if port is not None:
                attributes["server.port"] = port
        elif key == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")
    server = scope.get("server")
    if "server.address" not in attributes and server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
        attributes["client.port"] = client[1]
    return attributes


def _host_and_port(value: str) -> tuple[str, int | None]:
    """``Host`` split into address and port (RFC 9110 §7.2; an IPv6 literal is bracketed)."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        host, rest = value[1:end], value[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = value.partition(":")
    # ASCII digits only: str.isdigit() also says yes to '²', which int() refuses.
    return host, int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None
