"""The OpenAPI 3.1 document and the docs pages, checked on the example apps and on small apps.

The examples' documents must pass ``openapi_spec_validator``; a schemathesis run against
examples/tutorial.py (in process, over ASGI) must find no server errors and no response that
contradicts the document.
"""

from __future__ import annotations

import datetime
import enum
import importlib.util
import itertools
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import msgspec
import openapi_spec_validator
import pytest
import schemathesis
from hypothesis import settings
from openapi_spec_validator import OpenAPIV31SpecValidator

from covet import Covet, Form, Header, JSONResponse, Query, RequestValidationError
from covet.testing import TestClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_counter = itertools.count()


def load_example(name: str) -> ModuleType:
    """A fresh copy of examples/<name>.py under a unique module name.

    The module is registered in ``sys.modules`` because msgspec resolves the string annotations of a
    ``from __future__ import annotations`` module through it.
    """
    module_name = f"_covet_openapi_example_{name}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hello() -> Covet:
    return load_example("hello").app


@pytest.fixture(scope="module")
def tutorial() -> Covet:
    return load_example("tutorial").app


def operation(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return doc["paths"][path][method]


def parameter(op: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in op.get("parameters", []) if p["name"] == name]
    return found


# --- validity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["hello", "tutorial"])
def test_example_document_is_valid_openapi_31(example: str) -> None:
    doc = load_example(example).app.openapi()
    assert doc["openapi"] == "3.1.0"
    openapi_spec_validator.validate(doc, cls=OpenAPIV31SpecValidator)


def test_every_ref_resolves(tutorial: Covet) -> None:
    doc = tutorial.openapi()
    text = msgspec.json.encode(doc).decode()
    refs = {part.split('"')[0] for part in text.split('"$ref":"#/components/schemas/')[1:]}
    assert refs and refs <= set(doc["components"]["schemas"])


# --- document contents ------------------------------------------------------------------------------


def test_info_and_paths(hello: Covet) -> None:
    doc = hello.openapi()
    assert doc["info"] == {"title": "covet example", "version": "1.0.0"}
    assert set(doc["paths"]) == {"/", "/items", "/items/{item_id}", "/admin/stats"}
    assert set(doc["paths"]["/items"]) == {"get", "post"}
    # HEAD is implied by GET and not listed; the docs routes are not part of the API.
    assert "head" not in doc["paths"]["/"]


def test_info_description(tutorial: Covet) -> None:
    assert (
        tutorial.openapi()["info"]["description"]
        == "The FastAPI tutorial's first chapters, written for covet."
    )


def test_path_parameters_are_required(hello: Covet, tutorial: Covet) -> None:
    item_id = parameter(operation(hello.openapi(), "/items/{item_id}"), "item_id")
    assert item_id == {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
    doc = tutorial.openapi()
    assert parameter(operation(doc, "/files/{file_path}"), "file_path")["required"] is True
    model = parameter(operation(doc, "/models/{model_name}"), "model_name")
    assert model["schema"] == {"$ref": "#/components/schemas/ModelName"}
    assert doc["components"]["schemas"]["ModelName"]["enum"] == ["alexnet", "lenet", "resnet"]


def test_query_parameter_schemas(hello: Covet, tutorial: Covet) -> None:
    limit = parameter(operation(hello.openapi(), "/items"), "limit")
    assert limit == {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
    }
    search = operation(tutorial.openapi(), "/search")
    alias = parameter(search, "item-query")
    assert alias["description"] == "Lower-case words to look for"
    text = alias["schema"]["anyOf"][0]
    assert text == {"type": "string", "minLength": 3, "maxLength": 50, "pattern": "^[a-z ]+$"}
    assert parameter(search, "tag")["schema"] == {"type": "array", "items": {"type": "string"}, "default": []}
    needy = parameter(operation(tutorial.openapi(), "/users/{user_id}/items/{item_id}"), "needy")
    assert needy["required"] is True


def test_header_cookie_and_dependency_parameters(tutorial: Covet) -> None:
    doc = tutorial.openapi()
    headers = operation(doc, "/headers")
    assert parameter(headers, "user-agent")["in"] == "header"
    # A list header is one comma-separated string on the wire (RFC 9110 §5.3), and says so.
    x_token = parameter(headers, "x-token")
    assert x_token["schema"] == {"type": "string"}
    assert "comma-separated" in x_token["description"]
    assert parameter(operation(doc, "/cookies"), "ads_id")["in"] == "cookie"
    # Parameters of dependencies (and of their sub-dependencies) are the operation's parameters.
    assert {p["name"] for p in operation(doc, "/catalog/page")["parameters"]} == {"q", "skip", "limit"}
    assert {(p["name"], p["in"]) for p in operation(doc, "/catalog/query")["parameters"]} == {
        ("q", "query"),
        ("last_query", "cookie"),
    }
    protected = operation(doc, "/protected/items")
    assert {(p["name"], p["in"], p["required"]) for p in protected["parameters"]} == {
        ("x-token", "header", True),
        ("x-key", "header", True),
    }
    # The app-scoped dependency takes nothing from the request, so documents nothing.
    assert "parameters" not in operation(doc, "/pool")


def test_request_body_references_components(hello: Covet) -> None:
    doc = hello.openapi()
    body = operation(doc, "/items", "post")["requestBody"]
    assert body == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
    }
    item = doc["components"]["schemas"]["Item"]
    assert item["required"] == ["name", "price"]
    assert item["properties"]["price"] == {"type": "number", "exclusiveMinimum": 0}


def test_embedded_and_multiple_bodies(tutorial: Covet) -> None:
    doc = tutorial.openapi()
    schemas = doc["components"]["schemas"]

    def body_schema(path: str) -> dict[str, Any]:
        ref = operation(doc, path, "put")["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    embedded = body_schema("/items/{item_id}/embedded")
    assert embedded["properties"] == {"item": {"$ref": "#/components/schemas/Item"}}
    assert embedded["required"] == ["item"]
    several = body_schema("/items/{item_id}/owner")
    assert set(several["properties"]) == {"item", "owner", "importance"}
    assert several["properties"]["importance"] == {"type": "integer", "minimum": 1, "maximum": 5}
    # Path and query parameters stay parameters when a body is present.
    update = operation(doc, "/items/{item_id}", "put")
    assert {(p["name"], p["in"]) for p in update["parameters"]} == {("item_id", "path"), ("q", "query")}


def test_validation_error_response(hello: Covet) -> None:
    doc = hello.openapi()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
    assert operation(doc, "/items")["responses"]["422"]["content"] == error
    assert operation(doc, "/items", "post")["responses"]["422"]["content"] == error
    # Nothing to validate, nothing documented.
    assert "422" not in operation(doc, "/")["responses"]
    assert "422" not in operation(doc, "/admin/stats")["responses"]
    schemas = doc["components"]["schemas"]
    detail = schemas["HTTPValidationError"]["properties"]["detail"]
    assert detail["items"] == {"$ref": "#/components/schemas/ValidationError"}
    assert schemas["ValidationError"]["required"] == ["loc", "msg", "type"]


def test_response_schemas(hello: Covet, tutorial: Covet) -> None:
    ok = operation(hello.openapi(), "/items/{item_id}")["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    created = operation(hello.openapi(), "/items", "post")["responses"]
    # status_code=201 is the documented success, with the return annotation's schema.
    assert "200" not in created
    assert created["201"]["content"]["application/json"]["schema"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


def test_response_model_schema_drops_secret(tutorial: Covet) -> None:
    doc = tutorial.openapi()
    created = operation(doc, "/accounts", "post")["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserOut"}
    read = operation(doc, "/accounts/{username}")["responses"]["200"]
    assert read["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserOut"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["UserOut"]["properties"]) == {"username", "email", "full_name"}
    assert "UserInDB" not in schemas  # the return annotation is overridden by response_model


def test_extra_responses_option(tutorial: Covet) -> None:
    responses = operation(tutorial.openapi(), "/protected/items")["responses"]
    assert set(responses) == {"200", "400", "401", "422"}
    assert responses["401"]["description"] == "Bad X-Key"


def test_tags_summary_and_description(hello: Covet, tutorial: Covet) -> None:
    search = operation(tutorial.openapi(), "/search")
    assert search["summary"] == "Search items"
    assert search["tags"] == ["items"]
    assert search["description"].startswith("Validated query parameters")
    assert search["operationId"] == "search_items_get"
    # Default summary from the function name; description from the docstring.
    stats = operation(hello.openapi(), "/admin/stats")
    assert stats["summary"] == "Stats"
    assert stats["description"] == "A sync handler: runs in a worker thread, never on the event loop."
    assert "description" not in operation(hello.openapi(), "/")


def test_description_option_beats_docstring() -> None:
    app = Covet()

    @app.get("/x", description="From the decorator.", summary="Ex", tags=["a", "b"])
    async def x() -> dict[str, int]:
        """From the docstring."""
        return {"x": 1}

    op = operation(app.openapi(), "/x")
    assert (op["description"], op["summary"], op["tags"]) == ("From the decorator.", "Ex", ["a", "b"])


def test_none_return_is_documented_as_204() -> None:
    app = Covet()

    @app.post("/ping")
    async def ping() -> None:
        """Answers with an empty 204."""

    with TestClient(app) as client:
        assert client.post("/ping").status_code == 204
    assert operation(app.openapi(), "/ping", "post")["responses"] == {
        "204": {"description": "Successful Response"}
    }


def test_include_in_schema_false_hides_route() -> None:
    app = Covet()

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"a": "b"}

    @app.get("/internal", include_in_schema=False)
    async def internal() -> dict[str, str]:
        return {"secret": "yes"}

    assert set(app.openapi()["paths"]) == {"/public"}
    with TestClient(app) as client:
        assert client.get("/internal").json() == {"secret": "yes"}


def test_document_is_cached_and_rebuilt_on_new_routes() -> None:
    app = Covet()

    @app.get("/a")
    async def a() -> None: ...

    first = app.openapi()
    assert app.openapi() is first

    @app.get("/b")
    async def b() -> None: ...

    second = app.openapi()
    assert second is not first and set(second["paths"]) == {"/a", "/b"}


def test_custom_validation_error_schema() -> None:
    class Problem(msgspec.Struct):
        title: str
        errors: list[dict[str, Any]]

    app = Covet()

    @app.get("/items")
    async def items(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    @app.validation_error_handler(schema=Problem)
    async def problem(exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"title": "Invalid request", "errors": exc.errors}, 422)

    doc = app.openapi()
    openapi_spec_validator.validate(doc, cls=OpenAPIV31SpecValidator)
    error = operation(doc, "/items")["responses"]["422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    with TestClient(app) as client:
        body = client.get("/items", params={"limit": "x"}).json()
    assert body["title"] == "Invalid request" and body["errors"][0]["loc"] == ["query", "limit"]


# --- serving the document and the docs pages ---------------------------------------------------------


def test_openapi_json_is_served(tutorial: Covet) -> None:
    with TestClient(tutorial) as client:
        r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == tutorial.openapi()


def test_docs_pages_reference_the_document(hello: Covet) -> None:
    with TestClient(hello) as client:
        docs = client.get("/docs")
        redoc = client.get("/redoc")
    assert docs.headers["content-type"] == "text/html; charset=utf-8"
    assert "SwaggerUIBundle" in docs.text and '"/openapi.json"' in docs.text
    assert "<title>covet example - Swagger UI</title>" in docs.text
    assert redoc.headers["content-type"] == "text/html; charset=utf-8"
    assert 'spec-url="/openapi.json"' in redoc.text


def test_docs_follow_a_custom_openapi_url() -> None:
    app = Covet(openapi_url="/api/schema.json")
    with TestClient(app) as client:
        assert client.get("/api/schema.json").json()["openapi"] == "3.1.0"
        assert client.get("/openapi.json").status_code == 404
        assert '"/api/schema.json"' in client.get("/docs").text


def test_custom_asset_urls() -> None:
    app = Covet(
        title="<Shop>",
        swagger_ui_url="https://assets.example.com/swagger",
        redoc_js_url="https://assets.example.com/redoc.js",
    )
    with TestClient(app) as client:
        docs = client.get("/docs").text
        redoc = client.get("/redoc").text
    assert 'href="https://assets.example.com/swagger/swagger-ui.css"' in docs
    assert 'src="https://assets.example.com/swagger/swagger-ui-bundle.js"' in docs
    assert 'src="https://assets.example.com/redoc.js"' in redoc
    assert "&lt;Shop&gt;" in docs and "<Shop>" not in docs  # the title is escaped


def test_docs_urls_can_move_or_go() -> None:
    app = Covet(docs_url="/swagger", redoc_url=None)
    with TestClient(app) as client:
        assert client.get("/swagger").status_code == 200
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_openapi_url_none_disables_document_and_docs() -> None:
    app = Covet(openapi_url=None)

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(path).status_code == 404, path
        assert client.get("/").json() == {"ok": "yes"}


# --- schemathesis against examples/tutorial.py ------------------------------------------------------

# Loaded at import time: schemathesis makes one test per operation of the served /openapi.json.
tutorial_schema = schemathesis.openapi.from_asgi("/openapi.json", load_example("tutorial").app)

# Two operations refuse some schema-valid requests on purpose, with a documented status, so the
# "valid data should be accepted" check is off for them (every other check still applies):
# - /protected/items accepts only two secret header values, which a schema cannot (and must not) list;
#   other values get the documented 400/401;
# - /unicorns/{name} raises the example's custom exception for the name "yolo" (documented 418).
_REJECTS_VALID_DATA_BY_DESIGN = {"/protected/items", "/unicorns/{name}"}


@tutorial_schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None)
def test_tutorial_conforms_to_its_schema(case: schemathesis.Case) -> None:
    by_design = case.operation.path in _REJECTS_VALID_DATA_BY_DESIGN
    excluded = [schemathesis.checks.positive_data_acceptance] if by_design else []
    case.call_and_validate(excluded_checks=excluded)


def test_plain_json_return_annotation_is_documented() -> None:
    app = Covet()

    @app.get("/pairs")
    async def pairs() -> list[dict[str, str]]:
        return [{"a": "b"}]

    response = app.openapi()["paths"]["/pairs"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"type": "object", "additionalProperties": {"type": "string"}},
    }


class Thing(msgspec.Struct):
    name: str


def test_converter_rejections_and_malformed_bodies_are_documented() -> None:
    app = Covet()

    @app.put("/things/<int:thing_id>")
    async def put_thing(thing_id: int, thing: Thing) -> Thing:
        return thing

    responses = app.openapi()["paths"]["/things/{thing_id}"]["put"]["responses"]
    assert {"200", "400", "404", "422"} <= set(responses)


# --- what covet sends and accepts, as the document says it ------------------------------------------


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Size(enum.IntEnum):
    small = 1
    large = 2


class Event(msgspec.Struct):
    when: datetime.datetime
    day: datetime.date
    ref: uuid.UUID
    later: datetime.datetime | None = None
    history: list[datetime.datetime] = []
    color: Color = Color.red


def habits_app() -> Covet:
    """Parameters and returns of every kind the document has to describe."""
    app = Covet(title="habits")

    @app.get("/items/{item_id}")
    async def read(
        item_id: uuid.UUID,
        limit: int = 12,
        page_size: Annotated[int, Query(alias="page-size", ge=1, le=100, title="Page size", examples=[20])] = 10,
        color: Color = Color.red,
        size: Size | None = None,
        tags: Annotated[list[str], Query(description="Repeat for several")] = ["a", "b"],  # noqa: B006
        since: datetime.datetime | None = None,
        x_trace: Annotated[list[str] | None, Header()] = None,
        old: Annotated[str | None, Query(deprecated=True, max_length=3)] = None,
    ) -> Event:
        raise AssertionError  # pragma: no cover

    @app.get("/pages/<name>")
    async def page(name: str) -> str:
        return f"<h1>{name}</h1>"

    @app.get("/raw/<path:rest>")
    async def raw(rest: str) -> bytes:
        return rest.encode()

    @app.post("/events", status_code=201)
    async def create(event: Event) -> Event:
        return event

    @app.post("/form")
    async def form(name: Annotated[str, Form()], age: Annotated[int | None, Form()] = None) -> dict[str, Any]:
        return {"name": name, "age": age}

    return app


def test_parameter_defaults_are_in_their_schemas() -> None:
    op = operation(habits_app().openapi(), "/items/{item_id}")
    assert parameter(op, "limit")["schema"] == {"type": "integer", "default": 12}
    assert parameter(op, "page-size")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "title": "Page size",
        "examples": [20],
        "default": 10,
    }
    assert parameter(op, "color")["schema"] == {"$ref": "#/components/schemas/Color", "default": "red"}
    assert parameter(op, "size")["schema"]["default"] is None
    assert parameter(op, "tags")["schema"] == {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]}
    assert parameter(op, "tags")["description"] == "Repeat for several"
    old = parameter(op, "old")
    assert old["deprecated"] is True and old["schema"]["anyOf"][0] == {"type": "string", "maxLength": 3}
    form = operation(habits_app().openapi(), "/form", "post")["requestBody"]["content"]
    assert form["application/x-www-form-urlencoded"]["schema"]["properties"]["age"]["default"] is None


