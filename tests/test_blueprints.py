"""Blueprints: prefixes, route names, nesting, per-blueprint hooks and dependencies."""

from __future__ import annotations

from typing import Any

import pytest

from covet import Blueprint, Covet, Depends, HTTPException, Request, Response, abort
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


@pytest.fixture
def app() -> Covet:
    return Covet(openapi_url=None, docs_url=None)


def make_bp(name: str = "api", url_prefix: str = "/api", **kwargs: Any) -> Blueprint:
    bp = Blueprint(name, url_prefix=url_prefix, **kwargs)

    @bp.get("/items")
    async def items() -> dict[str, str]:
        return {"from": name}

    return bp


# -- prefixes and names ----------------------------------------------------------------------------


def test_url_prefix_applies_to_routes(app: Covet) -> None:
    app.register_blueprint(make_bp())
    client = TestClient(app)
    assert client.get("/api/items").json() == {"from": "api"}
    assert client.get("/items").status_code == 404


def test_route_is_named_blueprint_dot_function(app: Covet) -> None:
    app.register_blueprint(make_bp())
    assert app.url_for("api.items") == "/api/items"
    with pytest.raises(LookupError, match="api.items"):
        app.url_for("items")


def test_route_name_override_inside_blueprint(app: Covet) -> None:
    bp = Blueprint("api", url_prefix="/api")

    @bp.get("/u/<int:n>", name="user")
    async def get_user(n: int) -> dict[str, int]:
        return {"n": n}

    app.register_blueprint(bp)
    assert app.url_for("api.user", n=2) == "/api/u/2"
    assert TestClient(app).get("/api/u/2").json() == {"n": 2}


def test_route_name_with_dot_in_blueprint_raises() -> None:
    bp = Blueprint("api")
    with pytest.raises(ValueError, match="cannot contain dots"):
        bp.add_route("/x", lambda: None, name="a.b")


def test_blueprint_name_and_prefix_are_checked() -> None:
    with pytest.raises(ValueError, match="no dots"):
        Blueprint("a.b")
    with pytest.raises(ValueError, match="must start with '/'"):
        Blueprint("api", url_prefix="api")


def test_blueprint_without_prefix(app: Covet) -> None:
    app.register_blueprint(make_bp("plain", url_prefix=""))
    assert TestClient(app).get("/items").json() == {"from": "plain"}
    assert app.url_for("plain.items") == "/items"


def test_same_function_name_in_two_blueprints_does_not_clash(app: Covet) -> None:
    app.register_blueprint(make_bp("one", "/one"))
    app.register_blueprint(make_bp("two", "/two"))
    client = TestClient(app)
    assert client.get("/one/items").json() == {"from": "one"}
    assert client.get("/two/items").json() == {"from": "two"}
    assert app.url_for("two.items") == "/two/items"


def test_root_route_of_prefixed_blueprint(app: Covet) -> None:
    bp = Blueprint("api", url_prefix="/api")

    @bp.get("/")
    async def index() -> str:
        return "index"

    app.register_blueprint(bp)
    client = TestClient(app)
    assert client.get("/api/").text == "index"
    assert app.url_for("api.index") == "/api/"


def test_prefix_with_trailing_slash_is_joined_once(app: Covet) -> None:
    app.register_blueprint(make_bp("api", "/api/"))
    assert TestClient(app).get("/api/items").json() == {"from": "api"}


def test_prefix_with_parameter(app: Covet) -> None:
    bp = Blueprint("org", url_prefix="/orgs/<int:org_id>")

    @bp.get("/members")
    async def members(org_id: int) -> dict[str, int]:
        return {"org_id": org_id}

    app.register_blueprint(bp)
    assert TestClient(app).get("/orgs/7/members").json() == {"org_id": 7}
    assert app.url_for("org.members", org_id=7) == "/orgs/7/members"


# -- register overrides ----------------------------------------------------------------------------


def test_register_with_url_prefix_override(app: Covet) -> None:
    app.register_blueprint(make_bp(), url_prefix="/v2")
    client = TestClient(app)
    assert client.get("/v2/items").json() == {"from": "api"}
    assert client.get("/api/items").status_code == 404
    assert app.url_for("api.items") == "/v2/items"


