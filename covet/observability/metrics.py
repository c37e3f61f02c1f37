"""Prometheus metrics per request, labelled by method, route template and status (``covet[metrics]``).

Metrics (names as the Prometheus naming guide has them, base units):

- ``http_requests_total{method, route, status}``: counter of finished requests;
- ``http_request_duration_seconds{method, route, status}``: histogram, until the last body byte;
- ``http_requests_in_progress{method}``: gauge of requests being served. Not by route: the route is
  known only once routing has run inside the app, and a gauge must be raised before that.

Label cardinality is bounded: ``route`` is a template or ``"<unmatched>"``, ``method`` is one of
RFC 9110's (plus PATCH) or a method a route declares, else ``"_OTHER"``.

Several worker processes (``covet run --workers N``) share their metrics through
prometheus_client's multiprocess mode: ``covet run`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory for the workers, and :func:`metrics_endpoint` then aggregates every worker's values.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..responses import Response
from ..types import ASGIApp, Message, Receive, Scope, Send
from ._extras import require
from ._labels import route_template

__all__ = ["PrometheusMiddleware", "metrics_endpoint", "DEFAULT_BUCKETS"]

#: Latency buckets in seconds: 1 ms to 10 s, the range web handlers live in.
DEFAULT_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_OTHER = "_OTHER"
_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

# One set of metric families per (registry, namespace): a second middleware (another app in the
# same process, a test) shares them instead of failing on duplicate names.
_families: dict[tuple[int, str], tuple[Any, Any, Any, tuple[float, ...]]] = {}
_families_lock = threading.Lock()


def _prometheus() -> Any:
    return require("prometheus_client", "metrics", "PrometheusMiddleware")


def _metric_families(registry: Any, namespace: str, buckets: tuple[float, ...]) -> tuple[Any, Any, Any]:
    prometheus = _prometheus()
    key = (id(registry), namespace)
    with _families_lock:
        found = _families.get(key)
        if found is None:
            labels = ("method", "route", "status")
            found = (
                prometheus.Counter(
                    "http_requests", "HTTP requests served.", labels, namespace=namespace, registry=registry
                ),
                prometheus.Histogram(
                    "http_request_duration_seconds",
                    "Time from the request's arrival to its last response byte.",
                    labels,
                    namespace=namespace,
                    registry=registry,
                    buckets=buckets,
                ),
                prometheus.Gauge(
                    "http_requests_in_progress",
                    "HTTP requests being served.",
                    ("method",),
                    namespace=namespace,
                    registry=registry,
                    multiprocess_mode="livesum",
                ),
                buckets,
            )
            _families[key] = found
            if os.environ.get(_MULTIPROC):
                # A worker's live gauge values must not outlive it (prometheus_client's livesum).
                multiprocess = require("prometheus_client.multiprocess", "metrics", "PrometheusMiddleware")
                atexit.register(multiprocess.mark_process_dead, os.getpid())
        elif found[3] != buckets:
            raise ValueError(
                f"The request metrics of this registry already use buckets {found[3]}; give every "
                f"PrometheusMiddleware on it the same buckets, or another registry= (got {buckets})."
            )
    return found[0], found[1], found[2]


class PrometheusMiddleware:
    """Count and time every HTTP request into Prometheus metrics (see the module docstring).

    Example::

        from covet.observability import PrometheusMiddleware, metrics_endpoint

        app.add_middleware(PrometheusMiddleware)
        app.get("/metrics", include_in_schema=False)(metrics_endpoint())

    ``registry``: the prometheus_client registry (default: the global ``REGISTRY``);
    ``namespace``: a prefix for the metric names (``"shop"`` gives ``shop_http_requests_total``);
    ``buckets``: the latency histogram's upper bounds in seconds. Needs ``covet[metrics]``.
    A request that raised before responding is counted with status 500.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Any = None,
        namespace: str = "",
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        prometheus = _prometheus()
        self.app = app
        self.registry = prometheus.REGISTRY if registry is None else registry
        self._requests, self._latency, in_progress = _metric_families(self.registry, namespace, tuple(buckets))
        self._in_progress = {method: in_progress.labels(method) for method in (*_METHODS, _OTHER)}
        # (method, route, status) -> (counter child, histogram child): label lookups once per key.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        gauge = self._in_progress.get(method) or self._in_progress[_OTHER]
        status = 0
        end = 0.0

        async def send_counted(message: Message) -> None:
            nonlocal status, end
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif kind == "http.response.body" and not message.get("more_body", False):
                end = time.perf_counter()
            await send(message)

        gauge.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            duration = (end or time.perf_counter()) - start
            gauge.dec()
            route = scope.get("route")
            if method not in _METHODS and (route is None or method not in getattr(route, "methods", ())):
                method = _OTHER
            key = (method, route_template(scope), status or 500)
            children = self._children.get(key)
            if children is None:
                label = (key[0], key[1], str(key[2]))
                children = self._children[key] = (self._requests.labels(*label), self._latency.labels(*label))
            children[0].inc()
            children[1].observe(duration)


def metrics_endpoint(registry: Any = None) -> Callable[[], Any]:
    """A handler serving the metrics in Prometheus' text format; register it on a path of your choice::

        app.get("/metrics", include_in_schema=False)(metrics_endpoint())

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``covet run --workers N`` sets it), it answers with
    the sum over every worker process, whichever worker serves the scrape. Needs ``covet[metrics]``.
    Keep the path off the public internet (a proxy rule, a separate port) if the numbers are private.
    """
    prometheus = require("prometheus_client", "metrics", "metrics_endpoint")
    chosen = prometheus.REGISTRY if registry is None else registry

    async def metrics() -> Response:
        if os.environ.get(_MULTIPROC):
            multiprocess = require("prometheus_client.multiprocess", "metrics", "metrics_endpoint")
            target = prometheus.CollectorRegistry()
            multiprocess.MultiProcessCollector(target)
        else:
            target = chosen
        return Response(prometheus.generate_latest(target), media_type=prometheus.CONTENT_TYPE_LATEST)

    return metrics