def test_servers_name_the_root_path_behind_a_proxy_prefix() -> None:
    app = habits_app()
    assert "servers" not in app.openapi()
    with TestClient(app, root_path="/api/v1") as client:
        doc = client.get("/api/v1/openapi.json").json()
        assert doc["servers"] == [{"url": "/api/v1"}]
        assert '"/api/v1/openapi.json"' in client.get("/api/v1/docs").text
    assert "servers" not in app.openapi()  # the cached document is not changed by one request


def test_servers_are_configurable() -> None:
    app = Covet(servers=[{"url": "https://api.example.com", "description": "production"}])
    assert app.openapi()["servers"] == [{"url": "https://api.example.com", "description": "production"}]
    with TestClient(app, root_path="/v2") as client:
        assert client.get("/v2/openapi.json").json()["servers"] == [
            {"url": "/v2"},
            {"url": "https://api.example.com", "description": "production"},
        ]
    quiet = Covet(root_path_in_servers=False)
    with TestClient(quiet, root_path="/v2") as client:
        assert "servers" not in client.get("/v2/openapi.json").json()


def test_header_list_is_documented_as_the_comma_separated_string_covet_reads() -> None:
    x_trace = parameter(operation(habits_app().openapi(), "/items/{item_id}"), "x-trace")
    assert x_trace["schema"] == {"type": "string"}
    assert "comma-separated" in x_trace["description"]