def test_register_with_name_override(app: Covet) -> None:
    app.register_blueprint(make_bp(), name="v2")
    assert app.url_for("v2.items") == "/api/items"
    with pytest.raises(LookupError):
        app.url_for("api.items")


def test_register_one_blueprint_twice_under_different_names(app: Covet) -> None:
    bp = make_bp()
    app.register_blueprint(bp, url_prefix="/v1", name="v1")
    app.register_blueprint(bp, url_prefix="/v2", name="v2")
    client = TestClient(app)
    assert client.get("/v1/items").status_code == 200
    assert client.get("/v2/items").status_code == 200
    assert app.url_for("v1.items") == "/v1/items"
    assert app.url_for("v2.items") == "/v2/items"


# -- nesting ---------------------------------------------------------------------------------------


def nested() -> tuple[Blueprint, Blueprint]:
    outer = Blueprint("outer", url_prefix="/outer")
    inner = Blueprint("inner", url_prefix="/inner")

    @inner.get("/func")
    async def func() -> str:
        return "inner func"

    @outer.get("/top")
    async def top() -> str:
        return "outer top"

    outer.register_blueprint(inner)
    return outer, inner


def test_nested_blueprint_names_and_prefixes(app: Covet) -> None:
    outer, _ = nested()
    app.register_blueprint(outer)
    client = TestClient(app)
    assert client.get("/outer/inner/func").text == "inner func"
    assert client.get("/outer/top").text == "outer top"
    assert app.url_for("outer.inner.func") == "/outer/inner/func"
    assert app.url_for("outer.top") == "/outer/top"


def test_nested_blueprint_follows_outer_prefix_override(app: Covet) -> None:
    outer, _ = nested()
    app.register_blueprint(outer, url_prefix="/o", name="o")
    assert TestClient(app).get("/o/inner/func").text == "inner func"
    assert app.url_for("o.inner.func") == "/o/inner/func"


def test_nested_register_with_prefix_and_name_override(app: Covet) -> None:
    outer = Blueprint("outer", url_prefix="/outer")
    inner = Blueprint("inner", url_prefix="/inner")

    @inner.get("/func")
    async def func() -> str:
        return "inner func"

    outer.register_blueprint(inner, url_prefix="/in2", name="in2")
    app.register_blueprint(outer)
    assert TestClient(app).get("/outer/in2/func").text == "inner func"
    assert app.url_for("outer.in2.func") == "/outer/in2/func"


def test_blueprint_cannot_be_registered_on_itself() -> None:
    bp = Blueprint("bp")
    with pytest.raises(ValueError, match="itself"):
        bp.register_blueprint(bp)


def test_blueprint_nested_inside_itself_raises(app: Covet) -> None:
    a = Blueprint("a", url_prefix="/a")
    b = Blueprint("b", url_prefix="/b")
    a.register_blueprint(b)
    b.register_blueprint(a)
    with pytest.raises(ValueError, match="nested inside itself"):
        app.register_blueprint(a)


# -- setup after registration ----------------------------------------------------------------------


def test_adding_route_after_registration_raises(app: Covet) -> None:
    bp = make_bp()
    app.register_blueprint(bp)
    with pytest.raises(RuntimeError, match="already registered"):

        @bp.get("/late")
        async def late() -> str:
            return "late"

    assert TestClient(app).get("/api/late").status_code == 404


def test_nesting_after_registration_raises(app: Covet) -> None:
    bp = make_bp()
    app.register_blueprint(bp)
    with pytest.raises(RuntimeError, match="already registered"):
        bp.register_blueprint(Blueprint("child"))


def test_registering_blueprint_after_serving_raises(app: Covet) -> None:
    @app.get("/")
    async def index() -> str:
        return "index"

    TestClient(app).get("/")
    with pytest.raises(RuntimeError):
        app.register_blueprint(make_bp())


# -- hooks -----------------------------------------------------------------------------------------


