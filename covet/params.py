"""Parameter markers and endpoint plans: how a handler's arguments are found and validated.

``build_plan`` inspects a handler **once**, when its route is registered, and records for every
parameter where its value comes from (path, query, header, cookie, body, form, a dependency or the
request itself) and how to convert it (a prebuilt msgspec decoder or target type). At request time
``resolve`` only executes that plan, collecting *every* failing parameter into one 422.

The rules, first match wins (see API.md "Handler parameters"):

1. the name is a path parameter;
2. annotated ``Request``, ``WebSocket`` or ``BackgroundTasks``;
3. ``Depends(fn)`` (as the default or inside ``Annotated``);
4. an explicit marker: ``Query()``, ``Header()``, ``Cookie()``, ``Body()``, ``Form()``, ``File()``;
5. a msgspec Struct, dataclass, TypedDict, ``dict``, or ``list``/``dict`` of those: the JSON body;
6. anything else: a query parameter.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ._parsing import plain_bool, plain_int
from ._text import sentence
from .background import BackgroundTasks
from .datastructures import UploadFile
from .requests import HTTPConnection, Request
from .responses import Response, json_encoder, status_has_body

if TYPE_CHECKING:
    from .convertors import Convertor

__all__ = [
    "Param",
    "Path",
    "Query",
    "Header",
    "Cookie",
    "Body",
    "Form",
    "File",
    "Depends",
    "Security",
    "SecurityScopes",
    "EndpointPlan",
    "build_plan",
    "endpoint_annotations",
]

_MISSING: Any = inspect.Parameter.empty


# --- markers ------------------------------------------------------------------------------------


#: FastAPI's constraint keywords, each the ``msgspec.Meta`` keyword of the same meaning.
_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")

#: FastAPI (pydantic) marker keywords covet has no equivalent for, with the covet way to say them.
_UNSUPPORTED = {
    "default_factory": "give a default in the signature (a list, dict or set default is copied per request)",
    "validation_alias": "use alias=",
    "serialization_alias": "use alias=",
    "alias_priority": "use alias=",
    "discriminator": "use a tagged union of msgspec.Structs (msgspec.Struct, tag=True)",
    "strict": "covet converts request text laxly; validate strictly with msgspec.Meta constraints",
    "allow_inf_nan": "bound the value with ge=/le= (or lt=/gt=)",
    "max_digits": "use a pattern= on a str, or check the Decimal in the handler",
    "decimal_places": "use a pattern= on a str, or check the Decimal in the handler",
    "openapi_examples": "use examples=[...]",
    "const": "use typing.Literal[...]",
}


class Param:
    """Base of the source markers. ``default`` may also be given as the parameter's default.

    ``Query(...)`` (an Ellipsis default, FastAPI's spelling of "required") is the same as no default.
    The constraint keywords ``gt``, ``ge``, ``lt``, ``le``, ``multiple_of``, ``min_length``,
    ``max_length`` and ``pattern`` (``regex`` is an old name for it) become a ``msgspec.Meta`` on
    the parameter's type, as do ``title``, ``examples`` and ``json_schema_extra``. A keyword covet
    has no equivalent for raises ``TypeError`` saying what to write instead.
    """

    source = "query"

    def __init__(
        self,
        default: Any = _MISSING,
        *,
        alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: list[Any] | None = None,
        deprecated: bool = False,
        include_in_schema: bool = True,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        example: Any = _MISSING,
        json_schema_extra: dict[str, Any] | None = None,
        **unsupported: Any,
    ) -> None:
        if unsupported:
            name = next(iter(unsupported))
            how = _UNSUPPORTED.get(name)
            known = ", ".join(("alias", "title", "description", "examples", "deprecated", "include_in_schema", *_CONSTRAINTS))
            raise TypeError(
                f"{type(self).__name__}() got the keyword {name}={unsupported[name]!r}, which covet does not "
                + (f"support: {how}." if how else f"know; it takes {known}.")
            )
        if regex is not None:
            if pattern is not None:
                raise TypeError(f"{type(self).__name__}() got both pattern= and regex=; regex is an old name for pattern, keep pattern=.")
            pattern = regex
        if example is not _MISSING:
            examples = [*(examples or ()), example]
        self.default = _MISSING if default is ... else default
        self.alias = alias
        self.title = title
        self.description = description
        self.examples = examples
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        given = {"gt": gt, "ge": ge, "lt": lt, "le": le, "multiple_of": multiple_of, "min_length": min_length, "max_length": max_length, "pattern": pattern}
        #: The constraint keywords given, as msgspec.Meta keywords.
        self.constraints: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
        #: Everything that goes into the parameter's ``msgspec.Meta`` (constraints and schema words).
        self.meta: dict[str, Any] = dict(self.constraints)
        if title is not None:
            self.meta["title"] = title
        if examples:
            self.meta["examples"] = list(examples)
        if json_schema_extra:
            self.meta["extra_json_schema"] = dict(json_schema_extra)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default={self.default!r}, alias={self.alias!r})"


class Query(Param):
    """A query-string parameter: ``limit: Annotated[int, Query(alias="page-size")] = 10``."""

    source = "query"


class Path(Param):
    """Constraints and docs for a path parameter: ``item_id: Annotated[int, Path(ge=1)]``.

    The value always comes from the route template, so a ``Path()`` parameter has no default and
    no alias; its name must be a placeholder of the route.
    """

    source = "path"


class Header(Param):
    """A request header; ``x_token`` reads ``x-token`` unless ``convert_underscores=False``."""

    source = "header"

    def __init__(self, default: Any = _MISSING, *, convert_underscores: bool = True, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(Param):
    """A cookie value: ``session_id: Annotated[str | None, Cookie()] = None``."""

    source = "cookie"


class Body(Param):
    """A JSON body value. ``embed=True`` reads ``{"<name>": value}`` even for a single parameter."""

    source = "body"

    def __init__(self, default: Any = _MISSING, *, embed: bool = False, media_type: str = "application/json", **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.embed = embed
        self.media_type = media_type


class Form(Param):
    """A field of an urlencoded or multipart form body."""

    source = "form"

    def __init__(self, default: Any = _MISSING, *, media_type: str = "application/x-www-form-urlencoded", **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.media_type = media_type


class File(Form):
    """An uploaded file (``UploadFile``, ``bytes``, or ``list`` of either) from a multipart form."""

    source = "file"

    def __init__(self, default: Any = _MISSING, **kwargs: Any) -> None:
        kwargs.setdefault("media_type", "multipart/form-data")
        super().__init__(default, **kwargs)


class Depends:
    """A value computed by another function, which takes parameters by the same rules.

    Example::

        async def get_db():
            db = await connect()
            try:
                yield db
            finally:
                await db.close()

        @app.get("/items")
        async def items(db: Annotated[DB, Depends(get_db)]): ...

    Within one request each dependency runs once; ``use_cache=False`` runs it every time it is used.
    ``scope`` says when a ``yield`` dependency is torn down:

    - ``"request"`` (the default): after the response has been sent, so the response reaches the
      client first; a failure in the teardown is logged, the client has its answer already.
    - ``"function"``: as soon as the handler returns (or raises), before the response is sent, so
      a failure there (a database commit) becomes the response: a 500, or what an error handler
      makes of it. The same name and meaning as FastAPI's.

    Without ``scope=``, a dependency's ``__covet_dependency_scope__`` attribute gives the default
    (``covet.db``'s ``db.session`` says ``"function"``), else ``"request"``.
    - ``"app"``: the value is made once for the whole app, at startup, and torn down at shutdown
      (a connection pool, an HTTP client); such a dependency may only depend on other app-scoped
      ones, since no request exists when it is made.

    Teardown runs on every way out of a request: success, an exception in the handler or a hook,
    a client that disconnects, and a cancelled task (then shielded, so it can still await).
    """

    def __init__(
        self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True, scope: str | None = None
    ) -> None:
        if scope is None:
            # A dependency may declare the scope it needs by default (covet.db's session: "function").
            scope = getattr(dependency, "__covet_dependency_scope__", "request")
        if scope not in ("request", "function", "app"):
            raise ValueError(f"Depends(scope=...) is 'request', 'function' or 'app', got {scope!r}.")
        self.dependency = dependency
        self.use_cache = use_cache
        self.scope = scope

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", repr(self.dependency))
        extra = ("" if self.use_cache else ", use_cache=False") + ("" if self.scope == "request" else f", scope={self.scope!r}")
        return f"Depends({name}{extra})"


class Security(Depends):
    """A dependency that also demands OAuth2 scopes: ``Security(get_user, scopes=["items:read"])``.

    The scopes add up along the chain of dependencies: a dependency that takes a
    :class:`SecurityScopes` parameter receives every scope demanded by the ``Security`` markers
    above it (and its own), decided when the route is registered. Security schemes from
    ``covet.security`` used through it are documented in OpenAPI with those scopes.

    A dependency whose result depends on scopes is run again for each use within one request
    (``use_cache`` is forced off for it), so a check demanding more scopes can never be skipped
    because a check demanding fewer already ran.
    """

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        scopes: list[str] | tuple[str, ...] | None = None,
        use_cache: bool = True,
        scope: str = "request",
    ) -> None:
        super().__init__(dependency, use_cache=use_cache, scope=scope)
        scopes = list(scopes or ())
        for item in scopes:
            if not isinstance(item, str) or not item or " " in item:
                raise ValueError(
                    f"Security(scopes=...) takes non-empty scope names without spaces (RFC 6749 §3.3), got {item!r}."
                )
        self.scopes: tuple[str, ...] = tuple(scopes)

    def __repr__(self) -> str:
        return super().__repr__()[:-1].replace("Depends(", "Security(", 1) + f", scopes={list(self.scopes)!r})"


class SecurityScopes:
    """The scopes demanded of a dependency by the ``Security(..., scopes=[...])`` markers above it.

    Declare a parameter of this type in a dependency to receive it; ``scopes`` is the list,
    ``scope_str`` the same joined by spaces (the form of the ``scope`` claim and of
    ``WWW-Authenticate``'s ``scope`` parameter, RFC 6750 §3).
    """

    __slots__ = ("scopes", "scope_str")

    def __init__(self, scopes: list[str] | tuple[str, ...] | None = None) -> None:
        self.scopes: list[str] = list(scopes or ())
        self.scope_str = " ".join(self.scopes)

    def __repr__(self) -> str:
        return f"SecurityScopes({self.scopes!r})"


def _scopes_plan(scopes: tuple[str, ...]) -> DependencyPlan:
    """A dependency plan that hands over the scopes fixed at registration (nothing read per request)."""
    value = SecurityScopes(scopes)

    async def security_scopes() -> SecurityScopes:
        return value

    plan = DependencyPlan(security_scopes, use_cache=False)
    plan.only_dependencies = True
    plan.needs_request = False
    return plan


# --- type inspection ----------------------------------------------------------------------------


def endpoint_annotations(endpoint: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations (``Annotated`` kept), with a fix-it message for unresolvable ones."""
    target: Any = endpoint
    if isinstance(target, functools.partial):
        target = target.func
    if inspect.isclass(target):
        # A class used as a dependency is called like its __init__.
        target = target.__init__
    elif not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
        target = target.__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise TypeError(
            f"Cannot resolve the annotations of {_describe(endpoint)}: {sentence(exc)} Annotations must name "
            "types importable at module level (define or import them before the handler)."
        ) from None


def _describe(func: Any) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}()"


def _split_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    if typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        return args[0], list(args[1:])
    return annotation, []


def _strip_optional(annotation: Any) -> Any:
    """``X`` for ``X | None`` (``Annotated`` kept on ``X``); anything else unchanged."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The types a value may have: union members, with ``Annotated`` and ``None`` taken off.

    ``Annotated[list[str] | None, Query()]`` and ``Optional[Annotated[list[str], Meta()]]`` both
    give ``[list[str]]``: a list hidden in a union is still a list.
    """
    base = _strip(annotation)
    origin = typing.get_origin(base)
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(base):
            out.extend(_members(arg))
        return out
    return [] if base is type(None) else [base]


def _single(annotation: Any) -> Any:
    """The one type behind ``annotation`` (``Annotated`` and ``| None`` off), or it stripped."""
    members = _members(annotation)
    return members[0] if len(members) == 1 else _strip(annotation)


def _is_model(annotation: Any) -> bool:
    annotation = _single(annotation)
    return isinstance(annotation, type) and (
        issubclass(annotation, msgspec.Struct)
        or dataclasses.is_dataclass(annotation)
        or typing.is_typeddict(annotation)
    )


def is_body_type(annotation: Any) -> bool:
    """Rule 5: models, ``dict``, and ``list``/``dict`` of models are read from the JSON body."""
    annotation = _single(annotation)
    if _is_model(annotation):
        return True
    if annotation is dict or typing.get_origin(annotation) is dict:
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, set, frozenset, tuple):
        return any(_is_model(arg) for arg in typing.get_args(annotation))
    return False


_SEQUENCES = (list, set, frozenset, tuple)


def _is_sequence(base: Any) -> bool:
    return typing.get_origin(base) in _SEQUENCES or base in _SEQUENCES


def _is_list(annotation: Any) -> bool:
    """Whether the parameter collects repeated values: any union member is a sequence."""
    return any(_is_sequence(member) for member in _members(annotation))


def _item_types(annotation: Any) -> list[Any]:
    """The types one collected value may have (the items of a list, or the type itself)."""
    out: list[Any] = []
    for member in _members(annotation):
        if _is_sequence(member):
            args = [arg for arg in typing.get_args(member) if arg is not ...]
            out.extend(_members(args[0]) if args else [Any])
        else:
            out.append(member)
    return out


def _file_item_type(annotation: Any) -> Any:
    items = _item_types(annotation)
    return items[0] if len(items) == 1 else _strip(annotation)


def _is_upload(annotation: Any) -> bool:
    return _file_item_type(annotation) is UploadFile


def _blank_is_absent(annotation: Any) -> bool:
    """Whether an empty form value means "not filled in": for every type but plain ``str``.

    Browsers send every text input of a form, filled in or not; FastAPI settled on treating the
    empty ones as absent, so ``age: int | None = None`` gets None. A ``str`` field keeps ``""``.
    """
    if annotation in (_MISSING, Any):
        return False
    if _accepts_none(annotation) and not _is_list(annotation):
        return True  # ``str | None``: an empty input is None, as in FastAPI
    # For lists, item by item: blank items of a list[int] are dropped, those of a list[str] kept.
    return any(item is not str and item is not Any for item in _item_types(annotation))


def _accepts_none(annotation: Any) -> bool:
    base = _strip(annotation)
    if base is type(None):
        return True
    origin = typing.get_origin(base)
    return (origin is typing.Union or origin is types.UnionType) and any(
        _accepts_none(arg) for arg in typing.get_args(base)
    )


def _fast_converter(annotation: Any) -> Callable[[str], Any] | None:
    # Plain int and bool only: an Annotated constraint needs msgspec's checks.
    base = _strip_optional(annotation)
    return plain_int if base is int else plain_bool if base is bool else None


def _needs_conversion(annotation: Any) -> bool:
    return annotation not in (str, Any, _MISSING)


def _check_type(annotation: Any, where: str) -> None:
    """Fail at registration, not per request, on a type msgspec cannot validate."""
    if annotation in (Any, _MISSING) or _is_upload(annotation):
        return
    try:
        info = msgspec.inspect.type_info(annotation)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{where}: covet cannot validate the annotation {annotation!r} ({exc}). Use a type "
            "msgspec supports (str, int, float, bool, list[...], Enum, datetime, UUID, msgspec.Struct, "
            "dataclass, TypedDict...), or annotate the parameter as Request and read it yourself."
        ) from None
    if isinstance(info, msgspec.inspect.CustomType):
        raise TypeError(
            f"{where}: {annotation!r} is a plain class, which cannot come from a request. If it is a "
            "service (a database, a client), provide it with Annotated[..., Depends(factory)]; if it is "
            "request data, make it a msgspec.Struct or dataclass."
        )


