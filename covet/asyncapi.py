"""The AsyncAPI 3.0 document of an app's WebSocket routes (https://www.asyncapi.com/docs/reference/specification/v3.0.0).

OpenAPI describes request/response; a WebSocket is a channel with messages going both ways, which
is what AsyncAPI describes. Each WebSocket route is a channel (its address the route's path, its
path parameters the channel's parameters, its query values and headers the WebSocket binding's
``query`` and ``headers`` schemas) with up to two operations, from the app's point of view:
``receive`` (messages the handler reads; the route option ``receive=Type``) and ``send`` (messages
it writes; ``send=Type``). Types are msgspec types (Structs, dataclasses, TypedDicts, unions of
them), whose JSON Schemas go into ``components.schemas``.

Example::

    @app.websocket("/chat/<room>", receive=ChatIn, send=ChatOut, summary="A chat room")
    async def chat(websocket: WebSocket, room: str): ...

    app.asyncapi()                 # the document, also served at /asyncapi.json
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import msgspec

from .params import HEADER, PATH, QUERY
from .responses import JSONResponse, Response

if TYPE_CHECKING:
    from .app import Covet
    from .routing import Route

__all__ = ["build_asyncapi", "install_asyncapi_route", "check_message_type"]

_REF = "#/components/schemas/{name}"


def check_message_type(option: str, value: Any, path: str) -> None:
    """Refuse, at registration, a ``receive=``/``send=`` type msgspec cannot describe."""
    try:
        msgspec.json.schema(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"WebSocket route {path!r}: {option}={value!r} is not a type msgspec can describe ({exc}); "
            "give a msgspec.Struct, dataclass, TypedDict, a union of them, or a JSON type such as dict[str, Any]."
        ) from None


def _type_name(value: Any) -> str:
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and typing.get_origin(value) is None:
        return name
    return "".join(part.capitalize() for part in _words(repr(value)))


def _words(text: str) -> list[str]:
    word: list[str] = []
    words: list[str] = []
    for char in text:
        if char.isalnum():
            word.append(char)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return words


def _channel_name(route: Route) -> str:
    # Component keys must match ^[a-zA-Z0-9\.\-_]+$ (AsyncAPI 3.0 §Components Object).
    return "".join(char if char.isalnum() or char in ".-_" else "_" for char in route.name)


def _address(route: Route) -> str:
    return "".join(token if isinstance(token, str) else "{" + token[0] + "}" for token in route.tokens)


def _object_schema(specs: list[Any]) -> dict[str, Any]:
    """A JSON Schema object for query values or headers (the WebSocket binding's ``query``/``headers``)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in specs:
        annotation = spec.annotation if spec.annotation is not typing.Any and spec.annotation is not None else str
        try:
            properties[spec.key] = msgspec.json.schema(annotation)
        except (TypeError, ValueError):
            properties[spec.key] = {}
        properties[spec.key].pop("$defs", None)
        if spec.required:
            required.append(spec.key)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def build_asyncapi(app: Covet) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for ``app``'s WebSocket routes (those with include_in_schema)."""
    routes = [route for route in app.router.routes if route.scope_type == "websocket" and route.include_in_schema]
    message_types: list[Any] = []
    for route in routes:
        for option in ("receive", "send"):
            value = route.options.get(option)
            if value is not None and value not in message_types:
                message_types.append(value)
    schemas: dict[str, Any] = {}
    refs: tuple[dict[str, Any], ...] = ()
    if message_types:
        refs, schemas = msgspec.json.schema_components(message_types, ref_template=_REF)
    messages: dict[str, Any] = {}
    message_keys: dict[int, str] = {}
    for value, ref in zip(message_types, refs):
        key = _type_name(value)
        while key in messages:
            key += "_"
        if "$ref" not in ref:  # not a named type: keep its schema under the message's own name
            schemas.setdefault(key, ref)
            ref = {"$ref": _REF.format(name=key)}
        messages[key] = {"name": key, "contentType": "application/json", "payload": ref}
        message_keys[id(value)] = key

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for route in routes:
        name = _channel_name(route)
        channel: dict[str, Any] = {"address": _address(route)}
        options = route.options
        if options.get("summary"):
            channel["summary"] = options["summary"]
        description = options.get("description") or (route.endpoint.__doc__ or "").strip()
        if description:
            channel["description"] = description
        specs = route.plan.all_params()
        path_specs = [spec for spec in specs if spec.kind == PATH]
        if path_specs:
            channel["parameters"] = {spec.key: {"description": f"path parameter {spec.key}"} for spec in path_specs}
        binding: dict[str, Any] = {"method": "GET"}
        query_specs = [spec for spec in specs if spec.kind == QUERY]
        header_specs = [spec for spec in specs if spec.kind == HEADER]
        if query_specs:
            binding["query"] = _object_schema(query_specs)
        if header_specs:
            binding["headers"] = _object_schema(header_specs)
        binding["bindingVersion"] = "0.1.0"
        channel["bindings"] = {"ws": binding}
        channel_messages: dict[str, Any] = {}
        for action in ("receive", "send"):
            value = options.get(action)
            if value is None:
                continue
            key = message_keys[id(value)]
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "messages": [{"$ref": f"#/channels/{name}/messages/{key}"}],
            }
            tags = options.get("tags")
            if tags:
                operation["tags"] = [{"name": str(tag)} for tag in tags]
            operations[f"{name}.{action}"] = operation
        if channel_messages:
            channel["messages"] = channel_messages
        channels[name] = channel

    info: dict[str, Any] = {"title": app.title, "version": app.version}
    if app.description:
        info["description"] = app.description
    document: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": info,
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
    }
    components: dict[str, Any] = {}
    if messages:
        components["messages"] = messages
    if schemas:
        components["schemas"] = schemas
    if components:
        document["components"] = components
    return document


def install_asyncapi_route(app: Covet) -> None:
    """Serve the document at ``app.asyncapi_url`` (once; called when the first WebSocket route is added)."""
    url = app.asyncapi_url
    if url is None or "covet.asyncapi" in app.router.names:
        return
    async def asyncapi_document() -> Response:
        return JSONResponse(app.asyncapi())

    app.add_route(url, asyncapi_document, name="covet.asyncapi", include_in_schema=False)
