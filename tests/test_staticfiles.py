"""covet.staticfiles: serving a directory, and never anything outside it; Covet(static_folder=...)."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import pytest

from covet import Covet, HTTPException, JSONResponse, Response
from covet.staticfiles import StaticFiles, _safe_parts
from covet.testing import TestClient


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """``tmp/site`` to serve, next to ``tmp/secret.txt`` and ``tmp/private/`` that must stay out of reach."""
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.pem").write_text("PRIVATE KEY")
    root = tmp_path / "site"
    root.mkdir()
    (root / "app.css").write_text("body { color: red }")
    (root / "sub").mkdir()
    (root / "sub" / "app.css").write_text("sub css")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    return root


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def fetch(
    app: Any, raw_path: str, method: str = "GET", root_path: str = "", headers: dict[str, str] | None = None
) -> Reply:
    """Send ``raw_path`` exactly as written, as a server would: ``path`` is its percent-decoding.

    Test clients normalise ``..`` and friends away before sending; attacks must arrive intact.
    """
    raw = raw_path.encode("latin-1")
    scope = {
        "type": "http",
        "method": method,
        "path": unquote(raw_path, encoding="latin-1"),
        "raw_path": raw,
        "root_path": root_path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
        "extensions": {},
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not messages:
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    async def main() -> None:
        with anyio.fail_after(30):
            await app(scope, receive, send)

    anyio.run(main)
    start = messages[0]
    headers_out = {k.decode(): v.decode("latin-1") for k, v in start["headers"]}
    return Reply(start["status"], headers_out, b"".join(m.get("body", b"") for m in messages[1:]))


def assert_not_found(reply: Reply) -> None:
    assert reply.status == 404
    assert b"SECRET" not in reply.body and b"PRIVATE" not in reply.body
    assert reply.body == b'{"detail":"Not Found"}'


# --- serving ---------------------------------------------------------------------------------------


def test_static_serves_a_file_with_validators(site: Path) -> None:
    reply = fetch(StaticFiles(directory=site), "/app.css")
    assert reply.status == 200
    assert reply.body == b"body { color: red }"
    assert reply.headers["content-type"] == "text/css; charset=utf-8"
    assert reply.headers["content-length"] == "19"
    assert "etag" in reply.headers and "last-modified" in reply.headers


def test_static_serves_nested_files_and_tolerates_double_slashes(site: Path) -> None:
    files = StaticFiles(directory=site)
    assert fetch(files, "/sub/app.css").body == b"sub css"
    assert fetch(files, "/sub//app.css").body == b"sub css"


def test_static_conditional_request_and_range(site: Path) -> None:
    files = StaticFiles(directory=site)
    etag = fetch(files, "/app.css").headers["etag"]
    assert fetch(files, "/app.css", headers={"if-none-match": etag}).status == 304
    ranged = fetch(files, "/app.css", headers={"range": "bytes=0-3"})
    assert (ranged.status, ranged.body, ranged.headers["content-range"]) == (206, b"body", "bytes 0-3/19")


def test_static_head_sends_headers_only(site: Path) -> None:
    reply = fetch(StaticFiles(directory=site), "/app.css", method="HEAD")
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"", "19")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_static_other_methods_are_405(site: Path, method: str) -> None:
    reply = fetch(StaticFiles(directory=site), "/app.css", method=method)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"


def test_static_missing_file_is_404(site: Path) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), "/nope.css"))


def test_static_directory_is_404_without_html(site: Path) -> None:
    files = StaticFiles(directory=site)
    assert_not_found(fetch(files, "/docs/"))
    assert_not_found(fetch(files, "/"))


def test_static_html_serves_index_and_redirects_to_slash(site: Path) -> None:
    files = StaticFiles(directory=site, html=True)
    assert fetch(files, "/docs/").body == b"<h1>docs</h1>"
    redirect = fetch(files, "/docs")
    assert redirect.status == 307
    assert redirect.headers["location"] == "/docs/"


def test_static_html_redirect_keeps_the_mount_prefix(site: Path) -> None:
    redirect = fetch(StaticFiles(directory=site, html=True), "/files/docs", root_path="/files")
    assert redirect.headers["location"] == "/files/docs/"


def test_static_redirect_is_never_protocol_relative(site: Path) -> None:
    (site / "evil.com").mkdir()
    (site / "evil.com" / "index.html").write_text("hi")
    redirect = fetch(StaticFiles(directory=site, html=True), "//evil.com")
    assert redirect.status == 307
    assert redirect.headers["location"] == "/evil.com/"


def test_static_html_serves_404_page(site: Path) -> None:
    (site / "404.html").write_text("<h1>lost</h1>")
    reply = fetch(StaticFiles(directory=site, html=True), "/missing.html")
    assert (reply.status, reply.body) == (404, b"<h1>lost</h1>")
    assert reply.headers["content-type"] == "text/html; charset=utf-8"


def test_static_404_page_is_not_used_without_html(site: Path) -> None:
    (site / "404.html").write_text("<h1>lost</h1>")
    assert_not_found(fetch(StaticFiles(directory=site), "/missing.html"))


def test_static_works_mounted_on_an_app(site: Path) -> None:
    (site / "index.html").write_text("<h1>home</h1>")
    app = Covet()
    app.mount("/files", StaticFiles(directory=site, html=True), name="files")
    client = TestClient(app, follow_redirects=False)
    assert client.get("/files/app.css").text == "body { color: red }"
    assert client.get("/files/docs/").text == "<h1>docs</h1>"
    assert client.get("/files/docs").headers["location"] == "/files/docs/"
    assert client.get("/files").headers["location"] == "/files/"
    assert client.get("/files/").text == "<h1>home</h1>"
    assert client.get("/files/nope").status_code == 404


def test_static_check_dir_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="check_dir=False"):
        StaticFiles(directory=tmp_path / "missing")


def test_static_unchecked_missing_directory_is_404(tmp_path: Path) -> None:
    files = StaticFiles(directory=tmp_path / "later", check_dir=False)
    assert_not_found(fetch(files, "/app.css"))
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "app.css").write_text("now")
    assert fetch(files, "/app.css").body == b"now"


def test_static_refuses_websocket_scopes(site: Path) -> None:
    async def main() -> None:
        await StaticFiles(directory=site)({"type": "websocket"}, None, None)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="HTTP requests only"):
        anyio.run(main)


# --- hostile paths: each one must be a plain 404 -------------------------------------------------


@pytest.mark.parametrize("path", ["/../secret.txt", "/sub/../../secret.txt", "/../private/key.pem", "/.."])
def test_static_dotdot_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


def test_static_dotdot_inside_the_directory_is_404_too(site: Path) -> None:
    # "/sub/../app.css" would stay inside, but no honest client sends dot segments: refuse them all.
    assert_not_found(fetch(StaticFiles(directory=site), "/sub/../app.css"))


@pytest.mark.parametrize(
    "path", ["/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt"]
)
def test_static_encoded_dotdot_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize("path", ["/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt"])
def test_static_double_encoded_dotdot_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize(
    "path", ["/..%2fsecret.txt", "/..%2Fsecret.txt", "/sub%2fapp.css", "/%2e%2e%2fsecret.txt"]
)
def test_static_encoded_slash_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize("path", ["/..%5csecret.txt", "/sub%5Capp.css", "/%2e%2e%5csecret.txt"])
def test_static_encoded_backslash_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize("path", ["/..\\secret.txt", "/sub\\app.css", "/\\..\\secret.txt"])
def test_static_backslash_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize(
    "path", ["/C:/Windows/win.ini", "/c:%5cboot.ini", "/sub/D:secret.txt", "/C:secret.txt"]
)
def test_static_drive_letter_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


@pytest.mark.parametrize("path", ["/app.css%00", "/app.css%00.png", "/%00/../secret.txt", "/app.css\x00"])
def test_static_nul_byte_404(site: Path, path: str) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), path))


def test_static_absolute_path_stays_inside(site: Path) -> None:
    secret = (site.parent / "secret.txt").as_posix()
    assert_not_found(fetch(StaticFiles(directory=site), "/" + secret))
    assert_not_found(fetch(StaticFiles(directory=site), "//" + secret.lstrip("/")))


def test_static_dot_segment_404(site: Path) -> None:
    assert_not_found(fetch(StaticFiles(directory=site), "/./app.css"))


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/../secret.txt", b"/../secret.txt"),
        ("/../secret.txt", b"/%2e%2e/secret.txt"),
        ("/./app.css", b"/./app.css"),
        ("/../secret.txt", b"/..%2fsecret.txt"),
        ("/a/b.css", b"/a%2Fb.css"),
        ("/..\\secret.txt", b"/..%5csecret.txt"),
        ("/sub\\app.css", b"/sub\\app.css"),
        ("/C:/boot.ini", b"/C:/boot.ini"),
        ("/app.css\x00", b"/app.css%00"),
    ],
)
def test_static_path_filter_refuses_before_touching_the_disk(path: str, raw_path: bytes) -> None:
    # The first of two independent defences; the second (real path inside the root) is what the
    # symlink tests below exercise.
    assert _safe_parts(path, raw_path) is None


def test_static_path_filter_passes_ordinary_names() -> None:
    assert _safe_parts("/css//site.v2.css", b"/css//site.v2.css") == ["css", "site.v2.css"]
    assert _safe_parts("/caf\u00e9 menu.pdf", b"/caf%C3%A9%20menu.pdf") == ["caf\u00e9 menu.pdf"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_static_symlink_outside_404(site: Path) -> None:
    (site / "leak.txt").symlink_to(site.parent / "secret.txt")
    (site / "leakdir").symlink_to(site.parent / "private", target_is_directory=True)
    files = StaticFiles(directory=site, html=True)
    assert_not_found(fetch(files, "/leak.txt"))
    assert_not_found(fetch(files, "/leakdir/key.pem"))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_static_symlinked_index_or_404_page_outside_404(site: Path) -> None:
    (site / "outdir").mkdir()
    (site / "outdir" / "index.html").symlink_to(site.parent / "secret.txt")
    (site / "404.html").symlink_to(site.parent / "secret.txt")
    files = StaticFiles(directory=site, html=True)
    assert_not_found(fetch(files, "/outdir/"))
    assert_not_found(fetch(files, "/missing"))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_static_symlink_inside_is_served(site: Path) -> None:
    (site / "alias.css").symlink_to(site / "sub" / "app.css")
    assert fetch(StaticFiles(directory=site), "/alias.css").body == b"sub css"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_static_directory_itself_may_be_a_symlink(site: Path, tmp_path: Path) -> None:
    link = tmp_path / "public"
    link.symlink_to(site, target_is_directory=True)
    files = StaticFiles(directory=link)
    assert fetch(files, "/app.css").status == 200
    assert_not_found(fetch(files, "/../secret.txt"))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_static_sibling_directory_with_common_prefix_404(site: Path) -> None:
    # "/tmp/site-private" starts with "/tmp/site" as a string; it is still outside.
    sibling = site.parent / "site-private"
    sibling.mkdir()
    (sibling / "x.txt").write_text("PRIVATE")
    (site / "sib").symlink_to(sibling, target_is_directory=True)
    assert_not_found(fetch(StaticFiles(directory=site), "/sib/x.txt"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_static_fifo_404(site: Path) -> None:
    os.mkfifo(site / "pipe")
    assert_not_found(fetch(StaticFiles(directory=site), "/pipe"))


# --- Covet(static_folder=...) --------------------------------------------------------------------


@pytest.fixture
def static_app(site: Path) -> Covet:
    return Covet(static_folder=site, static_url_path="/static")


def test_static_folder_serves_files_and_url_for(static_app: Covet, site: Path) -> None:
    @static_app.get("/")
    async def index() -> dict[str, str]:
        return {"css": static_app.url_for("static", filename="sub/app.css")}

    client = TestClient(static_app)
    assert client.get("/").json() == {"css": "/static/sub/app.css"}
    assert client.get("/static/sub/app.css").text == "sub css"
    assert static_app.static_folder == os.path.realpath(site)
    assert static_app.static_url_path == "/static"


def test_static_folder_url_for_quotes_names(static_app: Covet) -> None:
    assert static_app.url_for("static", filename="a b/é.css") == "/static/a%20b/%C3%A9.css"


def test_static_folder_route_answers_head_and_refuses_post(static_app: Covet) -> None:
    client = TestClient(static_app)
    head = client.head("/static/app.css")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "19")
    post = client.post("/static/app.css")
    assert post.status_code == 405
    assert "GET" in post.headers["allow"]


def test_static_folder_ranges_and_conditionals(static_app: Covet) -> None:
    client = TestClient(static_app)
    etag = client.get("/static/app.css").headers["etag"]
    assert client.get("/static/app.css", headers={"if-none-match": etag}).status_code == 304
    ranged = client.get("/static/app.css", headers={"range": "bytes=5-9"})
    assert (ranged.status_code, ranged.text) == (206, "{ col")


def test_static_folder_uses_app_hooks_and_404_handler(static_app: Covet) -> None:
    @static_app.after_request
    def tag(response: Response) -> Response:
        response.headers["x-served-by"] = "covet"
        return response

    @static_app.errorhandler(404)
    def not_found(exc: HTTPException) -> Response:
        return JSONResponse({"error": "no such file"}, 404)

    client = TestClient(static_app)
    assert client.get("/static/app.css").headers["x-served-by"] == "covet"
    missing = client.get("/static/missing.css")
    assert (missing.status_code, missing.json()) == (404, {"error": "no such file"})


@pytest.mark.parametrize(
    "path",
    ["/static/..%2fsecret.txt", "/static/%2e%2e/secret.txt", "/static/..%5csecret.txt", "/static/app.css%00"],
)
def test_static_folder_hostile_paths_404(static_app: Covet, path: str) -> None:
    reply = fetch(static_app, path)
    assert reply.status == 404
    assert b"SECRET" not in reply.body


def test_static_folder_route_is_not_in_openapi(static_app: Covet) -> None:
    assert not any(path.startswith("/static") for path in static_app.openapi()["paths"])


def test_static_folder_default_url_path_is_the_folder_name(site: Path) -> None:
    app = Covet(static_folder=site)
    assert app.static_url_path == "/site"
    assert TestClient(app).get("/site/app.css").status_code == 200


def test_static_folder_custom_url_path(site: Path) -> None:
    app = Covet(static_folder=site, static_url_path="/assets/")
    assert app.url_for("static", filename="app.css") == "/assets/app.css"
    assert TestClient(app).get("/assets/app.css").text == "body { color: red }"


def test_static_folder_url_path_must_start_with_slash(site: Path) -> None:
    with pytest.raises(ValueError, match="'/assets'"):
        Covet(static_folder=site, static_url_path="assets")


def test_static_folder_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="static_folder .* is not a directory"):
        Covet(static_folder=tmp_path / "nowhere")


def test_no_static_route_unless_asked() -> None:
    app = Covet()
    assert app.static_folder is None
    assert all(route.name != "static" for route in app.routes)


def test_static_folder_relative_to_the_module_creating_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "project"
    (package / "static").mkdir(parents=True)
    (package / "static" / "site.js").write_text("console.log(1)")
    name = f"static_app_{uuid.uuid4().hex}"
    (package / f"{name}.py").write_text("from covet import Covet\napp = Covet(static_folder='static')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter
    monkeypatch.setattr(sys, "path", [str(package), *sys.path])
    try:
        module = importlib.import_module(name)
        assert module.app.static_folder == os.path.realpath(package / "static")
        assert TestClient(module.app).get("/static/site.js").text == "console.log(1)"
    finally:
        sys.modules.pop(name, None)


def test_static_folder_relative_in_a_subclass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "project"
    (package / "public").mkdir(parents=True)
    name = f"static_sub_{uuid.uuid4().hex}"
    (package / f"{name}.py").write_text(
        "from covet import Covet\n"
        "class MyApp(Covet):\n"
        "    def __init__(self):\n"
        "        super().__init__(title='mine', static_folder='public')\n"
        "app = MyApp()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(package), *sys.path])
    try:
        module = importlib.import_module(name)
        assert module.app.static_folder == os.path.realpath(package / "public")
    finally:
        sys.modules.pop(name, None)
