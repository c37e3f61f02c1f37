"""OpenAPI 3.1 document generation and the interactive docs pages.

The document is derived from the endpoint plans made at registration (parameters, bodies,
response models), with JSON Schemas from ``msgspec.json.schema_components``. It is built on
first use and cached on the app.
"""

from __future__ import annotations

import html
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from ._docs_assets import (
    INSTALL_HINT,
    REDOC_CDN,
    REDOC_FILES,
    SWAGGER_UI_CDN,
    SWAGGER_UI_FILES,
    local_bundles,
)
from .exceptions import HTTPException
from .params import BODY, COOKIE, FILE, FORM, HEADER, PATH, QUERY, EndpointPlan, ParamSpec, _single
from .requests import Request
from .responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from .app import Covet
    from .routing import Route

__all__ = ["build_openapi", "install_docs_routes", "swagger_ui_html", "redoc_html", "servers_for"]

_IN = {PATH: "path", QUERY: "query", HEADER: "header", COOKIE: "cookie"}
_REF = "#/components/schemas/{name}"
#: The methods a Path Item Object has fields for (OpenAPI 3.1 §4.8.9).
_OPERATION_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})

_MISSING: Any = inspect.Parameter.empty

#: The bodies covet itself sends for errors, named so generated clients get one type for each.
_ERROR_COMPONENTS: dict[str, Any] = {
    "HTTPError": {
        "type": "object",
        "title": "HTTPError",
        "description": "The body of an error response: what went wrong, in words.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "title": "ValidationError",
        "description": "One invalid request value: where it is, what is wrong, and what kind of problem.",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "type": "object",
        "title": "HTTPValidationError",
        "description": "The body of a 422: every invalid request value.",
        "properties": {"detail": {"type": "array", "items": {"$ref": _REF.format(name="ValidationError")}}},
        "required": ["detail"],
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF.format(name="HTTPError")}}}}


#: What RFC 9110 §5.6.1 lists look like in a header: one string, elements separated by commas.
_HEADER_LIST_NOTE = "A comma-separated list; repeated header lines are joined (RFC 9110 §5.3)."
_STRING_PATH: dict[str, dict[str, Any]] = {"str": {"minLength": 1, "pattern": "^[^/]+$"}, "path": {"minLength": 1}}


class _Schemas:
    """Collects types, then renders all their schemas in one msgspec call (shared components)."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.slots: list[tuple[dict[str, Any], str, dict[str, Any]]] = []

    def ref(self, target: dict[str, Any], key: str, annotation: Any, extra: dict[str, Any] | None = None) -> None:
        """Put ``annotation``'s schema at ``target[key]`` when rendered, with ``extra`` keys added."""
        self.types.append(annotation)
        self.slots.append((target, key, extra or {}))

    def render(self) -> dict[str, Any]:
        if not self.types:
            return {}
        schemas, components = msgspec.json.schema_components(self.types, ref_template=_REF)
        infos = msgspec.inspect.multi_type_info(self.types)
        done: set[str] = set()
        for info, schema in zip(infos, schemas):
            _add_formats(info, schema, components, done)
        for (target, key, extra), schema in zip(self.slots, schemas):
            target[key] = {**schema, **extra}
        _add_enum_types(components)
        for target, key, _extra in self.slots:
            _add_enum_types(target[key])
        return components


