"""Routes, mounts and the router: paths to handlers, with HTTP's rules on top of the matcher.

Templates are parsed and compiled once, when a route is added. The router answers each request
with a static-path dict lookup first and the segment-trie matcher second; it alone decides 404,
405 (with ``Allow``), the automatic ``OPTIONS`` answer and the trailing-slash 308.

The matcher implementation is chosen here, yarl-style: the compiled twin when it is built and not
disabled by ``COVET_NO_EXTENSIONS``, else ``covet._router_py``.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ._speedups import NO_EXTENSIONS, compiled_modules
from .convertors import CONVERTORS, Convertor
from .types import ASGIApp

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._router_py import PARAM, PATTERN, STATIC, TAIL, Matcher
else:  # pragma: no cover - exercised only when the extension is built
    try:
        from ._speedups._router import PARAM, PATTERN, STATIC, TAIL, Matcher

        compiled_modules.add("router")
    except ImportError:
        from ._router_py import PARAM, PATTERN, STATIC, TAIL, Matcher

if TYPE_CHECKING:
    from .params import EndpointPlan
    from .pipeline import Runner
    from .requests import BodyLimits
    from .scaffold import Scaffold

__all__ = [
    "STANDARD_METHODS",
    "check_methods",
    "Route",
    "Mount",
    "Router",
    "RouteTable",
    "RouteMatch",
    "parse_path",
    "FOUND",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "REDIRECT",
    "MOUNTED",
    "SCOPE_TYPES",
]

FOUND, NOT_FOUND, METHOD_NOT_ALLOWED, REDIRECT, MOUNTED = range(5)

#: The ASGI scope types routes serve; the router keeps one table of routes for each.
SCOPE_TYPES = ("http", "websocket")

# `<int:user_id>` / `<user_id>` (Flask) or `{user_id:int}` / `{user_id}` (brace).
_PARAM_RE = re.compile(
    r"<(?:(?P<fconv>[A-Za-z_][A-Za-z0-9_]*):)?(?P<fname>[A-Za-z_][A-Za-z0-9_]*)>"
    r"|\{(?P<bname>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<bconv>[A-Za-z_][A-Za-z0-9_]*))?\}"
)

#: A parsed template: literal text, or ``(name, converter name or None)``.
Token = typing.Union[str, "tuple[str, str | None]"]


def parse_path(path: str) -> list[Token]:
    """Split a route template into literal text and ``(name, converter)`` parameters.

    Raises ``ValueError`` with a fix-it message for templates covet cannot serve.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"Route paths must start with '/', got {path!r}; write '/{path}' instead.")
    tokens: list[Token] = []
    seen: set[str] = set()
    position = 0
    for match in _PARAM_RE.finditer(path):
        literal = path[position : match.start()]
        _check_literal(path, literal)
        if literal:
            tokens.append(literal)
        name = match.group("fname") or match.group("bname")
        conv = match.group("fconv") or match.group("bconv")
        if name in seen:
            raise ValueError(
                f"Path parameter {name!r} appears twice in {path!r}; give each parameter its own name."
            )
        if conv is not None and conv not in CONVERTORS:
            raise ValueError(
                f"Unknown converter {conv!r} for parameter {name!r} in {path!r}. "
                f"Use one of {sorted(set(CONVERTORS))} or register your own with "
                f"covet.convertors.register_convertor()."
            )
        seen.add(name)
        tokens.append((name, conv))
        position = match.end()
    literal = path[position:]
    _check_literal(path, literal)
    if literal:
        tokens.append(literal)
    return tokens


def _check_literal(path: str, literal: str) -> None:
    for bracket in "<>{}":
        if bracket in literal:
            raise ValueError(
                f"Malformed parameter near {bracket!r} in route path {path!r}: write parameters as "
                "'<name>', '<int:name>', '{name}' or '{name:int}'."
            )


#: The request methods of RFC 9110 §9 and PATCH (RFC 5789); others must be declared on the app.
STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT")
_METHOD_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token


