"""Routing through the app: path syntaxes, converters, priorities, 404/405/OPTIONS/HEAD/308, mounts,
url_for and registration-time errors."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import msgspec
import pytest

from covet import Covet, Request
from covet.testing import TestClient
from covet.types import Receive, Scope, Send

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


@pytest.fixture
def app() -> Covet:
    return Covet(openapi_url=None, docs_url=None)


def allow_set(response: Any) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


# -- the two syntaxes ------------------------------------------------------------------------------


def test_flask_and_brace_syntax_mean_the_same(app: Covet) -> None:
    @app.get("/flask/<int:item_id>")
    async def flask_style(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "type": type(item_id).__name__}

    @app.get("/brace/{item_id:int}")
    async def brace_style(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "type": type(item_id).__name__}

    client = TestClient(app)
    for prefix in ("/flask", "/brace"):
        assert client.get(f"{prefix}/42").json() == {"id": 42, "type": "int"}
        assert client.get(f"{prefix}/abc").status_code == 404
    assert app.url_for("flask_style", item_id=7) == "/flask/7"
    assert app.url_for("brace_style", item_id=7) == "/brace/7"


def test_both_syntaxes_mix_in_one_path(app: Covet) -> None:
    @app.get("/orgs/<org>/repos/{number:int}")
    async def repo(org: str, number: int) -> dict[str, Any]:
        return {"org": org, "number": number}

    client = TestClient(app)
    assert client.get("/orgs/acme/repos/3").json() == {"org": "acme", "number": 3}
    assert client.get("/orgs/acme/repos/x").status_code == 404


def test_bad_brace_param_without_converter_is_422_not_404(app: Covet) -> None:
    # No converter in the template: any segment matches and the annotation validates it, like a
    # query value (FastAPI's rule), so the client learns what was wrong.
    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    client = TestClient(app)
    assert client.get("/items/5").json() == {"id": 5}
    response = client.get("/items/abc")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["path", "item_id"]]


def test_bad_flask_param_without_converter_is_422_not_404(app: Covet) -> None:
    @app.get("/items/<item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    client = TestClient(app)
    assert client.get("/items/5").json() == {"id": 5}
    assert client.get("/items/abc").status_code == 422


def test_explicit_converter_stays_a_routing_constraint(app: Covet) -> None:
    @app.get("/a/<int:n>")
    async def flask_style(n: int) -> dict[str, Any]:
        return {"n": n}

    @app.get("/b/{n:int}")
    async def brace_style(n: int) -> dict[str, Any]:
        return {"n": n}

    @app.get("/u/{key:uuid}")
    async def by_uuid(key: uuid.UUID) -> dict[str, Any]:
        return {"key": str(key)}

    client = TestClient(app)
    assert client.get("/a/3").json() == {"n": 3} and client.get("/b/3").json() == {"n": 3}
    for path in ("/a/x", "/b/x", "/u/nope"):
        assert client.get(path).status_code == 404, path


def test_brace_param_takes_uuid_and_float_from_annotation(app: Covet) -> None:
    @app.get("/u/{key}")
    async def by_uuid(key: uuid.UUID) -> dict[str, Any]:
        return {"key": str(key), "is_uuid": isinstance(key, uuid.UUID)}

    @app.get("/f/{x}")
    async def by_float(x: float) -> dict[str, Any]:
        return {"x": x}

    client = TestClient(app)
    key = uuid.uuid4()
    assert client.get(f"/u/{key}").json() == {"key": str(key), "is_uuid": True}
    assert client.get("/u/nope").status_code == 422
    assert client.get("/f/2.5").json() == {"x": 2.5}
    assert client.get("/f/two").status_code == 422


def test_brace_param_constraint_through_annotated_is_422(app: Covet) -> None:
    @app.get("/n/{n}")
    async def number(n: Annotated[int, msgspec.Meta(ge=1)]) -> dict[str, Any]:
        return {"n": n}

    client = TestClient(app)
    assert client.get("/n/3").json() == {"n": 3}
    assert client.get("/n/abc").status_code == 422
    assert client.get("/n/0").status_code == 422


def test_path_param_annotated_constraint_is_validated(app: Covet) -> None:
    @app.get("/n/<int:n>")
    async def number(n: Annotated[int, msgspec.Meta(ge=1)]) -> dict[str, Any]:
        return {"n": n}

    client = TestClient(app)
    assert client.get("/n/3").json() == {"n": 3}
    response = client.get("/n/0")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "n"


def test_unannotated_brace_param_is_a_string(app: Covet) -> None:
    @app.get("/s/{name}")
    async def show(name) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"name": name}

    client = TestClient(app)
    assert client.get("/s/42").json() == {"name": "42"}


# -- converters through the app --------------------------------------------------------------------


@pytest.fixture
def typed_app(app: Covet) -> Covet:
    @app.get("/s/<name>")
    async def by_str(name: str) -> dict[str, Any]:
        return {"value": name}

    @app.get("/i/<int:n>")
    async def by_int(n: int) -> dict[str, Any]:
        return {"value": n}

    @app.get("/f/<float:x>")
    async def by_float(x: float) -> dict[str, Any]:
        return {"value": x}

    @app.get("/p/<path:rest>")
    async def by_path(rest: str) -> dict[str, Any]:
        return {"value": rest}

    @app.get("/u/<uuid:key>")
    async def by_uuid(key: uuid.UUID) -> dict[str, Any]:
        return {"value": str(key), "is_uuid": isinstance(key, uuid.UUID)}

    return app


def test_str_converter(typed_app: Covet) -> None:
    client = TestClient(typed_app)
    assert client.get("/s/caf%C3%A9").json() == {"value": "café"}
    assert client.get("/s/a/b").status_code == 404


def test_int_converter(typed_app: Covet) -> None:
    client = TestClient(typed_app)
    assert client.get("/i/0").json() == {"value": 0}
    assert client.get("/i/123").json() == {"value": 123}
    assert client.get("/i/1.5").status_code == 404


def test_negative_int_segment_is_404(typed_app: Covet) -> None:
    assert TestClient(typed_app).get("/i/-1").status_code == 404


def test_huge_int_segment_is_404_not_500(typed_app: Covet) -> None:
    # The digits of 10**5000: more than int() parses by default, so no match, never a server error.
    response = TestClient(typed_app).get("/i/1" + "0" * 5000)
    assert response.status_code == 404


def test_overlong_str_segment_is_served_not_500(typed_app: Covet) -> None:
    long = "a" * 60_000
    assert TestClient(typed_app).get(f"/s/{long}").json() == {"value": long}


def test_float_converter(typed_app: Covet) -> None:
    client = TestClient(typed_app)
    assert client.get("/f/1.5").json() == {"value": 1.5}
    assert client.get("/f/3").json() == {"value": 3.0}


@pytest.mark.parametrize("text", ["1e5", "nan", "NaN", "inf", "-1.5", ".5", "1.", "0x10"])
def test_float_exponent_and_special_values_are_404(typed_app: Covet, text: str) -> None:
    assert TestClient(typed_app).get(f"/f/{text}").status_code == 404


def test_float_overflowing_to_infinity_is_404_not_500(typed_app: Covet) -> None:
    assert TestClient(typed_app).get("/f/" + "9" * 400).status_code == 404


def test_path_converter_spans_slashes(typed_app: Covet) -> None:
    client = TestClient(typed_app)
    assert client.get("/p/a/b/c.txt").json() == {"value": "a/b/c.txt"}
    assert client.get("/p/x").json() == {"value": "x"}
    assert client.get("/p/").status_code == 404


def test_uuid_converter(typed_app: Covet) -> None:
    key = uuid.uuid4()
    response = TestClient(typed_app).get(f"/u/{key}")
    assert response.json() == {"value": str(key), "is_uuid": True}


@pytest.mark.parametrize(
    "text",
    ["not-a-uuid", "g" * 32, "12345678-1234-5678-1234-56781234567", "12345678-1234-5678-1234-5678123456789"],
)
def test_bad_uuid_segment_is_404_not_500(typed_app: Covet, text: str) -> None:
    assert TestClient(typed_app).get(f"/u/{text}").status_code == 404


# -- priorities ------------------------------------------------------------------------------------


def test_static_beats_dynamic_registered_earlier(app: Covet) -> None:
    @app.get("/users/<name>")
    async def user(name: str) -> str:
        return f"user {name}"

    @app.get("/users/me")
    async def me() -> str:
        return "me"

    client = TestClient(app)
    assert client.get("/users/me").text == "me"
    assert client.get("/users/bob").text == "user bob"


def test_static_beats_dynamic_registered_later(app: Covet) -> None:
    @app.get("/users/me")
    async def me() -> str:
        return "me"

    @app.get("/users/<name>")
    async def user(name: str) -> str:
        return f"user {name}"

    client = TestClient(app)
    assert client.get("/users/me").text == "me"
    assert client.get("/users/bob").text == "user bob"


def test_static_segment_wins_at_each_depth(app: Covet) -> None:
    @app.get("/<a>/edit")
    async def param_first(a: str) -> str:
        return f"param {a}"

    @app.get("/static/<b>")
    async def static_first(b: str) -> str:
        return f"static {b}"

    client = TestClient(app)
    assert client.get("/static/edit").text == "static edit"
    assert client.get("/other/edit").text == "param other"


def test_static_route_for_other_method_does_not_hide_dynamic_route(app: Covet) -> None:
    @app.post("/users/me")
    async def update_me() -> str:
        return "update me"

    @app.get("/users/<name>")
    async def user(name: str) -> str:
        return f"user {name}"

    client = TestClient(app)
    assert client.get("/users/me").text == "user me"
    assert client.post("/users/me").text == "update me"


def test_first_registered_wins_for_identical_paths(app: Covet) -> None:
    @app.get("/dup")
    async def first() -> str:
        return "first"

    @app.get("/dup")
    async def second() -> str:
        return "second"

    assert TestClient(app).get("/dup").text == "first"


def test_first_registered_dynamic_route_wins(app: Covet) -> None:
    @app.get("/x/<int:n>")
    async def as_int(n: int) -> str:
        return "int"

    @app.get("/x/<s>")
    async def as_str(s: str) -> str:
        return "str"

    @app.get("/y/<s>")
    async def y_str(s: str) -> str:
        return "str"

    @app.get("/y/<int:n>")
    async def y_int(n: int) -> str:
        return "int"

    client = TestClient(app)
    assert client.get("/x/5").text == "int"
    assert client.get("/x/abc").text == "str"
    assert client.get("/y/5").text == "str"


# -- 404 / 405 / HEAD / OPTIONS --------------------------------------------------------------------


def test_unknown_path_is_json_404(app: Covet) -> None:
    response = TestClient(app).get("/nowhere")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_wrong_method_is_405_with_allow(app: Covet) -> None:
    @app.route("/items", methods=["GET", "POST"])
    async def items() -> str:
        return "ok"

    response = TestClient(app).put("/items")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert "detail" in response.json()


def test_405_allow_lists_methods_of_every_route_on_the_path(app: Covet) -> None:
    @app.get("/things/<int:n>")
    async def read(n: int) -> str:
        return "read"

    @app.delete("/things/<int:n>")
    async def remove(n: int) -> None:
        return None

    response = TestClient(app).patch("/things/1")
    assert response.status_code == 405
    assert allow_set(response) == {"GET", "HEAD", "DELETE", "OPTIONS"}


def test_405_only_for_paths_whose_converter_matches(app: Covet) -> None:
    @app.post("/things/<int:n>")
    async def create(n: int) -> str:
        return "created"

    client = TestClient(app)
    assert client.get("/things/1").status_code == 405
    assert client.get("/things/abc").status_code == 404


def test_head_on_get_route_has_no_body_but_keeps_content_length(app: Covet) -> None:
    @app.get("/hello")
    async def hello() -> str:
        return "hello"

    client = TestClient(app)
    response = client.head("/hello")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "5"
    assert response.headers["content-type"].startswith("text/html")


def test_head_is_not_allowed_on_post_only_route(app: Covet) -> None:
    @app.post("/submit")
    async def submit() -> str:
        return "ok"

    assert TestClient(app).head("/submit").status_code == 405


def test_options_is_answered_automatically_with_allow(app: Covet) -> None:
    @app.route("/items/<int:n>", methods=["GET", "PUT"])
    async def item(n: int) -> str:
        return "item"

    response = TestClient(app).options("/items/3")
    assert response.status_code in (200, 204)
    assert allow_set(response) == {"GET", "HEAD", "PUT", "OPTIONS"}
    assert response.content == b""


def test_options_on_unknown_path_is_404(app: Covet) -> None:
    assert TestClient(app).options("/nowhere").status_code == 404


def test_route_defined_options_wins(app: Covet) -> None:
    @app.get("/cors")
    async def cors_get() -> str:
        return "get"

    @app.options("/cors")
    async def cors_options() -> Any:
        return "custom", 200, {"x-custom": "yes"}

    response = TestClient(app).options("/cors")
    assert response.status_code == 200
    assert response.text == "custom"
    assert response.headers["x-custom"] == "yes"


# -- trailing slash --------------------------------------------------------------------------------


def test_missing_trailing_slash_redirects_with_308_keeping_query(app: Covet) -> None:
    @app.get("/a/")
    async def a() -> str:
        return "a"

    client = TestClient(app)
    response = client.get("/a?x=1&y=two", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/a/?x=1&y=two"
    assert client.get("/a").text == "a"


def test_missing_trailing_slash_redirect_on_dynamic_route(app: Covet) -> None:
    @app.post("/u/<name>/")
    async def u(name: str) -> str:
        return f"posted {name}"

    client = TestClient(app)
    response = client.post("/u/bob", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/u/bob/"
    assert client.post("/u/bob").text == "posted bob"


def test_extra_trailing_slash_is_404_not_redirect(app: Covet) -> None:
    @app.get("/a")
    async def a() -> str:
        return "a"

    response = TestClient(app).get("/a/", follow_redirects=False)
    assert response.status_code == 404


def test_trailing_slash_redirect_keeps_escaped_question_mark_in_path(app: Covet) -> None:
    # The redirect target must be the path as sent, not its decoded form: "%3F" must not become "?".
    @app.get("/n/<name>/")
    async def n(name: str) -> dict[str, str]:
        return {"name": name}

    client = TestClient(app)
    response = client.get("/n/x%3Fy", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/n/x%3Fy/"
    assert client.get("/n/x%3Fy").json() == {"name": "x?y"}


def test_trailing_slash_redirect_keeps_escaped_percent_in_path(app: Covet) -> None:
    @app.get("/n/<name>/")
    async def n(name: str) -> dict[str, str]:
        return {"name": name}

    response = TestClient(app).get("/n/50%25", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/n/50%25/"


# -- mounts ----------------------------------------------------------------------------------------


async def scope_echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"path": scope["path"], "root_path": scope["root_path"]}).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def test_mount_raw_asgi_app_sets_root_path(app: Covet) -> None:
    app.mount("/raw", scope_echo)
    response = TestClient(app).get("/raw/x/y")
    assert response.status_code == 200
    assert response.json() == {"path": "/raw/x/y", "root_path": "/raw"}


def test_mount_does_not_match_a_longer_segment(app: Covet) -> None:
    app.mount("/raw", scope_echo)
    assert TestClient(app).get("/rawest/x").status_code == 404


def test_longest_mount_prefix_wins(app: Covet) -> None:
    async def other(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"other"})

    app.mount("/static", other)
    app.mount("/static/img", scope_echo)
    client = TestClient(app)
    assert client.get("/static/img/a.png").json()["root_path"] == "/static/img"
    assert client.get("/static/css/a.css").text == "other"


def test_routes_take_precedence_over_mounts(app: Covet) -> None:
    app.mount("/raw", scope_echo)

    @app.get("/raw/special")
    async def special() -> str:
        return "route"

    assert TestClient(app).get("/raw/special").text == "route"


def test_mount_sub_covet_app(app: Covet) -> None:
    sub = Covet(openapi_url=None, docs_url=None)

    @sub.get("/hello/<name>")
    async def hello(name: str, request: Request) -> dict[str, Any]:
        return {
            "name": name,
            "path": request.path,
            "absolute": request.url_for("hello", name=name),
            "relative": sub.url_for("hello", name=name),
        }

    app.mount("/sub", sub)
    response = TestClient(app).get("/sub/hello/ada")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "ada"
    assert body["absolute"] == "http://testserver/sub/hello/ada"
    assert body["relative"] == "/sub/hello/ada"


def test_sub_covet_app_404_and_redirect_stay_inside_the_mount(app: Covet) -> None:
    sub = Covet(openapi_url=None, docs_url=None)

    @sub.get("/dir/")
    async def directory() -> str:
        return "dir"

    app.mount("/sub", sub)
    client = TestClient(app)
    response = client.get("/sub/dir", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/sub/dir/"
    assert client.get("/sub/missing").status_code == 404


def test_bare_mount_point_serves_the_sub_app_root(app: Covet) -> None:
    sub = Covet(openapi_url=None, docs_url=None)

    @sub.get("/")
    async def sub_index() -> dict[str, str]:
        return {"where": "sub"}

    app.mount("/sub", sub)
    client = TestClient(app)
    assert client.get("/sub").json() == {"where": "sub"}
    assert client.get("/sub/").json() == {"where": "sub"}


def test_mount_prefix_must_be_static(app: Covet) -> None:
    with pytest.raises(ValueError, match="static paths"):
        app.mount("/x/<name>", scope_echo)
    with pytest.raises(ValueError, match="static paths"):
        app.mount("static", scope_echo)


# -- url_for ---------------------------------------------------------------------------------------


@pytest.fixture
def named_app(app: Covet) -> Covet:
    @app.get("/users/<int:user_id>")
    async def user(user_id: int) -> dict[str, Any]:
        return {"user_id": user_id}

    @app.get("/people/{name}", name="person")
    async def person_view(name: str) -> dict[str, Any]:
        return {"name": name}

    @app.get("/files/<path:rest>")
    async def files(rest: str) -> dict[str, Any]:
        return {"rest": rest}

    @app.get("/link/<int:user_id>")
    async def link(user_id: int, request: Request) -> dict[str, Any]:
        return {"url": request.url_for("user", user_id=user_id, tab="posts")}

    return app


def test_url_for_builds_path(named_app: Covet) -> None:
    assert named_app.url_for("user", user_id=3) == "/users/3"


def test_url_for_uses_name_override(named_app: Covet) -> None:
    assert named_app.url_for("person", name="ada") == "/people/ada"
    with pytest.raises(LookupError):
        named_app.url_for("person_view", name="ada")


def test_url_for_extra_params_become_query_string(named_app: Covet) -> None:
    assert named_app.url_for("user", user_id=3, tab="posts", page=2) == "/users/3?tab=posts&page=2"
    assert named_app.url_for("user", user_id=3, tag=["a", "b c"]) == "/users/3?tag=a&tag=b+c"


def test_url_for_quotes_values(named_app: Covet) -> None:
    assert named_app.url_for("person", name="a b/c") == "/people/a%20b%2Fc"
    assert named_app.url_for("files", rest="dir/a b.txt") == "/files/dir/a%20b.txt"


def test_url_for_round_trips_through_the_router(named_app: Covet) -> None:
    client = TestClient(named_app)
    assert client.get(named_app.url_for("person", name="a b")).json() == {"name": "a b"}
    assert client.get(named_app.url_for("files", rest="x/y z")).json() == {"rest": "x/y z"}


def test_url_for_unknown_name_raises_lookup_error(named_app: Covet) -> None:
    with pytest.raises(LookupError, match="No route named 'nobody'"):
        named_app.url_for("nobody")


def test_url_for_missing_params_raise_value_error(named_app: Covet) -> None:
    with pytest.raises(ValueError, match="missing path parameter"):
        named_app.url_for("user")
    with pytest.raises(ValueError, match="user_id"):
        named_app.url_for("user", tab="posts")


def test_url_for_accepts_a_parameter_called_name(named_app: Covet) -> None:
    assert named_app.url_for("person", name="name") == "/people/name"


def test_request_url_for_is_absolute(named_app: Covet) -> None:
    response = TestClient(named_app).get("/link/9")
    assert response.json() == {"url": "http://testserver/users/9?tab=posts"}


def test_request_url_for_uses_request_host_and_scheme(named_app: Covet) -> None:
    client = TestClient(named_app, base_url="https://example.org:8443")
    assert client.get("/link/1").json() == {"url": "https://example.org:8443/users/1?tab=posts"}


# -- registration-time errors ----------------------------------------------------------------------


def test_unknown_converter_raises_at_registration(app: Covet) -> None:
    with pytest.raises(ValueError, match="Unknown converter 'nope'"):

        @app.get("/x/<nope:y>")
        async def handler(y: str) -> None: ...

    with pytest.raises(ValueError, match="Unknown converter 'integer'"):

        @app.get("/x/{y:integer}")
        async def handler2(y: int) -> None: ...


def test_path_param_missing_from_handler_raises_at_registration(app: Covet) -> None:
    with pytest.raises((TypeError, ValueError), match="'user_id'"):

        @app.get("/users/<int:user_id>")
        async def user(id: int) -> None: ...

    assert all(route.path != "/users/<int:user_id>" for route in app.routes)


def test_duplicate_route_name_raises_at_registration(app: Covet) -> None:
    @app.get("/a", name="thing")
    async def first() -> None: ...

    with pytest.raises(ValueError, match="'thing' is already used"):

        @app.get("/b", name="thing")
        async def second() -> None: ...

    assert app.url_for("thing") == "/a"


def test_same_endpoint_on_two_paths_is_not_a_duplicate_name(app: Covet) -> None:
    async def shared() -> str:
        return "shared"

    app.add_route("/one", shared)
    app.add_route("/two", shared)
    client = TestClient(app)
    assert client.get("/one").text == "shared"
    assert client.get("/two").text == "shared"


def test_path_without_leading_slash_raises(app: Covet) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):

        @app.get("items")
        async def items() -> None: ...


@pytest.mark.parametrize("path", ["/a/<int:id", "/a/{id", "/a/id}", "/a/<>", "/a/<int:>", "/a/<my-id>"])
def test_malformed_parameter_raises(app: Covet, path: str) -> None:
    with pytest.raises(ValueError, match="Malformed parameter"):
        app.add_route(path, lambda: None)


@pytest.mark.parametrize("path", ["/a/<x>/<x>", "/a/<int:x>/{x:int}", "/a/<x>-{x}"])
def test_duplicate_param_names_raise(app: Covet, path: str) -> None:
    async def handler(x: str) -> None: ...

    with pytest.raises(ValueError, match="'x' appears twice"):
        app.add_route(path, handler)


def test_methods_as_string_raises(app: Covet) -> None:
    with pytest.raises(TypeError, match="not a string"):
        app.route("/a", methods="GET")


def test_adding_routes_after_serving_raises(app: Covet) -> None:
    @app.get("/")
    async def index() -> str:
        return "index"

    assert TestClient(app).get("/").status_code == 200
    with pytest.raises(RuntimeError, match="after the application started"):

        @app.get("/late")
        async def late() -> str:
            return "late"

    with pytest.raises(RuntimeError):
        app.add_route("/late2", index)
    with pytest.raises(RuntimeError):
        app.mount("/late3", scope_echo)
    assert TestClient(app).get("/late").status_code == 404


# -- request methods -------------------------------------------------------------------------------


def test_misspelled_method_is_refused_at_registration_naming_valid_ones(app: Covet) -> None:
    # methods=["GET", "POTS"] used to register, show in Allow and add a "pots" OpenAPI operation.
    with pytest.raises(ValueError) as caught:

        @app.route("/x", methods=["GET", "POTS"])
        async def x() -> str:
            return "x"

    message = str(caught.value)
    assert "'POTS'" in message and "Did you mean 'POST'?" in message
    assert "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT" in message
    assert "custom_methods=['POTS']" in message
    assert app.router.routes == []


def test_misspelled_method_in_a_blueprint_is_refused_when_registered(app: Covet) -> None:
    from covet import Blueprint

    bp = Blueprint("shop")

    @bp.route("/x", methods=["DELET"])
    async def x() -> str:
        return "x"

    with pytest.raises(ValueError, match="Did you mean 'DELETE'"):
        app.register_blueprint(bp)


def test_custom_method_is_served_only_when_declared_on_the_app() -> None:
    app = Covet(custom_methods=["purge"])

    @app.route("/cache", methods=["PURGE"])
    async def purge() -> str:
        return "purged"

    client = TestClient(app)
    assert client.request("PURGE", "/cache").text == "purged"
    assert allow_set(client.get("/cache")) == {"PURGE", "OPTIONS"}
    # OpenAPI has no field for it: the operation is left out rather than written invalid.
    assert "purge" not in app.openapi()["paths"].get("/cache", {})


def test_custom_methods_must_be_tokens() -> None:
    with pytest.raises(ValueError, match="custom_methods"):
        Covet(custom_methods=["NOT A METHOD"])
    with pytest.raises(TypeError, match="not a string"):
        Covet(custom_methods="PURGE")


def test_lower_case_standard_methods_are_accepted(app: Covet) -> None:
    @app.route("/x", methods=["get", "post"])
    async def x() -> str:
        return "x"

    assert TestClient(app).post("/x").text == "x"