def _add_formats(t: Any, schema: Any, components: dict[str, Any], done: set[str]) -> None:
    """Add the ``format`` msgspec leaves out: ``date-time`` on datetimes that accept an offset.

    msgspec writes ``{"type": "string"}`` for a ``datetime`` that may be naive, since RFC 3339
    date-times carry an offset; covet accepts both, so clients sending RFC 3339 are always right.
    """
    mi = msgspec.inspect
    while isinstance(t, mi.Metadata):
        t = t.type
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in done or name not in components:
            return
        done.add(name)
        schema = components[name]
    if isinstance(t, mi.DateTimeType):
        if t.tz is not False and schema.get("type") == "string":
            schema.setdefault("format", "date-time")
    elif isinstance(t, (mi.StructType, mi.DataclassType, mi.TypedDictType)):
        properties = schema.get("properties") or {}
        for field in t.fields:
            if field.encode_name in properties:
                _add_formats(field.type, properties[field.encode_name], components, done)
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        _add_formats(t.item_type, schema.get("items"), components, done)
    elif isinstance(t, mi.TupleType):
        for item_type, item in zip(t.item_types, schema.get("prefixItems") or ()):
            _add_formats(item_type, item, components, done)
    elif isinstance(t, mi.DictType):
        _add_formats(t.value_type, schema.get("additionalProperties"), components, done)
    elif isinstance(t, mi.UnionType):
        options = schema.get("anyOf") or schema.get("oneOf") or []
        has_str = any(isinstance(m, mi.StrType) for m in t.types)
        for member in t.types:
            core = member
            while isinstance(core, mi.Metadata):
                core = core.type
            for option in options:
                if _same_shape(core, option, components, has_str):
                    _add_formats(member, option, components, done)


def _same_shape(t: Any, option: Any, components: dict[str, Any], has_str: bool) -> bool:
    """Whether ``option`` (one schema of an ``anyOf``) is the one msgspec wrote for member ``t``."""
    mi = msgspec.inspect
    if not isinstance(option, dict):
        return False
    if isinstance(t, mi.DateTimeType):
        return not has_str and option.get("type") == "string" and "format" not in option and "$ref" not in option
    ref = option.get("$ref")
    cls = getattr(t, "cls", None)
    if cls is not None and isinstance(ref, str):
        title = components.get(ref.rsplit("/", 1)[-1], {}).get("title")
        return bool(title == getattr(cls, "__name__", None))
    if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType, mi.TupleType)):
        return option.get("type") == "array"
    if isinstance(t, mi.DictType):
        return option.get("type") == "object"
    return False


def _add_enum_types(node: Any) -> None:
    """Give every ``enum`` schema its ``type`` (msgspec leaves it out), for clients that need it."""
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and values and "type" not in node:
            kinds = {_json_type(value) for value in values}
            if len(kinds) == 1 and None not in kinds:
                node["type"] = kinds.pop()
        for value in node.values():
            _add_enum_types(value)
    elif isinstance(node, list):
        for value in node:
            _add_enum_types(value)


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _openapi_path(route: Route) -> str:
    return "".join(token if isinstance(token, str) else "{" + token[0] + "}" for token in route.tokens)


def _convertor_name(route: Route, name: str) -> str | None:
    for token in route.tokens:
        if isinstance(token, tuple) and token[0] == name:
            return token[1] or "str"
    return None


def _param_type(route: Route, spec: ParamSpec) -> Any:
    annotation = spec.annotation
    if spec.kind == PATH:
        convertor = route.convertors[spec.key]
        if annotation is _MISSING or annotation is Any:
            annotation = convertor.python_type
        if annotation in (int, float) and convertor.python_type is annotation:
            # The int and float converters only match unsigned numbers.
            return Annotated[annotation, msgspec.Meta(ge=0)]
        return annotation
    if annotation is _MISSING or annotation is Any:
        return str
    return annotation


def _path_extra(route: Route, spec: ParamSpec) -> dict[str, Any]:
    """What a plain ``str`` or ``path`` placeholder really accepts (anything else is a 404)."""
    if _single(spec.annotation) not in (str, Any, _MISSING):
        return {}
    return dict(_STRING_PATH.get(_convertor_name(route, spec.key) or "", {}))


def _default_of(spec: ParamSpec) -> dict[str, Any]:
    """``{"default": ...}`` for a parameter with a JSON-encodable default, else ``{}``."""
    if spec.required or spec.kind == PATH:
        return {}
    try:
        return {"default": msgspec.to_builtins(spec.default)}
    except (TypeError, ValueError):
        return {}