def check_methods(methods: Iterable[str], path: str, custom_methods: Iterable[str] = ()) -> list[str]:
    """``methods`` upper-cased, each one checked: a standard method or one in ``custom_methods``.

    A misspelling (``"POTS"``) would otherwise register silently, show in ``Allow`` and in the
    OpenAPI document; raises ``ValueError`` naming the valid methods and the closest one.
    """
    if isinstance(methods, str):
        raise TypeError(f"methods= takes a list such as [{methods!r}], not a string.")
    known = (*STANDARD_METHODS, *custom_methods)
    checked: list[str] = []
    for method in methods:
        if not isinstance(method, str) or not method:
            raise TypeError(f"methods= for route {path!r} takes method names such as 'GET', got {method!r}.")
        upper = method.upper()
        if upper not in known:
            close = difflib.get_close_matches(upper, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown HTTP method {method!r} for route {path!r}.{hint} Valid methods are "
                f"{', '.join(known)}. To serve a method of your own, declare it on the app: "
                f"Covet(custom_methods=[{upper!r}])."
            )
        checked.append(upper)
    return checked


def check_custom_methods(custom_methods: Iterable[str]) -> tuple[str, ...]:
    """The app's declared extra methods, upper-cased; each must be an RFC 9110 token."""
    if isinstance(custom_methods, str):
        raise TypeError(f"custom_methods= takes a list such as [{custom_methods!r}], not a string.")
    checked: list[str] = []
    for method in custom_methods:
        if not isinstance(method, str) or not _METHOD_TOKEN.fullmatch(method):
            raise ValueError(
                f"custom_methods= takes HTTP method names (letters, digits and !#$%&'*+-.^_`|~), got {method!r}."
            )
        checked.append(method.upper())
    return tuple(checked)


class Route:
    """One handler at one path for a set of methods. Build routes with ``app.route()``."""

    __slots__ = (
        "path",
        "endpoint",
        "methods",
        "name",
        "tokens",
        "convertors",
        "param_names",
        "plan",
        "scaffolds",
        "options",
        "include_in_schema",
        "is_static",
        "scope_type",
        "runner",
        "body_limits",
    )

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Iterable[str],
        name: str,
        scaffolds: Sequence[Scaffold] = (),
        options: dict[str, Any] | None = None,
        scope_type: str = "http",
    ) -> None:
        from .params import build_plan

        if scope_type not in SCOPE_TYPES:
            raise ValueError(f"Routes serve one of the ASGI scope types {SCOPE_TYPES}, got {scope_type!r}.")
        #: The ASGI scope type this route serves ("http" or "websocket"): each has its own table.
        self.scope_type = scope_type
        self.path = path
        self.endpoint = endpoint
        upper = {method.upper() for method in methods}
        if "GET" in upper:
            upper.add("HEAD")
        self.methods = frozenset(upper)
        self.name = name
        self.scaffolds = tuple(scaffolds)
        self.options = dict(options or {})
        self.include_in_schema = bool(self.options.get("include_in_schema", True))
        #: The route's own ``BodyLimits`` when it overrides the app's (set by the app), else None.
        self.body_limits: BodyLimits | None = None
        self.tokens = parse_path(path)
        # A placeholder without a converter matches any one segment; the handler's annotation
        # then validates it like a query value (422 at ["path", name]), as FastAPI does. An explicit
        # converter is a routing constraint: a value it rejects is another route, or 404 (Flask).
        self.convertors: dict[str, Convertor] = {}
        for token in self.tokens:
            if isinstance(token, tuple):
                param, conv = token
                self.convertors[param] = CONVERTORS[conv or "str"]
        self.param_names = tuple(self.convertors)
        self.is_static = not self.convertors
        #: ``await runner(box, route)`` serves one request: made for this route's shape when the
        #: app freezes (see covet.pipeline), since hooks may be added until then.
        self.runner: Runner | None = None
        self.plan: EndpointPlan = build_plan(
            endpoint, path=path, path_convertors=self.convertors, options=self.options
        )

    def segment_specs(self) -> list[tuple[Any, ...]]:
        """This template as matcher segment specs (see ``covet._router_py``)."""
        rebuilt: list[str | tuple[str, str]] = []
        for token in self.tokens:
            if isinstance(token, tuple):
                rebuilt.append((token[0], _convertor_name(self.convertors[token[0]])))
            else:
                rebuilt.append(token)
        return _specs(rebuilt, self.convertors)

    def url_path(self, params: dict[str, Any]) -> str:
        """The path for ``params``; leftovers become the query string, as in Flask."""
        missing = [name for name in self.param_names if name not in params]
        if missing:
            raise ValueError(
                f"url_for({self.name!r}) is missing path parameter(s) {missing}; "
                f"the route is {self.path!r}."
            )
        parts: list[str] = []
        for token in self.tokens:
            if isinstance(token, tuple):
                value = params[token[0]]
                try:
                    parts.append(self.convertors[token[0]].to_string(value))
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"url_for({self.name!r}): {token[0]}={value!r} does not fit the route "
                        f"{self.path!r}: {exc}"
                    ) from None
            else:
                parts.append(token)
        path = "".join(parts)
        extra = {key: value for key, value in params.items() if key not in self.convertors}
        if extra:
            path += "?" + urlencode(extra, doseq=True)
        return path

    def __repr__(self) -> str:
        return f"Route({self.path!r}, methods={sorted(self.methods)}, name={self.name!r})"