def hooked_app(app: Covet) -> tuple[Covet, Blueprint, list[str]]:
    calls: list[str] = []
    bp = Blueprint("bp", url_prefix="/bp")

    @bp.get("/x")
    async def bp_route() -> str:
        calls.append("bp handler")
        return "bp"

    @app.get("/x")
    async def app_route() -> str:
        calls.append("app handler")
        return "app"

    @app.before_request
    async def app_before() -> None:
        calls.append("app before")

    @bp.before_request
    def bp_before(request: Request) -> None:
        calls.append(f"bp before {request.path}")

    @app.after_request
    async def app_after(response: Response) -> Response:
        response.headers["x-after"] = response.headers.get("x-after", "") + "app;"
        return response

    @bp.after_request
    async def bp_after(response: Response) -> Response:
        response.headers["x-after"] = response.headers.get("x-after", "") + "bp;"
        return response

    app.register_blueprint(bp)
    return app, bp, calls


def test_blueprint_before_request_applies_only_to_its_routes(app: Covet) -> None:
    app, _, calls = hooked_app(app)
    client = TestClient(app)
    client.get("/x")
    assert calls == ["app before", "app handler"]
    calls.clear()
    client.get("/bp/x")
    assert calls == ["app before", "bp before /bp/x", "bp handler"]


def test_blueprint_after_request_applies_only_to_its_routes(app: Covet) -> None:
    app, _, _ = hooked_app(app)
    client = TestClient(app)
    assert client.get("/x").headers["x-after"] == "app;"
    # The blueprint's own hook runs first, then the app's, as in Flask.
    assert client.get("/bp/x").headers["x-after"] == "bp;app;"


def test_app_hooks_apply_to_routing_failures_but_blueprint_hooks_do_not(app: Covet) -> None:
    app, _, calls = hooked_app(app)
    response = TestClient(app).get("/bp/missing")
    assert response.status_code == 404
    assert response.headers["x-after"] == "app;"
    assert calls == ["app before"]


def test_blueprint_before_request_may_short_circuit(app: Covet) -> None:
    bp = Blueprint("admin", url_prefix="/admin")

    @bp.get("/panel")
    async def panel() -> str:
        return "secret"

    @bp.before_request
    async def deny(request: Request) -> Any:
        if request.headers.get("x-admin") != "yes":
            return {"error": "forbidden"}, 403
        return None

    @app.get("/public")
    async def public() -> str:
        return "public"

    app.register_blueprint(bp)
    client = TestClient(app)
    response = client.get("/admin/panel")
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}
    assert client.get("/admin/panel", headers={"x-admin": "yes"}).text == "secret"
    assert client.get("/public").text == "public"


def test_blueprint_errorhandler_applies_only_to_its_routes(app: Covet) -> None:
    bp = Blueprint("bp", url_prefix="/bp")

    @bp.get("/boom")
    async def bp_boom() -> str:
        raise LookupError("bp")

    @app.get("/boom")
    async def app_boom() -> str:
        raise LookupError("app")

    @bp.errorhandler(LookupError)
    async def handle(exc: LookupError) -> Any:
        return {"handled": str(exc)}, 409

    app.register_blueprint(bp)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/bp/boom")
    assert response.status_code == 409
    assert response.json() == {"handled": "bp"}
    assert client.get("/boom").status_code == 500


def test_blueprint_status_errorhandler_applies_only_to_its_routes(app: Covet) -> None:
    bp = Blueprint("bp", url_prefix="/bp")

    @bp.get("/gone")
    async def bp_gone() -> str:
        abort(404)

    @app.get("/gone")
    async def app_gone() -> str:
        abort(404)

    @bp.errorhandler(404)
    async def bp_not_found(exc: HTTPException) -> Any:
        return {"bp": "not found"}, 404

    app.register_blueprint(bp)
    client = TestClient(app)
    assert client.get("/bp/gone").json() == {"bp": "not found"}
    assert client.get("/gone").json() == {"detail": "Not Found"}