# --- errors ---------------------------------------------------------------------------------------

_AT_RE = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PATH_PART_RE = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def validation_error(exc: msgspec.ValidationError, loc: list[Any]) -> dict[str, Any]:
    """One ``{"loc", "msg", "type"}`` entry from a msgspec error, extending ``loc`` with its path."""
    match = _AT_RE.match(str(exc))
    message = match.group("msg") if match else str(exc)
    full_loc = list(loc)
    if match and match.group("path"):
        for key, index in _PATH_PART_RE.findall(match.group("path")):
            if key:
                full_loc.append(key)
            elif index != "...":
                full_loc.append(int(index))
    if message.startswith("Object missing required field"):
        field = message.rsplit("`", 2)[-2] if message.count("`") >= 2 else None
        if field:
            full_loc.append(field)
        return {"loc": full_loc, "msg": "Field required", "type": "missing"}
    kind = "type_error" if re.match(r"Expected `[^`]*`, got", message) else "value_error"
    return {"loc": full_loc, "msg": message, "type": kind}


def missing_error(loc: list[Any]) -> dict[str, Any]:
    return {"loc": loc, "msg": "Field required", "type": "missing"}


# --- plans ----------------------------------------------------------------------------------------

PATH, REQUEST, BACKGROUND, DEPENDS, QUERY, HEADER, COOKIE, BODY, FORM, FILE, CONNECTION = range(11)
# A field name is a token (RFC 9110 §5.1, §5.6.2): a header named otherwise can never arrive.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_KINDS = frozenset({PATH, QUERY, HEADER, COOKIE, REQUEST, CONNECTION})

