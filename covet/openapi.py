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
from .params import BODY, COOKIE, FILE, FORM, HEADER, PATH, QUERY, EndpointPlan, ParamSpec
from .responses import FileResponse, HTMLResponse, JSONResponse

if TYPE_CHECKING:
    from .app import Covet
    from .routing import Route

__all__ = ["build_openapi", "install_docs_routes", "swagger_ui_html", "redoc_html"]

_IN = {PATH: "path", QUERY: "query", HEADER: "header", COOKIE: "cookie"}
_REF = "#/components/schemas/{name}"
#: The methods a Path Item Object has fields for (OpenAPI 3.1 §4.8.9).
_OPERATION_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})

_VALIDATION_ERROR = {
    "type": "object",
    "title": "HTTPValidationError",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "title": "ValidationError",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}


class _Schemas:
    """Collects types, then renders all their schemas in one msgspec call (shared components)."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.slots: list[tuple[dict[str, Any], str]] = []

    def ref(self, target: dict[str, Any], key: str, annotation: Any) -> None:
        self.types.append(annotation)
        self.slots.append((target, key))

    def render(self) -> dict[str, Any]:
        if not self.types:
            return {}
        schemas, components = msgspec.json.schema_components(self.types, ref_template=_REF)
        for (target, key), schema in zip(self.slots, schemas):
            target[key] = schema
        return components


def _openapi_path(route: Route) -> str:
    return "".join(token if isinstance(token, str) else "{" + token[0] + "}" for token in route.tokens)


def _param_type(route: Route, spec: ParamSpec) -> Any:
    annotation = spec.annotation
    if spec.kind == PATH:
        convertor = route.convertors[spec.key]
        if annotation is inspect.Parameter.empty or annotation is Any:
            annotation = convertor.python_type
        if annotation in (int, float) and convertor.python_type is annotation:
            # The int and float converters only match unsigned numbers.
            return Annotated[annotation, msgspec.Meta(ge=0)]
        return annotation
    if annotation is inspect.Parameter.empty or annotation is Any:
        return str
    return annotation


def _operation(route: Route, method: str, schemas: _Schemas, error_content: dict[str, Any]) -> dict[str, Any]:
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
            if marker is not None and getattr(marker, "description", None):
                entry["description"] = marker.description
            if marker is not None and getattr(marker, "deprecated", False):
                entry["deprecated"] = True
            schemas.ref(entry, "schema", _param_type(route, spec))
            parameters.append(entry)
            validated = validated or spec.kind != PATH or spec.convert
        elif spec.kind in (FORM, FILE):
            form_fields.append(spec)
            validated = True
        elif spec.kind == BODY:
            validated = True
    if parameters:
        operation["parameters"] = parameters
    if plan.body_params and plan.body_decoder is not None:
        content: dict[str, Any] = {}
        schemas.ref(content, "schema", plan.body_decoder.type)
        operation["requestBody"] = {"required": plan.body_required, "content": {"application/json": content}}
    elif form_fields:
        properties: dict[str, Any] = {}
        required = []
        multipart = False
        for spec in form_fields:
            if spec.kind == FILE:
                multipart = True
                file_schema = {"type": "string", "format": "binary"}
                properties[spec.key] = {"type": "array", "items": file_schema} if spec.is_list else file_schema
            else:
                schemas.ref(properties, spec.key, _param_type(route, spec))
            if spec.required:
                required.append(spec.key)
        body_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            body_schema["required"] = required
        media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        operation["requestBody"] = {"required": bool(required), "content": {media: {"schema": body_schema}}}
    status = str(plan.status_code or (204 if plan.returns_none else 200))
    response: dict[str, Any] = {"description": "Successful Response"}
    if plan.response_type is not None and status != "204":
        body: dict[str, Any] = {}
        schemas.ref(body, "schema", plan.response_type)
        response["content"] = {"application/json": body}
    responses: dict[str, Any] = {status: response}
    if any(convertor.python_type is not str for convertor in route.convertors.values()):
        # A value its converter rejects means "no such route": 404, not 422.
        responses["404"] = {"description": "Not Found"}
    if plan.body_params:
        responses["400"] = {"description": "Malformed JSON body"}
    if validated:
        responses["422"] = {"description": "Validation Error", "content": {"application/json": error_content}}
    for code, extra in (options.get("responses") or {}).items():
        responses[str(code)] = extra
    operation["responses"] = responses
    return operation


def build_openapi(app: Covet) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
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
                item.setdefault(method.lower(), _operation(route, method, schemas, error_content))
    components = schemas.render()
    if custom_error is None:
        components["HTTPValidationError"] = _VALIDATION_ERROR
    info: dict[str, Any] = {"title": app.title, "version": app.version}
    if app.description:
        info["description"] = app.description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


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

    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

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