def test_plain_str_path_parameter_states_what_matches() -> None:
    doc = habits_app().openapi()
    page = operation(doc, "/pages/{name}")
    assert parameter(page, "name")["schema"] == {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    assert "404" in page["responses"]
    rest = operation(doc, "/raw/{rest}")
    assert parameter(rest, "rest")["schema"] == {"type": "string", "minLength": 1}


def test_automatic_error_responses_reference_named_components() -> None:
    doc = habits_app().openapi()
    http_error = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    created = operation(doc, "/events", "post")["responses"]
    for status in ("400", "413", "415"):
        assert created[status]["content"] == http_error, status
    assert operation(doc, "/items/{item_id}")["responses"]["404"]["content"] == http_error
    assert operation(doc, "/form", "post")["responses"]["413"]["content"] == http_error
    schemas = doc["components"]["schemas"]
    assert schemas["HTTPError"]["properties"] == {"detail": {"type": "string"}}
    assert schemas["HTTPValidationError"]["properties"]["detail"]["items"] == {"$ref": "#/components/schemas/ValidationError"}
    OpenAPIV31SpecValidator(doc).validate()


def test_str_return_is_documented_as_html_and_bytes_as_binary() -> None:
    doc = habits_app().openapi()
    assert operation(doc, "/pages/{name}")["responses"]["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert operation(doc, "/raw/{rest}")["responses"]["200"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }


def test_datetime_date_uuid_formats_and_enum_types() -> None:
    doc = habits_app().openapi()
    schemas = doc["components"]["schemas"]
    event = schemas["Event"]["properties"]
    assert event["when"] == {"type": "string", "format": "date-time"}
    assert event["day"] == {"type": "string", "format": "date"}
    assert event["ref"] == {"type": "string", "format": "uuid"}
    assert {"type": "string", "format": "date-time"} in event["later"]["anyOf"]
    assert event["history"]["items"] == {"type": "string", "format": "date-time"}
    assert schemas["Color"]["type"] == "string" and schemas["Size"]["type"] == "integer"
    op = operation(doc, "/items/{item_id}")
    assert parameter(op, "item_id")["schema"] == {"type": "string", "format": "uuid"}
    assert {"type": "string", "format": "date-time"} in parameter(op, "since")["schema"]["anyOf"]


def _generate_client(doc: dict[str, Any], tmp_path: Path) -> str:
    source = tmp_path / "openapi.json"
    source.write_bytes(msgspec.json.encode(doc))
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(source), "--output-path", str(tmp_path / "client"), "--meta", "none"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.mark.parametrize("make", [lambda: load_example("tutorial").app, habits_app], ids=["tutorial", "habits"])
def test_openapi_python_client_generates_without_warnings(make: Any, tmp_path: Path) -> None:
    output = _generate_client(make().openapi(), tmp_path)
    assert "Warning" not in output and "WARNING" not in output, output
    assert "will not be generated" not in output, output