#: How the app calls a handler that runs inline, fixed when the plan is finished (cheapest first):
#: ``func()``; ``func(**path_params)``; ``func(**extract(...))`` (no await to find the arguments);
#: ``func(**extract(..., body))`` for request data plus a JSON body read first;
#: ``func(**await resolve(...))``. ``resolve`` handles every plan; the others are shortcuts.
CALL_SIMPLE, CALL_PATH, CALL_EXTRACT, CALL_BODY, CALL_RESOLVE = range(5)
_SOURCE_KINDS = {"query": QUERY, "header": HEADER, "cookie": COOKIE, "body": BODY, "form": FORM, "file": FILE}


class ParamSpec:
    """One handler parameter's source, key and conversion, fixed at registration."""

    __slots__ = (
        "name", "kind", "key", "annotation", "default", "required", "is_list",
        "convert", "marker", "dependency", "is_bool", "fast", "blank_absent",
    )

    def __init__(self, name: str, kind: int, key: str, annotation: Any, default: Any, marker: Any = None) -> None:
        self.name = name
        self.kind = kind
        self.key = key
        self.annotation = annotation
        self.default = default
        self.required = default is _MISSING
        self.is_list = _is_list(annotation)
        self.convert = _needs_conversion(annotation)
        self.is_bool = _item_types(annotation) == [bool]
        #: A form field whose empty value counts as not sent (see _blank_is_absent).
        self.blank_absent = False
        # A shortcut for the commonest conversions (see plain_int): it returns None for what it
        # leaves to msgspec. No shortcut at all (None here) means msgspec does every conversion.
        self.fast = _fast_converter(annotation)
        self.marker = marker
        self.dependency: DependencyPlan | None = None

    def default_value(self) -> Any:
        default = self.default
        # Never hand one mutable default object to every request.
        if isinstance(default, (list, dict, set)):
            return type(default)(default)
        return default


