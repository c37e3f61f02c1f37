"""The template globals csrf_token() and csp_nonce(), and HTTPS redirects for IPv6 hosts."""

from __future__ import annotations

from pathlib import Path

from covet import Covet, render_template
from covet.middleware import CSRFMiddleware, HTTPSRedirectMiddleware, SecurityHeadersMiddleware
from covet.testing import TestClient


def test_templates_get_csrf_token_and_csp_nonce(tmp_path: Path) -> None:
    (tmp_path / "form.html").write_text(
        '<script nonce="{{ csp_nonce() }}"></script><input name="csrf_token" value="{{ csrf_token() }}">'
    )
    app = Covet()
    app.config["TEMPLATE_FOLDER"] = str(tmp_path)

    @app.get("/form")
    def form() -> str:
        return render_template("form.html")

    @app.post("/submit")
    async def submit() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(CSRFMiddleware, secret_key="t" * 32)
    app.add_middleware(SecurityHeadersMiddleware, content_security_policy="default-src 'self'", csp_nonce=True)
    client = TestClient(app)
    r = client.get("/form")
    nonce = r.text.split('nonce="')[1].split('"')[0]
    token = r.text.split('value="')[1].split('"')[0]
    assert f"'nonce-{nonce}'" in r.headers["content-security-policy"]
    assert client.post("/submit", data={"csrf_token": token}).json() == {"ok": True}


def test_https_redirect_ipv6_host_and_port() -> None:
    app = Covet()
    app.get("/")(lambda: {})
    app.add_middleware(HTTPSRedirectMiddleware)
    client = TestClient(app, follow_redirects=False)
    assert client.get("/", headers={"host": "[::1]:8080"}).headers["location"] == "https://[::1]:8080/"
    assert client.get("/", headers={"host": "[::1]"}).headers["location"] == "https://[::1]/"
    assert client.get("/a b", headers={"host": "x.test"}).headers["location"] == "https://x.test/a%20b"
