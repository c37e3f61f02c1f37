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
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from ..responses import Response
from ..routing import Route
from ..types import ASGIApp, Scope
from ._extras import require
from ._labels import route_template
from ._layer import Exchange, Stage

__all__ = ["PrometheusMiddleware", "metrics_endpoint", "DEFAULT_BUCKETS"]

#: Latency buckets in seconds: 1 ms to 10 s, the range web handlers live in.
DEFAULT_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_OTHER = "_OTHER"
_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

# One store of request metrics per (registry, namespace): a second middleware (another app in the
# same process, a test) shares it instead of failing on duplicate names.
_stores: dict[tuple[int, str], _Store | _SharedStore] = {}
_stores_lock = threading.Lock()


def _prometheus() -> Any:
    return require("prometheus_client", "metrics", "PrometheusMiddleware")


class _Store:
    """Where the middleware counts, for one process: plain integers, read by a collector.

    Why not prometheus_client's Counter/Histogram objects: each ``inc``/``observe`` takes a lock
    and the histogram walks its buckets in Python, about 3 µs per request together, more than
    the rest of a JSON request. The middleware only ever counts on the event loop's thread, so
    plain integers need no lock; a scrape (from any thread) copies them under the GIL.
    A series is one list, ``[count in bucket 0, ..., count in the +Inf bucket, sum of durations]``:
    a request adds 1 to its bucket and its duration to the sum; the count is the buckets' total,
    added up at scrape time rather than per request.
    """

    def __init__(self, prometheus: Any, namespace: str, buckets: tuple[float, ...]) -> None:
        self.prometheus = prometheus
        self.prefix = f"{namespace}_" if namespace else ""
        self.buckets = buckets
        self.series: dict[tuple[str, str, int], list[Any]] = {}
        self.in_progress: dict[str, list[int]] = {method: [0] for method in (*_METHODS, _OTHER)}

    def describe(self) -> list[Any]:
        return list(self._families(empty=True))

    def collect(self) -> list[Any]:
        return list(self._families(empty=False))

    def _families(self, empty: bool) -> Any:
        core = self.prometheus.metrics_core
        labels = ["method", "route", "status"]
        requests = core.CounterMetricFamily(f"{self.prefix}http_requests", "HTTP requests served.", labels=labels)
        latency = core.HistogramMetricFamily(
            f"{self.prefix}http_request_duration_seconds",
            "Time from the request's arrival to its last response byte.",
            labels=labels,
        )
        gauge = core.GaugeMetricFamily(
            f"{self.prefix}http_requests_in_progress", "HTTP requests being served.", labels=["method"]
        )
        if not empty:
            bounds = [*(repr(float(bound)) for bound in self.buckets), "+Inf"]
            for (method, route, status), series in list(self.series.items()):
                *per_bucket, total = list(series)  # a copy: requests may count meanwhile
                label_values = [method, route, str(status)]
                requests.add_metric(label_values, sum(per_bucket))
                cumulative, running = [], 0
                for bound, bucket_count in zip(bounds, per_bucket):
                    running += bucket_count
                    cumulative.append((bound, running))
                latency.add_metric(label_values, cumulative, total)
            for method, (value,) in list(self.in_progress.items()):
                gauge.add_metric([method], value)
        return (requests, latency, gauge)


class _SharedStore:
    """The same counting interface over prometheus_client's multiprocess-safe metrics.

    With ``PROMETHEUS_MULTIPROC_DIR`` set, values must live in prometheus_client's memory-mapped
    files so that :func:`metrics_endpoint` can add up every worker's; its own metric objects do that.
    """

    def __init__(self, prometheus: Any, namespace: str, buckets: tuple[float, ...], registry: Any) -> None:
        labels = ("method", "route", "status")
        self.buckets = buckets
        self.requests = prometheus.Counter(
            "http_requests", "HTTP requests served.", labels, namespace=namespace, registry=registry
        )
        self.latency = prometheus.Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to its last response byte.",
            labels,
            namespace=namespace,
            registry=registry,
            buckets=buckets,
        )
        self.gauge = prometheus.Gauge(
            "http_requests_in_progress",
            "HTTP requests being served.",
            ("method",),
            namespace=namespace,
            registry=registry,
            multiprocess_mode="livesum",
        )
        # A worker's live gauge values must not outlive it (prometheus_client's livesum).
        multiprocess = require("prometheus_client.multiprocess", "metrics", "PrometheusMiddleware")
        atexit.register(multiprocess.mark_process_dead, os.getpid())


