"""Where /docs and /redoc get their scripts: explicit URLs, the covet[docs] bundle, else the CDN."""

from __future__ import annotations

import pytest

import covet._docs_assets as docs_assets
import covet.openapi
from covet import Covet
from covet._docs_assets import REDOC_CDN, SWAGGER_UI_CDN
from covet.testing import TestClient


def test_installed_bundle_is_served_by_covet_itself() -> None:
    pytest.importorskip("openapi_ui_bundles", reason="covet[docs] is not installed")
    client = TestClient(Covet(title="Shop"))
    docs, redoc = client.get("/docs").text, client.get("/redoc").text
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in docs and "cdn." not in docs
    assert 'src="/redoc/assets/redoc.standalone.js"' in redoc and "cdn." not in redoc
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text[:2000]
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/redoc/assets/redoc.standalone.js").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/docs/assets/index.html", "/docs/assets/..%2f__init__.py", "/docs/assets/%2e%2e", "/redoc/assets/swagger-ui.css"],
)
def test_asset_route_serves_only_the_listed_files(path: str) -> None:
    pytest.importorskip("openapi_ui_bundles", reason="covet[docs] is not installed")
    assert TestClient(Covet()).get(path).status_code == 404


def test_without_the_bundle_pages_use_the_cdn_and_carry_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(covet.openapi, "local_bundles", lambda: None)
    client = TestClient(Covet())
    docs, redoc = client.get("/docs").text, client.get("/redoc").text
    assert f'src="{SWAGGER_UI_CDN}/swagger-ui-bundle.js"' in docs
    assert f'src="{REDOC_CDN}"' in redoc
    for page in (docs, redoc):
        assert "pip install &#x27;covet[docs]&#x27;" in page  # shown when the script does not load
        assert 'id="covet-docs-error"' in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404


def test_explicit_asset_urls_win_over_the_bundle() -> None:
    client = TestClient(Covet(swagger_ui_url="/static/swagger", redoc_js_url="/static/redoc.js"))
    assert 'src="/static/swagger/swagger-ui-bundle.js"' in client.get("/docs").text
    assert 'src="/static/redoc.js"' in client.get("/redoc").text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404


def test_local_bundles_is_none_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openapi_ui_bundles", None)  # as if not installed
    assert docs_assets.local_bundles() is None