def _convertor_name(convertor: Convertor) -> str:
    for name, known in CONVERTORS.items():
        if known is convertor:
            return name
    return type(convertor).__name__


def _specs(tokens: list[str | tuple[str, str]], convertors: dict[str, Convertor]) -> list[tuple[Any, ...]]:
    # Re-split the token stream into "/"-separated segments.
    segments: list[list[str | tuple[str, str]]] = [[]]
    for token in tokens:
        if isinstance(token, tuple):
            segments[-1].append(token)
            continue
        pieces = token.split("/")
        for index, piece in enumerate(pieces):
            if index:
                segments.append([])
            if piece:
                segments[-1].append(piece)
    # A template starts with "/", so the first segment is always the empty text before it.
    segments = segments[1:]
    specs: list[tuple[Any, ...]] = []
    for index, segment in enumerate(segments):
        if any(isinstance(t, tuple) and convertors[t[0]].multi_segment for t in segment):
            rest: list[str | tuple[str, str]] = []
            for later_index, later in enumerate(segments[index:]):
                if later_index:
                    rest.append("/")
                rest.extend(later)
            regex, names = _segment_regex(rest, convertors)
            specs.append((TAIL, _key(rest), regex, names))
            return specs
        if not segment:
            specs.append((STATIC, ""))
        elif len(segment) == 1 and isinstance(segment[0], str):
            specs.append((STATIC, segment[0]))
        elif len(segment) == 1:
            name, conv = typing.cast("tuple[str, str]", segment[0])
            specs.append((PARAM, f"{conv}:{name}", name, convertors[name]))
        else:
            regex, names = _segment_regex(segment, convertors)
            specs.append((PATTERN, _key(segment), regex, names))
    return specs


def _key(tokens: list[str | tuple[str, str]]) -> str:
    return "".join(t if isinstance(t, str) else f"<{t[1]}:{t[0]}>" for t in tokens)


def _segment_regex(
    tokens: list[str | tuple[str, str]], convertors: dict[str, Convertor]
) -> tuple[re.Pattern[str], tuple[tuple[str, Convertor, int], ...]]:
    parts: list[str] = []
    params: list[tuple[str, Convertor]] = []
    for token in tokens:
        if isinstance(token, str):
            parts.append(re.escape(token))
        else:
            convertor = convertors[token[0]]
            # Named groups: a converter regex with groups of its own cannot shift the others.
            parts.append(f"(?P<_p{len(params)}>{convertor.regex})")
            params.append((token[0], convertor))
    regex = re.compile("".join(parts))
    names = tuple((name, convertor, regex.groupindex[f"_p{index}"]) for index, (name, convertor) in enumerate(params))
    return regex, names


class Mount:
    """An ASGI application served under a path prefix (``app.mount``)."""

    __slots__ = ("prefix", "app", "name")

    def __init__(self, prefix: str, app: ASGIApp, name: str | None = None) -> None:
        if not prefix.startswith("/") or prefix == "/" or "<" in prefix or "{" in prefix:
            raise ValueError(
                f"Mount prefixes are static paths like '/static', got {prefix!r}; "
                "to serve an app at the root, use it as the application directly."
            )
        self.prefix = prefix.rstrip("/")
        self.app = app
        self.name = name

    def matches(self, path: str) -> bool:
        prefix = self.prefix
        return path == prefix or (path.startswith(prefix) and path[len(prefix)] == "/")


