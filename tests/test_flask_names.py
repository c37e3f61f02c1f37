"""Flask names in covet: the ones offered (redirect, jsonify, g, request.args) and, for the others,
errors that name the covet way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

import covet
from covet import Covet, Form, g, jsonify, redirect, request
from covet.testing import TestClient


def test_redirect_defaults_to_302_so_post_redirect_get_does_not_repost() -> None:
    # RedirectResponse defaults to 307, which makes a browser re-POST the form to the new URL.
    app = Covet()

    @app.post("/items")
    async def create(name: Annotated[str, Form()]) -> object:
        return redirect("/items")

    @app.get("/items")
    async def items() -> str:
        return "list"

    client = TestClient(app)
    response = client.post("/items", data={"name": "a"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (302, "/items")
    followed = client.post("/items", data={"name": "a"})
    assert (followed.request.method, followed.text) == ("GET", "list")
    assert redirect("/x", code=303).status_code == 303
    with pytest.raises(ValueError, match="3xx"):
        redirect("/x", code=200)


def test_jsonify_accepts_flask_call_forms() -> None:
    assert jsonify({"a": 1}).body == b'{"a":1}'
    assert jsonify(a=1).body == b'{"a":1}'
    assert jsonify(1, 2).body == b"[1,2]"
    with pytest.raises(TypeError, match="not both"):
        jsonify(1, a=2)


def test_g_and_request_args_work_as_in_flask() -> None:
    app = Covet()

    @app.before_request
    async def load_user() -> None:
        g.user = request.args.get("user")

    @app.get("/")
    async def index() -> dict[str, object]:
        assert "user" in g and g.get("missing") is None
        g.pop("db", None)
        return {"user": g.user, "page": request.args.getlist("page")}

    assert TestClient(app).get("/?user=ada&page=1&page=2").json() == {"user": "ada", "page": ["1", "2"]}
    with pytest.raises(RuntimeError, match="covet.g only works while a request"):
        g.user  # noqa: B018


@pytest.mark.parametrize(
    ("attribute", "way"),
    [("get_json", "await request.json()"), ("files", "await request.form()"), ("remote_addr", "request.client.host")],
)
def test_flask_request_attributes_name_the_covet_way(attribute: str, way: str) -> None:
    app = Covet()
    seen: list[str] = []

    @app.get("/")
    async def index() -> None:
        with pytest.raises(AttributeError) as caught:
            getattr(request, attribute)
        seen.append(str(caught.value))

    TestClient(app).get("/")
    assert way in seen[0] and repr(attribute) in seen[0]


def test_unknown_request_attribute_is_a_plain_attribute_error() -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return str(hasattr(request, "no_such_thing"))

    assert TestClient(app).get("/").text == "False"


@pytest.mark.parametrize(("name", "way"), [("session", "request.session"), ("Flask", "Covet()"), ("make_response", "(body, status, headers)")])
def test_flask_module_names_covet_lacks_name_the_covet_way(name: str, way: str) -> None:
    with pytest.raises(ImportError) as caught:
        exec(f"from covet import {name}", {})
    assert way in str(caught.value)
    assert not hasattr(covet, "no_such_name")


@pytest.mark.parametrize(
    ("owner", "attribute", "way"),
    [("blueprint", "before_app_request", "app.before_request"), ("app", "add_url_rule", "add_route("), ("app", "teardown_appcontext", "yield")],
)
def test_flask_app_and_blueprint_attributes_name_the_covet_way(owner: str, attribute: str, way: str) -> None:
    target = covet.Blueprint("shop", __name__) if owner == "blueprint" else Covet()
    with pytest.raises(AttributeError) as caught:
        getattr(target, attribute)
    assert way in str(caught.value)
    assert not hasattr(target, "no_such_attribute")


def test_templates_see_g_as_flask_templates_do(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "base.html").write_text("{% if g.user %}hi {{ g.user }}{% else %}log in{% endif %}")
    app = Covet()
    app.config["TEMPLATE_FOLDER"] = str(folder)

    @app.get("/")
    def index() -> str:
        g.user = request.args.get("user")
        return covet.render_template("base.html")

    client = TestClient(app)
    assert client.get("/?user=ada").text == "hi ada"
    assert client.get("/").text == "log in"


def test_app_logger_works_as_in_flask_and_carries_the_request_id() -> None:
    import logging

    from covet.observability import RequestIdMiddleware

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    app = Covet(debug=True)
    logger = app.logger
    keep = Keep()
    logger.addHandler(keep)
    try:
        assert logger is logging.getLogger("covet.app") and logger.isEnabledFor(logging.DEBUG)

        @app.get("/")
        async def index() -> dict[str, bool]:
            app.logger.debug("serving %s", "index")
            return {"ok": True}

        app.add_middleware(RequestIdMiddleware)
        with TestClient(app) as client:
            client.get("/", headers={"x-request-id": "flask-habit"})
    finally:
        logger.removeHandler(keep)
        logger.setLevel(logging.NOTSET)
    [record] = records
    assert (record.getMessage(), record.request_id) == ("serving index", "flask-habit")