def test_blueprint_errorhandler_wins_over_app_errorhandler(app: Covet) -> None:
    bp = Blueprint("bp", url_prefix="/bp")

    @bp.get("/boom")
    async def bp_boom() -> str:
        raise KeyError("k")

    @app.get("/boom")
    async def app_boom() -> str:
        raise KeyError("k")

    @app.errorhandler(KeyError)
    async def app_handler(exc: KeyError) -> Any:
        return "app handled", 400

    @bp.errorhandler(KeyError)
    async def bp_handler(exc: KeyError) -> Any:
        return "bp handled", 400

    app.register_blueprint(bp)
    client = TestClient(app)
    assert client.get("/bp/boom").text == "bp handled"
    assert client.get("/boom").text == "app handled"


def test_outer_blueprint_hooks_apply_to_nested_routes_but_not_the_reverse(app: Covet) -> None:
    outer, inner = nested()
    seen: list[str] = []

    @outer.before_request
    async def outer_before() -> None:
        seen.append("outer")

    @inner.before_request
    async def inner_before() -> None:
        seen.append("inner")

    app.register_blueprint(outer)
    client = TestClient(app)
    client.get("/outer/inner/func")
    assert seen == ["outer", "inner"]
    seen.clear()
    client.get("/outer/top")
    assert seen == ["outer"]


# -- dependencies ----------------------------------------------------------------------------------


async def require_token(request: Request) -> str:
    token = request.headers.get("x-token")
    if token != "secret":
        raise HTTPException(401, "bad token")
    return str(token)


def test_blueprint_dependencies_run_for_its_routes_only(app: Covet) -> None:
    bp = Blueprint("private", url_prefix="/private", dependencies=[Depends(require_token)])

    @bp.get("/data")
    async def data() -> dict[str, str]:
        return {"data": "yes"}

    @app.get("/open")
    async def open_route() -> dict[str, str]:
        return {"open": "yes"}

    app.register_blueprint(bp)
    client = TestClient(app)
    assert client.get("/private/data").status_code == 401
    assert client.get("/private/data", headers={"x-token": "secret"}).json() == {"data": "yes"}
    assert client.get("/open").json() == {"open": "yes"}


def test_outer_blueprint_dependencies_run_for_nested_routes(app: Covet) -> None:
    outer = Blueprint("outer", url_prefix="/outer", dependencies=[Depends(require_token)])
    inner = Blueprint("inner", url_prefix="/inner")

    @inner.get("/func")
    async def func() -> str:
        return "inner func"

    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    client = TestClient(app)
    assert client.get("/outer/inner/func").status_code == 401
    assert client.get("/outer/inner/func", headers={"x-token": "secret"}).text == "inner func"


def test_blueprint_and_route_dependencies_both_run(app: Covet) -> None:
    ran: list[str] = []

    async def blueprint_dep() -> None:
        ran.append("blueprint")

    async def route_dep() -> None:
        ran.append("route")

    bp = Blueprint("bp", url_prefix="/bp", dependencies=[Depends(blueprint_dep)])

    @bp.get("/x", dependencies=[Depends(route_dep)])
    async def x() -> str:
        return "x"

    app.register_blueprint(bp)
    assert TestClient(app).get("/bp/x").text == "x"
    assert sorted(ran) == ["blueprint", "route"]


def test_flask_import_name_signature_is_accepted(app: Covet) -> None:
    # Flask's Blueprint("shop", __name__, url_prefix=...) used to fail with a url_prefix message.
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    plain = Blueprint("plain", __name__)

    @shop.get("/items")
    async def items() -> str:
        return "shop"

    @plain.get("/plain")
    async def plain_route() -> str:
        return "plain"

    app.register_blueprint(shop)
    app.register_blueprint(plain)
    client = TestClient(app)
    assert client.get("/shop/items").text == "shop"
    assert client.get("/plain").text == "plain"
    assert shop.import_name == __name__
    assert app.url_for("shop.items") == "/shop/items"


def test_positional_url_prefix_still_works_and_ambiguity_is_explained(app: Covet) -> None:
    api = Blueprint("api", "/api")
    assert (api.url_prefix, api.import_name) == ("/api", None)
    with pytest.raises(ValueError, match=r"import name \(write __name__\).*'/my shop'"):
        Blueprint("shop", "my shop")
    with pytest.raises(TypeError, match="two url prefixes"):
        Blueprint("api", "/api", url_prefix="/v1")