RouteMatch = tuple[int, Any, Any]


class RouteTable:
    """The routes of one ASGI scope type, and how a path resolves among them.

    A static-path dict first, the segment-trie matcher second; then the router's mounts (shared by
    every table: a mounted app serves whatever scope types it handles) and, for http only, the
    trailing-slash redirect.
    """

    __slots__ = ("_static", "_matcher", "_mounts", "_redirects")

    def __init__(self, mounts: list[Mount], redirects: bool) -> None:
        # Fully static paths: path -> {method: route}; the first route registered for a method wins.
        self._static: dict[str, dict[str, Route]] = {}
        self._matcher = Matcher()
        self._mounts = mounts
        self._redirects = redirects

    def add(self, route: Route) -> None:
        if route.is_static:
            by_method = self._static.setdefault(route.path, {})
            for method in route.methods:
                by_method.setdefault(method, route)
        self._matcher.add(route.segment_specs(), route)

    def resolve(self, method: str, path: str) -> RouteMatch:
        """``(FOUND, route, params)``, ``(METHOD_NOT_ALLOWED, allowed, None)``,
        ``(REDIRECT, new_path, None)``, ``(MOUNTED, mount, None)`` or ``(NOT_FOUND, None, None)``.
        """
        by_method = self._static.get(path)
        if by_method is not None:
            route = by_method.get(method)
            if route is not None:
                return FOUND, route, {}
        allowed: set[str] | None = None  # made only when a path matches without the method
        for values, params in self._matcher.lookup(path):
            for route in values:
                if method in route.methods:
                    return FOUND, route, params
                if allowed is None:
                    allowed = set()
                allowed |= route.methods
        if allowed:
            return METHOD_NOT_ALLOWED, allowed, None
        for mount in self._mounts:
            if mount.matches(path):
                return MOUNTED, mount, None
        if self._redirects and not path.endswith("/") and self._matcher.lookup(path + "/"):
            return REDIRECT, path + "/", None
        return NOT_FOUND, None, None


class Router:
    """All routes and mounts of one application, with a table of routes per ASGI scope type.

    A WebSocket handshake is a GET: WebSocket routes are registered and resolved with that method.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.mounts: list[Mount] = []
        self.names: dict[str, Route] = {}
        self.tables = {scope_type: RouteTable(self.mounts, scope_type == "http") for scope_type in SCOPE_TYPES}
        #: The http table, which the app resolves requests in directly.
        self.http = self.tables["http"]

    def add(self, route: Route) -> None:
        existing = self.names.get(route.name)
        if existing is not None and existing.endpoint is not route.endpoint:
            raise ValueError(
                f"Route name {route.name!r} is already used by {existing.path!r} "
                f"({_describe(existing.endpoint)}); pass name='...' to give "
                f"{_describe(route.endpoint)} a different one."
            )
        self.routes.append(route)
        self.names.setdefault(route.name, route)
        self.tables[route.scope_type].add(route)

    def mount(self, mount: Mount) -> None:
        self.mounts.append(mount)
        # Longest prefix first, so "/static/img" wins over "/static" (sorted in place: the
        # tables share this list).
        self.mounts.sort(key=lambda m: len(m.prefix), reverse=True)

    def resolve(self, method: str, path: str, scope_type: str = "http") -> RouteMatch:
        """Resolve ``path`` among the routes of ``scope_type`` (see :meth:`RouteTable.resolve`)."""
        return self.tables[scope_type].resolve(method, path)

    def url_path_for(self, name: str, params: dict[str, Any]) -> str:
        route = self.names.get(name)
        if route is None:
            close = [known for known in self.names if known.split(".")[-1] == name.split(".")[-1]]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise LookupError(
                f"No route named {name!r}.{hint} Routes are named after their function "
                "(blueprint routes 'blueprint.function') unless name='...' is given."
            )
        return route.url_path(params)


def _describe(endpoint: Callable[..., Any]) -> str:
    module = getattr(endpoint, "__module__", "?")
    return f"{module}.{getattr(endpoint, '__qualname__', repr(endpoint))}"