def _response_content(plan: EndpointPlan, schemas: _Schemas) -> dict[str, Any] | None:
    """The content of the success response: JSON for data, text/html for ``str`` and so on."""
    if plan.response_type is not None:
        body: dict[str, Any] = {}
        schemas.ref(body, "schema", plan.response_type)
        return {"application/json": body}
    annotation = plan.return_annotation
    base = _single(annotation) if annotation is not _MISSING else _MISSING
    if base is str or (isinstance(base, type) and issubclass(base, HTMLResponse)):
        return {"text/html": {"schema": {"type": "string"}}}
    if isinstance(base, type) and issubclass(base, PlainTextResponse):
        return {"text/plain": {"schema": {"type": "string"}}}
    if base is bytes:
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    if isinstance(base, type) and issubclass(base, JSONResponse):
        return {"application/json": {"schema": {}}}
    return None


def _security(plan: EndpointPlan, schemes: dict[str, dict[str, Any]]) -> tuple[list[dict[str, list[str]]], bool]:
    """The operation's ``security`` (OpenAPI 3.1 §4.8.30) and whether scopes are demanded.

    Every scheme dependency of the route (``covet.security``) goes into one requirement object
    (all of them are checked); its scopes are those its ``Security`` markers demand. When every
    scheme is optional (``auto_error=False``), ``{}`` (no credentials) is an alternative. Each
    scheme is added to ``schemes`` (``components.securitySchemes``) under its ``scheme_name``.
    """
    from .security.base import SecurityBase

    requirement: dict[str, list[str]] = {}
    optional = True
    for dep in plan.iter_plans():
        scheme = dep.func
        if not isinstance(scheme, SecurityBase):
            continue
        known = schemes.setdefault(scheme.scheme_name, scheme.model)
        if known != scheme.model:
            raise ValueError(
                f"Two different security schemes are both named {scheme.scheme_name!r} in OpenAPI; give one "
                "of them another scheme_name=."
            )
        scopes = requirement.setdefault(scheme.scheme_name, [])
        if scheme.model.get("type") in ("oauth2", "openIdConnect"):
            scopes.extend(item for item in dep.security_scopes if item not in scopes)
        optional = optional and not scheme.auto_error
    if not requirement:
        return [], False
    demanded = any(requirement.values())
    return ([requirement, {}] if optional else [requirement]), demanded


def _rate_limited(plan: EndpointPlan) -> bool:
    """Whether a ``rate_limit=`` option (a ``covet.ratelimit.RateLimit`` dependency) guards the route."""
    from .ratelimit import RateLimit

    return any(isinstance(dep.func, RateLimit) for dep in plan.iter_plans())


