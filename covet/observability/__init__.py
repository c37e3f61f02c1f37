"""Observability: request ids, access logs, Prometheus metrics, OpenTelemetry tracing, health checks.

One module per concern. Request ids and the access log need nothing beyond covet; metrics need
``covet[metrics]`` (prometheus_client) and tracing ``covet[otel]`` (OpenTelemetry), imported only
when their names are first used. Health checks are registered with ``app.add_health_checks(...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._labels import UNMATCHED, route_template
from .access_log import AccessLogMiddleware
from .request_id import RequestIdFilter, RequestIdMiddleware, get_request_id

if TYPE_CHECKING:
    from .metrics import PrometheusMiddleware, metrics_endpoint
    from .tracing import TracingMiddleware

__all__ = [
    "AccessLogMiddleware",
    "PrometheusMiddleware",
    "RequestIdFilter",
    "RequestIdMiddleware",
    "TracingMiddleware",
    "UNMATCHED",
    "get_request_id",
    "metrics_endpoint",
    "route_template",
]

_LAZY = {
    "PrometheusMiddleware": "metrics",
    "metrics_endpoint": "metrics",
    "TracingMiddleware": "tracing",
}


def __getattr__(name: str) -> Any:
    # The optional integrations import their packages (and say which extra to install) only when used.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'covet.observability' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