class EndpointPlan:
    """Everything needed to call one handler, decided once."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.is_async = is_async_callable(func)
        self.is_generator = inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)
        self.params: list[ParamSpec] = []
        self.body_params: list[ParamSpec] = []
        self.body_decoder: msgspec.json.Decoder[Any] | None = None
        self.body_embedded = False
        self.body_required = False
        self.has_form = False
        self.has_dependencies = False
        self.has_background = False
        self.needs_exit_stack = False
        self.simple = True  # no parameters at all: call func() directly
        self.only_dependencies = False  # every parameter is a Depends: skip request extraction
        self.return_annotation: Any = _MISSING
        self.response_type: Any = None  # what OpenAPI documents as the JSON response, if known
        self.returns_none = False
        self.encode: Callable[[Any], bytes] | None = None
        self.status_code: int | None = None
        #: The status a dict or Struct return value is sent with, when that status has a body;
        #: None leaves every return value to to_response (204, 304 and 1xx statuses, handlers
        #: annotated as returning a Response).
        self.json_status: int | None = 200
        self.dependencies: list[DependencyPlan] = []  # route-level dependencies=[...]
        # The parameters read straight off the request (path, query, header, cookie, the request
        # itself) and the rest (dependencies, background tasks, form fields, files), apart: the
        # first kind needs no await, so a plan made only of them is resolved without a coroutine.
        self.request_specs: list[ParamSpec] = []
        self.other_specs: list[ParamSpec] = []
        self.call_mode = CALL_RESOLVE
        # Whether extracting the arguments needs a Request object: not when they all come from
        # the path, single query values, single headers and the JSON body, which the app reads
        # off the scope (covet.extraction).
        self.needs_request = True
        #: Scopes demanded by the ``Security`` markers on the way to this plan (a dependency's).
        self.security_scopes: tuple[str, ...] = ()
        #: Whether this plan or one under it takes ``SecurityScopes`` (its value then depends on them).
        self.uses_scopes = False

    def all_params(self) -> list[ParamSpec]:
        """This plan's request parameters plus those of its dependencies (for docs)."""
        out: list[ParamSpec] = []
        seen: set[int] = set()
        for plan in self.iter_plans():
            for spec in plan.params:
                if spec.kind != DEPENDS and id(spec) not in seen:
                    seen.add(id(spec))
                    out.append(spec)
        return out

    def iter_plans(self) -> Iterator[EndpointPlan]:
        """This plan and every dependency plan under it, dependencies before their dependents."""
        for dep in self.dependencies:
            yield from dep.iter_plans()
        for spec in self.params:
            if spec.kind == DEPENDS and spec.dependency is not None:
                yield from spec.dependency.iter_plans()
        yield self