def _operation(
    route: Route,
    method: str,
    schemas: _Schemas,
    error_content: dict[str, Any],
    security_schemes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    plan: EndpointPlan = route.plan
    options = route.options
    func = route.endpoint
    doc = inspect.getdoc(func) or ""
    summary = options.get("summary") or getattr(func, "__name__", route.name).replace("_", " ").title()
    operation_id = options.get("operation_id") or f"{route.name}_{method.lower()}"
    operation: dict[str, Any] = {"summary": summary, "operationId": operation_id}
    description = options.get("description") or doc
    if description:
        operation["description"] = description
    if options.get("tags"):
        operation["tags"] = list(options["tags"])
    if options.get("deprecated"):
        operation["deprecated"] = True
    parameters: list[dict[str, Any]] = []
    form_fields: list[ParamSpec] = []
    validated = False
    for spec in plan.all_params():
        if spec.kind in _IN:
            marker = spec.marker
            if marker is not None and not getattr(marker, "include_in_schema", True):
                continue
            entry: dict[str, Any] = {"name": spec.key, "in": _IN[spec.kind], "required": spec.kind == PATH or spec.required}
            notes = [marker.description] if marker is not None and getattr(marker, "description", None) else []
            if marker is not None and getattr(marker, "deprecated", False):
                entry["deprecated"] = True
            extra = _default_of(spec)
            if spec.kind == PATH:
                extra.update(_path_extra(route, spec))
            if spec.kind == HEADER and spec.is_list:
                # A header is one string on the wire; covet reads a list header as RFC 9110 writes
                # lists (comma-separated, over any number of lines), and says so here. Generated
                # clients take a string (openapi-python-client refuses array headers).
                notes.append(_HEADER_LIST_NOTE)
                if extra.get("default"):
                    extra["default"] = ", ".join(str(item) for item in extra["default"])
                else:
                    extra.pop("default", None)
                entry["schema"] = {"type": "string", **extra}
            else:
                schemas.ref(entry, "schema", _param_type(route, spec), extra)
            if notes:
                entry["description"] = " ".join(notes)
            parameters.append(entry)
            validated = validated or spec.kind != PATH or spec.convert
        elif spec.kind in (FORM, FILE):
            form_fields.append(spec)
            validated = True
        elif spec.kind == BODY:
            validated = True
    if parameters:
        operation["parameters"] = parameters
    has_body = False
    if plan.body_params and plan.body_decoder is not None:
        has_body = True
        content: dict[str, Any] = {}
        schemas.ref(content, "schema", plan.body_decoder.type)
        operation["requestBody"] = {"required": plan.body_required, "content": {"application/json": content}}
    elif form_fields:
        has_body = True
        properties: dict[str, Any] = {}
        required = []
        multipart = False
        for spec in form_fields:
            if spec.kind == FILE:
                multipart = True
                file_schema = {"type": "string", "format": "binary"}
                properties[spec.key] = {"type": "array", "items": file_schema} if spec.is_list else file_schema
            else:
                schemas.ref(properties, spec.key, _param_type(route, spec), _default_of(spec))
            if spec.required:
                required.append(spec.key)
        body_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            body_schema["required"] = required
        media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        operation["requestBody"] = {"required": bool(required), "content": {media: {"schema": body_schema}}}
    status = str(plan.status_code or (204 if plan.returns_none else 200))
    response: dict[str, Any] = {"description": "Successful Response"}
    success_content = _response_content(plan, schemas) if status not in ("204", "304") else None
    if success_content is not None:
        response["content"] = success_content
    responses: dict[str, Any] = {status: response}
    if has_body:
        responses["400"] = _error("Malformed request body")
    if route.convertors:
        # A value its converter rejects (an empty or "/"-holding str, a non-number for int...)
        # means "no such route".
        responses["404"] = _error("Not Found")
    if has_body:
        responses["413"] = _error("Request body too large")
        responses["415"] = _error("Unsupported body media type")
    if validated:
        responses["422"] = {"description": "Validation Error", "content": {"application/json": error_content}}
    security, scoped = _security(plan, {} if security_schemes is None else security_schemes)
    if security:
        operation["security"] = security
        responses["401"] = _error("Not authenticated")
        if scoped:
            responses["403"] = _error("Not enough permissions (a scope is missing)")
    if _rate_limited(plan):
        responses["429"] = _error("Too many requests (see the Retry-After and RateLimit headers)")
    for code, extra_response in (options.get("responses") or {}).items():
        responses[str(code)] = extra_response
    operation["responses"] = responses
    return operation


def servers_for(app: Covet, root_path: str) -> list[dict[str, Any]]:
    """The ``servers`` of the document served under ``root_path`` (the ASGI scope's).

    ``Covet(servers=[...])`` comes first as given; behind a proxy prefix (``root_path`` set, and
    ``root_path_in_servers`` left on) ``{"url": root_path}`` is put in front, so "Try it out"
    in the docs pages calls the right URL.
    """
    servers = [dict(server) for server in app.servers or ()]
    root = root_path.rstrip("/")
    if root and app.root_path_in_servers and all(server.get("url") != root for server in servers):
        servers.insert(0, {"url": root})
    return servers


def build_openapi(app: Covet) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes (``servers`` as configured, no root path)."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    security_schemes: dict[str, dict[str, Any]] = {}
    # Every 422 shares one content object: the default error schema, or the custom handler's.
    error_content: dict[str, Any] = {}
    custom_error = app.validation_error_schema
    if custom_error is None:
        error_content["schema"] = {"$ref": _REF.format(name="HTTPValidationError")}
    else:
        schemas.ref(error_content, "schema", custom_error)
    for route in app.router.routes:
        if not route.include_in_schema:
            continue
        item = paths.setdefault(_openapi_path(route), {})
        for method in sorted(route.methods - {"HEAD"} if route.methods != {"HEAD"} else route.methods):
            if method in _OPERATION_METHODS:  # OpenAPI has no field for CONNECT or custom methods
                item.setdefault(method.lower(), _operation(route, method, schemas, error_content, security_schemes))
    components = schemas.render()
    for name, schema in _ERROR_COMPONENTS.items():
        if custom_error is None or name == "HTTPError":
            components.setdefault(name, schema)
    info: dict[str, Any] = {"title": app.title, "version": app.version}
    if app.description:
        info["description"] = app.description
    document: dict[str, Any] = {"openapi": "3.1.0", "info": info}
    servers = servers_for(app, "")
    if servers:
        document["servers"] = servers
    document["paths"] = paths
    document["components"] = {"schemas": dict(sorted(components.items()))}
    if security_schemes:
        document["components"]["securitySchemes"] = dict(sorted(security_schemes.items()))
    return document


_PAGE_STYLE = (
    "<style>#covet-docs-error{display:none;max-width:46em;margin:3em auto;padding:1em 1.5em;"
    "font:16px/1.5 system-ui,sans-serif;border:2px solid #b00;border-radius:6px;background:#fff5f5}"
    "#covet-docs-error code{background:#eee;padding:0 .2em}</style>"
)


def _failure_notice(tool: str, source: str, local: bool, openapi_url: str) -> str:
    """The message a docs page shows when its script did not load (hidden until then)."""
    where = html.escape(source)
    if local:
        why = (
            f"covet serves the {tool} files from the installed <code>openapi-ui-bundles</code> package at "
            f"<code>{where}</code>, and they did not load. Check that this server can read that package, "
            "or reinstall it with <code>pip install --force-reinstall openapi-ui-bundles</code>."
        )
    else:
        why = (
            f"This page loads {tool} from <code>{where}</code>, which this browser could not reach (no "
            "internet access, a firewall or a content blocker). Install the bundled assets on the server "
            f"with <code>{html.escape(INSTALL_HINT)}</code> and restart it: covet then serves them itself, "
            "with no internet needed. Or give the app your own copy with "
            "<code>Covet(swagger_ui_url=..., redoc_js_url=...)</code>."
        )
    document = html.escape(openapi_url)
    return (
        f'<div id="covet-docs-error" role="alert"><h1>{tool} could not load</h1><p>{why}</p>'
        f'<p>The OpenAPI document itself is at <a href="{document}">{document}</a>.</p></div>'
        f"<noscript><p>{tool} needs JavaScript; the OpenAPI document is at "
        f'<a href="{document}">{document}</a>.</p></noscript>'
    )


_SHOW_NOTICE = 'document.getElementById("covet-docs-error").style.display = "block";'


def swagger_ui_html(title: str, openapi_url: str, assets: str, *, local: bool = False) -> str:
    """Swagger UI's page: its files from ``assets`` (a folder URL); a notice if they do not load."""
    title = html.escape(title)
    base = html.escape(assets)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">{_PAGE_STYLE}</head>
<body>{_failure_notice("Swagger UI", assets + "/swagger-ui-bundle.js", local, openapi_url)}<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script>
if (typeof SwaggerUIBundle === "undefined") {{ {_SHOW_NOTICE} }}
else {{ SwaggerUIBundle({{url: {msgspec.json.encode(openapi_url).decode()}, dom_id: "#swagger-ui"}}); }}
</script>
</body></html>"""


def redoc_html(title: str, openapi_url: str, script: str, *, local: bool = False) -> str:
    """ReDoc's page: its bundle from ``script``; a notice if it does not load."""
    title = html.escape(title)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title} - ReDoc</title>{_PAGE_STYLE}</head>