class _GaugeCell:
    """A prometheus_client gauge child behind the ``cell[0] += 1`` the middleware writes."""

    __slots__ = ("child", "value")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.value = 0

    def __getitem__(self, index: int) -> int:
        return self.value

    def __setitem__(self, index: int, value: int) -> None:
        self.child.inc(value - self.value)
        self.value = value


def _store(registry: Any, namespace: str, buckets: tuple[float, ...]) -> _Store | _SharedStore:
    prometheus = _prometheus()
    key = (id(registry), namespace)
    with _stores_lock:
        found: _Store | _SharedStore | None = _stores.get(key)
        if found is None:
            if os.environ.get(_MULTIPROC):
                found = _SharedStore(prometheus, namespace, buckets, registry)
            else:
                found = _Store(prometheus, namespace, buckets)
                registry.register(found)
            _stores[key] = found
        elif found.buckets != buckets:
            raise ValueError(
                f"The request metrics of this registry already use buckets {found.buckets}; give every "
                f"PrometheusMiddleware on it the same buckets, or another registry= (got {buckets})."
            )
    return found


class PrometheusMiddleware(Stage):
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
        bounds = tuple(sorted(float(bound) for bound in buckets if bound != float("inf")))
        if not bounds:
            raise ValueError(f"PrometheusMiddleware needs at least one finite bucket bound, got {buckets!r}.")
        self.registry = prometheus.REGISTRY if registry is None else registry
        store = _store(self.registry, namespace, bounds)
        self._bounds = list(bounds)
        if isinstance(store, _Store):
            self._series = store.series
            self._in_progress = store.in_progress
        else:
            shared = store
            gauges = {method: shared.gauge.labels(method) for method in (*_METHODS, _OTHER)}
            self._in_progress = {method: _GaugeCell(gauge) for method, gauge in gauges.items()}  # type: ignore[misc]
            self._shared = shared
            self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
            self.end = self._end_shared  # type: ignore[method-assign]
        # The series of each (matched route, method, status) seen, found with one dict lookup per
        # request: labels are worked out (method checked, template read) once per key. Only keys of
        # the app's own routes and accepted methods go in, so it stays as small as the label set.
        self._by_route: dict[tuple[Any, str, int], list[Any]] = {}
        super().__init__(app)  # last: the layer's code is written for the ``end`` chosen above

    def begin(self, scope: Scope, exchange: Exchange) -> Any:
        gauge = self._in_progress.get(scope["method"]) or self._in_progress[_OTHER]
        gauge[0] += 1
        return gauge

    def end(self, scope: Scope, exchange: Exchange, gauge: Any) -> None:
        gauge[0] -= 1
        key = (scope.get("route"), scope["method"], exchange.status or 500)
        try:
            series = self._by_route.get(key)
        except TypeError:  # another app's unhashable scope["route"]
            series = None
        if series is None:
            series = self._series_for(scope, key)
        duration = exchange.end - exchange.start
        series[bisect_left(self._bounds, duration)] += 1
        series[-1] += duration

    def _labels(self, scope: Scope, status: int) -> tuple[str, str, int]:
        """The (method, route, status) labels: bounded whatever the client sent (module docstring)."""
        method = scope["method"]
        route = scope.get("route")
        if method not in _METHODS and method not in getattr(route, "methods", ()):
            method = _OTHER
        return (method, route_template(scope), status)

    def _series_for(self, scope: Scope, key: tuple[Any, str, int]) -> list[Any]:
        labels = self._labels(scope, key[2])
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = [0] * (len(self._bounds) + 1) + [0.0]
        route = key[0]
        if isinstance(route, Route) and labels[0] == key[1]:
            self._by_route[key] = series
        return series

    def _end_shared(self, scope: Scope, exchange: Exchange, gauge: Any) -> None:
        # The multiprocess store: prometheus_client's own metric objects, one child per label set.
        gauge[0] -= 1
        labels = self._labels(scope, exchange.status or 500)
        found = self._children.get(labels)
        if found is None:
            label_values = (labels[0], labels[1], str(labels[2]))
            found = self._children[labels] = (
                self._shared.requests.labels(*label_values),
                self._shared.latency.labels(*label_values),
            )
        found[0].inc()
        found[1].observe(exchange.end - exchange.start)


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