class DependencyPlan(EndpointPlan):
    def __init__(
        self, func: Callable[..., Any], use_cache: bool, app_scoped: bool = False, function_scoped: bool = False
    ) -> None:
        super().__init__(func)
        self.use_cache = use_cache
        self.app_scoped = app_scoped
        #: A ``yield`` dependency torn down when the handler returns, before the response is sent.
        self.function_scoped = function_scoped


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` gives a coroutine: an ``async def``, a partial of one, or an object
    whose ``__call__`` is one."""
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or (
        callable(func) and not inspect.isfunction(func) and inspect.iscoroutinefunction(getattr(func, "__call__", None))
    )


def build_plan(
    func: Callable[..., Any],
    *,
    path: str,
    path_convertors: Mapping[str, Convertor],
    options: Mapping[str, Any] | None = None,
) -> EndpointPlan:
    """Inspect ``func`` once and return its plan; raises with a fix-it message on misuse."""
    options = options or {}
    plan = _build(func, EndpointPlan(func), path, path_convertors, stack=())
    # A path parameter the handler never asks for is fine only if a dependency asks for it.
    wanted = {spec.key for spec in plan.all_params() if spec.kind == PATH}
    for extra in options.get("dependencies") or ():
        if not isinstance(extra, Depends) or extra.dependency is None:
            raise TypeError(f"dependencies=[...] takes Depends(fn) items, got {extra!r} for route {path!r}.")
        dep = dependency_plan(extra, path, path_convertors, stack=(func,))
        plan.dependencies.append(dep)
        plan.simple = False
        plan.only_dependencies = False
        plan.has_dependencies = True
        plan.needs_exit_stack = plan.needs_exit_stack or dep.needs_exit_stack
        wanted |= {spec.key for spec in dep.all_params() if spec.kind == PATH}
    missing = [name for name in path_convertors if name not in wanted]
    if missing:
        raise TypeError(
            f"Route {path!r} has path parameter(s) {missing} that {_describe(func)} does not accept; "
            f"add a parameter named {missing[0]!r} to the handler (or rename the placeholder)."
        )
    plan.status_code = options.get("status_code")
    if plan.status_code is not None and (
        isinstance(plan.status_code, bool) or not isinstance(plan.status_code, int) or not 100 <= plan.status_code <= 599
    ):
        raise TypeError(
            f"status_code for route {path!r} must be an int from 100 to 599, got {plan.status_code!r}; "
            "write status_code=201 (or http.HTTPStatus.CREATED)."
        )
    status = 200 if plan.status_code is None else plan.status_code
    plan.json_status = status if status_has_body(status) else None
    annotation = plan.return_annotation
    if isinstance(annotation, type) and issubclass(annotation, Response):
        plan.json_status = None  # it says it returns a Response: do not try JSON first
    model = options.get("response_model", _MISSING)
    if model is _MISSING:
        model = plan.return_annotation
    if model is type(None):
        model = None
    plan.returns_none = model is None
    if model is not _MISSING and model is not None:
        if is_body_type(model) or _is_model(typing.get_origin(model)):  # the latter: Page[ItemOut]
            _check_type(model, f"The response model of {_describe(func)}")
            plan.encode = _model_encoder(model)
            plan.response_type = model
        elif _json_documentable(model):
            plan.response_type = model
    plan.call_mode = _call_mode(plan, path_convertors)
    return plan


def _call_mode(plan: EndpointPlan, path_convertors: Mapping[str, Convertor]) -> int:
    if plan.simple:
        return CALL_SIMPLE
    if plan.dependencies or plan.other_specs:
        return CALL_RESOLVE
    if plan.body_params:
        return CALL_BODY
    specs = plan.request_specs
    if len(specs) == len(path_convertors) and all(spec.kind == PATH and not spec.convert for spec in specs):
        # The matcher's converted parameters are exactly the keyword arguments.
        return CALL_PATH
    return CALL_EXTRACT


def _json_documentable(annotation: Any) -> bool:
    """Whether a return annotation describes JSON data (so OpenAPI can show its schema)."""
    base = _single(annotation)
    if base in (str, bytes, Any) or (isinstance(base, type) and issubclass(base, Response)):
        return False
    try:
        msgspec.json.schema(annotation)
    except (TypeError, ValueError):
        return False
    return not isinstance(msgspec.inspect.type_info(annotation), msgspec.inspect.CustomType)


_OPAQUE_MODELS = (dict, list, dict[str, Any], list[Any], Any)


def _model_encoder(model: Any) -> Callable[[Any], bytes] | None:
    """How to encode a return value for ``model``; None means "as it is".

    Converting through the model drops fields it does not declare, so internal data never leaks.
    A model that declares no fields (``dict[str, Any]``...) has nothing to drop, and a value that
    already is an instance of the model class converts to itself: both skip the conversion.
    """
    if model in _OPAQUE_MODELS:
        return None
    exact = model if isinstance(model, type) else None
    encode_json = json_encoder.encode
    # A parametrised generic model (Page[ItemOut]): msgspec hands an instance of its class through
    # unchanged, fields unconverted (ORM rows in a Page), so such a value is converted field by field.
    origin = typing.get_origin(model)
    generic = origin if isinstance(origin, type) and (issubclass(origin, msgspec.Struct) or dataclasses.is_dataclass(origin)) else None

    def encode(value: Any) -> bytes:
        if type(value) is exact:
            return encode_json(value)
        if type(value) is generic:
            names = value.__struct_fields__ if isinstance(value, msgspec.Struct) else [f.name for f in dataclasses.fields(value)]
            value = types.SimpleNamespace(**{name: getattr(value, name) for name in names})
        return encode_json(msgspec.convert(value, model, from_attributes=True))

    return encode


def dependency_plan(
    marker: Depends,
    path: str,
    path_convertors: Mapping[str, Convertor],
    stack: tuple[Any, ...],
    scopes: tuple[str, ...] = (),
) -> DependencyPlan:
    """The plan of one ``Depends``; checks cycles and what app-scoped dependencies may take.

    ``scopes`` are those demanded above it; a ``Security`` marker adds its own.
    """
    func = marker.dependency
    assert func is not None
    if func in stack:
        chain = " -> ".join(getattr(f, "__qualname__", repr(f)) for f in (*stack, func))
        raise TypeError(f"Dependency cycle: {chain}. Break the cycle so each dependency is computed once.")
    app_scoped = marker.scope == "app"
    dep = DependencyPlan(func, marker.use_cache, app_scoped, marker.scope == "function")
    if isinstance(marker, Security):
        scopes = (*scopes, *(item for item in marker.scopes if item not in scopes))
    dep.security_scopes = scopes
    # An app-scoped dependency has no request: plan it against no path parameters.
    _build(func, dep, path, {} if app_scoped else path_convertors, stack)
    dep.needs_exit_stack = dep.needs_exit_stack or (dep.is_generator and not app_scoped)
    if dep.uses_scopes:
        dep.use_cache = False  # see Security: each use checks its own scopes
    if app_scoped:
        for spec in dep.params:
            if spec.kind != DEPENDS or spec.dependency is None or not spec.dependency.app_scoped:
                raise TypeError(
                    f"App-scoped dependency {_describe(func)} asks for {spec.name!r}, which comes from a "
                    "request; app-scoped dependencies are made once at startup, so they may only take "
                    "other Depends(..., scope='app') values."
                )
    return dep


def _build(
    func: Callable[..., Any],
    plan: EndpointPlan,
    path: str,
    path_convertors: Mapping[str, Convertor],
    stack: tuple[Any, ...],
) -> EndpointPlan:
    if not callable(func):
        raise TypeError(f"Handlers and dependencies must be callable, got {func!r}.")
    hints = endpoint_annotations(func)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Cannot read the signature of {func!r}: {exc}") from None
    plan.return_annotation = hints.get("return", _MISSING)
    body_markers: list[Body | None] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(
                f"{_describe(func)}: parameter {parameter.name!r} is positional-only; covet passes "
                "arguments by name, so remove the '/' from the signature."
            )
        spec = _param_spec(
            func, parameter, hints.get(parameter.name, _MISSING), path_convertors, path, stack, plan.security_scopes
        )
        if spec.kind == DEPENDS:
            plan.has_dependencies = True
            assert spec.dependency is not None
            plan.uses_scopes = plan.uses_scopes or spec.dependency.uses_scopes
            plan.needs_exit_stack = plan.needs_exit_stack or spec.dependency.needs_exit_stack
        elif spec.kind == BACKGROUND:
            plan.has_background = True
        if spec.kind == BODY:
            plan.body_params.append(spec)
            body_markers.append(spec.marker)
        elif spec.kind in (FORM, FILE):
            plan.has_form = True
        plan.params.append(spec)
        if spec.kind in _REQUEST_KINDS:
            plan.request_specs.append(spec)
        elif spec.kind != BODY:
            plan.other_specs.append(spec)
    plan.simple = not plan.params
    if plan.body_params and plan.has_form:
        raise TypeError(
            f"{_describe(func)} mixes JSON body parameters ({[s.name for s in plan.body_params]}) with "
            "Form()/File() parameters; a request has one body, so use one kind."
        )
    if plan.body_params:
        _plan_body(plan, body_markers)
    plan.only_dependencies = all(spec.kind == DEPENDS for spec in plan.params)
    plan.needs_request = any(spec.kind not in (PATH, QUERY, HEADER) or spec.is_list for spec in plan.request_specs)
    return plan


def _with_marker(annotation: Any, marker: Param, where: str) -> Any:
    """``annotation`` without covet markers in ``Annotated``, with the marker's ``msgspec.Meta``.

    The Meta goes on every non-None member of a union (``Query(le=100)`` on ``int | None`` bounds
    the int), where msgspec can apply it.
    """
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        extras = [extra for extra in extras if not isinstance(extra, (Param, Depends))]
        annotation = _annotated(base, extras) if extras else base
    if isinstance(marker, File) and marker.constraints:
        raise TypeError(
            f"{where}: File() takes no constraints ({sorted(marker.constraints)}); bound upload sizes "
            "with form_limits=FormLimits(max_file_size=...) and check anything else in the handler."
        )
    if not marker.meta or annotation is _MISSING:
        return annotation
    try:
        meta = msgspec.Meta(**marker.meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: {marker!r} has invalid constraints {marker.meta}: {sentence(exc)}") from None
    constrained = _add_meta(annotation, meta)
    try:
        msgspec.inspect.type_info(constrained)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{where}: the constraints {sorted(marker.constraints)} of {type(marker).__name__}() do not fit "
            f"{annotation!r} ({exc}). gt/ge/lt/le/multiple_of fit numbers, min_length/max_length fit str, "
            "bytes and collections, pattern fits str; to bound the items of a list write "
            "list[Annotated[int, msgspec.Meta(le=100)]]."
        ) from None
    return constrained


def _annotated(base: Any, extras: list[Any]) -> Any:
    """``Annotated[base, *extras]``, spelled for Python 3.10."""
    return typing.Annotated.__class_getitem__((base, *extras))  # type: ignore[attr-defined]


def _add_meta(annotation: Any, meta: msgspec.Meta) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        return _annotated(_add_meta(base, meta), extras)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = tuple(arg if arg is type(None) else _add_meta(arg, meta) for arg in typing.get_args(annotation))
        return typing.Union[args]  # noqa: UP007 - built from a tuple
    if annotation is Any:
        return annotation
    return typing.Annotated[annotation, meta]


def _param_spec(
    func: Callable[..., Any],
    parameter: inspect.Parameter,
    annotation: Any,
    path_convertors: Mapping[str, Convertor],
    path: str,
    stack: tuple[Any, ...],
    scopes: tuple[str, ...] = (),
) -> ParamSpec:
    name = parameter.name
    base, metadata = _split_annotated(annotation)
    default = parameter.default
    markers = [m for m in metadata if isinstance(m, (Param, Depends))]
    if isinstance(default, (Param, Depends)):
        markers.append(default)
        default = default.default if isinstance(default, Param) else _MISSING
    if len(markers) > 1:
        raise TypeError(f"{_describe(func)}: parameter {name!r} has several markers {markers}; keep one.")
    marker = markers[0] if markers else None
    if isinstance(marker, Param) and marker.default is not _MISSING:
        if default is not _MISSING and parameter.default is not marker:
            raise TypeError(
                f"{_describe(func)}: parameter {name!r} has a default both in {marker!r} and in the "
                "signature; give it in one place."
            )
        default = marker.default
    where = f"Parameter {name!r} of {_describe(func)}"
    if default is ...:
        default = _MISSING  # FastAPI's "required"
    if isinstance(marker, Param):
        annotation = _with_marker(annotation, marker, where)
        base, metadata = _split_annotated(annotation)

    # 1. path parameters
    if isinstance(marker, Path) and name not in path_convertors:
        raise TypeError(
            f"{where} is marked Path() but the route {path!r} has no placeholder {{{name}}}; add it to "
            "the path, or use Query() for a query parameter."
        )
    if name in path_convertors and (marker is None or isinstance(marker, Path)):
        if default is not _MISSING or (marker is not None and marker.alias is not None):
            raise TypeError(
                f"{where} is a path parameter, which always comes from the URL under its own name: "
                "remove its default and alias (a route without the segment is another route)."
            )
        spec = ParamSpec(name, PATH, name, annotation, _MISSING, marker)
        convertor = path_convertors[name]
        # Convert when the annotation says more than the converter produced: another type, or
        # msgspec.Meta constraints inside Annotated.
        spec.convert = annotation is not _MISSING and base is not Any and (
            base is not convertor.python_type or bool(metadata)
        )
        if spec.convert:
            _check_type(annotation, where)
        return spec
    # 2. framework objects
    if isinstance(base, type):
        if issubclass(base, Request):
            return ParamSpec(name, REQUEST, name, base, _MISSING)
        if issubclass(base, HTTPConnection):
            return ParamSpec(name, CONNECTION, name, base, _MISSING)
        if issubclass(base, BackgroundTasks):
            return ParamSpec(name, BACKGROUND, name, base, _MISSING)
        if issubclass(base, SecurityScopes):
            spec = ParamSpec(name, DEPENDS, name, base, _MISSING)
            spec.dependency = _scopes_plan(scopes)
            spec.dependency.uses_scopes = True
            return spec
    # 3. dependencies
    if isinstance(marker, Depends):
        if marker.dependency is None:
            if not callable(base) or base is _MISSING:
                raise TypeError(f"{where}: Depends() without a function needs a callable annotation.")
            marker = (
                Security(base, scopes=marker.scopes, use_cache=marker.use_cache)
                if isinstance(marker, Security)
                else Depends(base, use_cache=marker.use_cache)
            )
        spec = ParamSpec(name, DEPENDS, name, annotation, _MISSING, marker)
        spec.dependency = dependency_plan(marker, path, path_convertors, (*stack, func), scopes)
        return spec
    # 4. explicit markers
    if isinstance(marker, Param):
        kind = _SOURCE_KINDS[marker.source]
        key = marker.alias or name
        if kind == HEADER and marker.alias is None and getattr(marker, "convert_underscores", True):
            key = name.replace("_", "-")
        if kind == HEADER:
            key = key.lower()
            if not _FIELD_NAME.fullmatch(key):
                raise TypeError(
                    f"{where}: {key!r} is not an HTTP header name (letters, digits and "
                    "!#$%&'*+-.^_`|~ only, RFC 9110 §5.1); give Header(alias=...) the name the header has."
                )
        spec = ParamSpec(name, kind, key, annotation, default, marker)
        if kind in (FORM, FILE) and _is_upload(annotation):
            spec.kind = FILE
        if kind == COOKIE and spec.is_list:
            raise TypeError(
                f"{where}: a cookie holds one value, so it cannot be a list ({annotation!r}); read it "
                "as str and split it yourself, or send the values as a repeated query parameter."
            )
        if spec.kind == FORM:
            spec.blank_absent = _blank_is_absent(annotation)
        if spec.kind == FILE:
            # For files, "convert" means "hand over the content as bytes" (annotation bytes or list[bytes]).
            spec.convert = _file_item_type(annotation) is bytes
        elif spec.convert:
            _check_type(annotation, where)
        return spec
    if _is_upload(annotation):
        spec = ParamSpec(name, FILE, name, annotation, default, File())
        spec.convert = False
        return spec
    # 5. bodies
    if is_body_type(annotation):
        _check_type(annotation, where)
        return ParamSpec(name, BODY, name, annotation, default, None)
    # 6. query
    if annotation is not _MISSING:
        _check_type(annotation, where)
    return ParamSpec(name, QUERY, name, annotation, default, None)


def _plan_body(plan: EndpointPlan, markers: list[Body | None]) -> None:
    specs = plan.body_params
    embed = len(specs) > 1 or any(m is not None and m.embed for m in markers)
    plan.body_embedded = embed
    plan.body_required = any(spec.required for spec in specs)
    if embed:
        fields: list[Any] = []
        for spec in specs:
            key = spec.marker.alias if spec.marker is not None and spec.marker.alias else spec.name
            spec.key = key
            typ = spec.annotation if spec.annotation is not _MISSING else Any
            if spec.required:
                fields.append((key, typ))
            else:
                fields.append((key, typ, msgspec.field(default_factory=functools.partial(spec.default_value))))
        model = msgspec.defstruct(f"{getattr(plan.func, '__name__', 'handler')}_body", fields)
        plan.body_decoder = msgspec.json.Decoder(model, strict=False)
    else:
        typ = specs[0].annotation if specs[0].annotation is not _MISSING else Any
        # Lax like FastAPI/pydantic: 4.0 fits an int field and "4" a number; 4.5 still does not.
        plan.body_decoder = msgspec.json.Decoder(typ, strict=False)