<body>{_failure_notice("ReDoc", script, local, openapi_url)}<redoc spec-url="{html.escape(openapi_url)}"></redoc>
<script src="{html.escape(script)}"></script>
<script>if (typeof Redoc === "undefined") {{ {_SHOW_NOTICE} }}</script></body></html>"""


def _asset_route(app: Covet, page_url: str, folder: Path, files: tuple[str, ...], name: str) -> str:
    """Serve ``files`` of ``folder`` at ``{page_url}/assets/<file>``; return that folder's URL."""
    allowed = {file: folder / file for file in files}
    base = page_url.rstrip("/") + "/assets"

    async def asset(file: str) -> FileResponse:
        path = allowed.get(file)
        if path is None:  # only the listed files: the route is no window onto the package
            raise HTTPException(404)
        return FileResponse(path, headers={"cache-control": "public, max-age=86400"})

    app.add_route(base + "/<file>", asset, name=name, include_in_schema=False)
    return base


def install_docs_routes(app: Covet) -> None:
    """Add the ``openapi_url``, ``docs_url`` and ``redoc_url`` routes (excluded from the schema).

    The pages' scripts come from ``app.swagger_ui_url``/``app.redoc_js_url`` when set; else from
    the ``openapi-ui-bundles`` package when installed (served by covet, no internet needed); else
    from a pinned CDN version.
    """
    openapi_url = app.openapi_url
    assert openapi_url is not None

    async def openapi_document(request: Request) -> Response:
        document = app.openapi()
        servers = servers_for(app, request.scope.get("root_path", ""))
        if servers != document.get("servers", []):
            document = {**document, "servers": servers}
        return JSONResponse(document)

    app.add_route(openapi_url, openapi_document, name="covet.openapi", include_in_schema=False)
    bundles = local_bundles() if app.swagger_ui_url is None or app.redoc_js_url is None else None

    if app.docs_url is not None:
        assets, local = app.swagger_ui_url, False
        if assets is None:
            local = bundles is not None
            assets = (
                _asset_route(app, app.docs_url, bundles[0], SWAGGER_UI_FILES, "covet.swagger_ui_assets")
                if bundles is not None
                else SWAGGER_UI_CDN
            )
        swagger_assets, swagger_local = assets, local

        async def swagger_ui() -> HTMLResponse:
            return HTMLResponse(
                swagger_ui_html(app.title, app.url_for("covet.openapi"), swagger_assets, local=swagger_local)
            )

        app.add_route(app.docs_url, swagger_ui, name="covet.swagger_ui", include_in_schema=False)
    if app.redoc_url is not None:
        script, local = app.redoc_js_url, False
        if script is None:
            local = bundles is not None
            script = (
                _asset_route(app, app.redoc_url, bundles[1], REDOC_FILES, "covet.redoc_assets") + "/redoc.standalone.js"
                if bundles is not None
                else REDOC_CDN
            )
        redoc_script, redoc_local = script, local

        async def redoc() -> HTMLResponse:
            return HTMLResponse(redoc_html(app.title, app.url_for("covet.openapi"), redoc_script, local=redoc_local))

        app.add_route(app.redoc_url, redoc, name="covet.redoc", include_in_schema=False)
