"""The AsyncAPI 3.0 document of WebSocket routes, validated against the AsyncAPI 3.0.0 JSON Schema."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import msgspec
import pytest

from covet import Blueprint, Covet, Header, WebSocket
from covet.testing import TestClient

# The official AsyncAPI 3.0.0 JSON Schema, from the npm package @asyncapi/specs (fetched once into
# a cache, not kept in this repository).
SPECS_PACKAGE = "@asyncapi/specs@6.11.1"
SCHEMA_FILE = "package/schemas/3.0.0-without-$id.json"


@functools.cache
def _fetch_schema() -> dict[str, Any]:
    cache = (
        Path(os.environ.get("COVET_TEST_CACHE") or Path.home() / ".cache" / "covet-tests")
        / "asyncapi-specs-6.11.1"
    )
    target = cache / SCHEMA_FILE
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(
                f"npm is not installed, so the AsyncAPI JSON Schema ({SPECS_PACKAGE}) cannot be fetched"
            )
        with tempfile.TemporaryDirectory() as scratch:
            packed = subprocess.run(
                [npm, "pack", SPECS_PACKAGE, "--silent", "--pack-destination", scratch],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if packed.returncode != 0:
                pytest.skip(
                    f"npm could not fetch {SPECS_PACKAGE} (registry unreachable?): {packed.stderr.strip()[:200]}"
                )
            tarball = next(Path(scratch).glob("*.tgz"))
            unpacked = Path(scratch) / "unpacked"
            with tarfile.open(tarball) as archive:
                archive.extract(SCHEMA_FILE, unpacked, filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: parallel test workers may fetch at once.
            os.replace(unpacked / SCHEMA_FILE, target)
    return json.loads(target.read_text())  # type: ignore[no-any-return]


class ChatIn(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(max_length=1000)]


class ChatOut(msgspec.Struct):
    name: str
    text: str
    kind: Literal["message", "joined"] = "message"


def chat_app() -> Covet:
    app = Covet(title="Chat", version="2.0.0", description="Rooms.")

    @app.websocket("/chat/<room>", receive=ChatIn, send=ChatOut, summary="A chat room", tags=["chat"])
    async def chat(
        websocket: WebSocket,
        room: str,
        name: str = "anonymous",
        x_client: Annotated[str | None, Header()] = None,
    ):
        """Join a room; every message is sent to everyone in it."""
        await websocket.accept()

    live = Blueprint("live", url_prefix="/live")

    @live.websocket("/ticks", send=dict[str, int])
    async def ticks(websocket: WebSocket):
        await websocket.accept()

    @app.websocket("/hidden", include_in_schema=False)
    async def hidden(websocket: WebSocket):
        await websocket.accept()

    app.register_blueprint(live)
    return app


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(_fetch_schema()).validate(document)


def test_document_is_valid_asyncapi_3_and_describes_the_routes() -> None:
    document = chat_app().asyncapi()
    validate(document)
    assert document["asyncapi"] == "3.0.0"
    assert document["info"] == {"title": "Chat", "version": "2.0.0", "description": "Rooms."}
    assert set(document["channels"]) == {"chat", "live.ticks"}  # include_in_schema=False left out
    chat = document["channels"]["chat"]
    assert chat["address"] == "/chat/{room}"
    assert set(chat["parameters"]) == {"room"}
    assert chat["summary"] == "A chat room"
    assert chat["description"].startswith("Join a room")
    binding = chat["bindings"]["ws"]
    assert binding["query"]["properties"]["name"] == {"type": "string"}
    assert "x-client" in binding["headers"]["properties"]
    assert document["operations"]["chat.receive"]["action"] == "receive"
    assert document["operations"]["chat.receive"]["messages"] == [{"$ref": "#/channels/chat/messages/ChatIn"}]
    assert document["operations"]["chat.send"]["tags"] == [{"name": "chat"}]
    schemas = document["components"]["schemas"]
    assert schemas["ChatIn"]["properties"]["text"]["maxLength"] == 1000
    assert sorted(schemas["ChatOut"]["properties"]["kind"]["enum"]) == ["joined", "message"]
    ticks_message = document["channels"]["live.ticks"]["messages"]
    (key,) = ticks_message
    payload = document["components"]["messages"][key]["payload"]
    assert schemas[payload["$ref"].rsplit("/", 1)[1]] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


def test_an_invalid_document_is_caught_by_the_schema() -> None:
    # The check can fail: an operation with AsyncAPI 2's action word is refused.
    document = chat_app().asyncapi()
    broken = json.loads(json.dumps(document))
    broken["operations"]["chat.receive"]["action"] = "publish"  # AsyncAPI 2's word
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_served_at_asyncapi_json_beside_openapi_and_not_in_openapi() -> None:
    app = chat_app()
    with TestClient(app) as client:
        served = client.get("/asyncapi.json").json()
        assert served == json.loads(json.dumps(app.asyncapi()))
        assert "/asyncapi.json" not in client.get("/openapi.json").json()["paths"]
    plain = Covet()

    @plain.get("/")
    async def index() -> str:
        return "no websockets, no document"

    with TestClient(plain) as client:
        assert client.get("/asyncapi.json").status_code == 404
    quiet = Covet(asyncapi_url=None)

    @quiet.websocket("/ws")
    async def ws_route(websocket: WebSocket):
        await websocket.accept()

    with TestClient(quiet) as client:
        assert client.get("/asyncapi.json").status_code == 404
    validate(quiet.asyncapi())


def test_a_message_type_msgspec_cannot_describe_is_refused_at_registration() -> None:
    app = Covet()
    with pytest.raises(TypeError, match="receive=.*msgspec"):
        app.websocket("/ws", receive=object)


def test_covet_asyncapi_command(tmp_path: Path) -> None:
    (tmp_path / "chat.py").write_text(
        "from covet import Covet, WebSocket\n"
        "import msgspec\n"
        "class Ping(msgspec.Struct):\n    n: int\n"
        "app = Covet(title='Pinger')\n"
        "@app.websocket('/ping', receive=Ping, send=Ping)\n"
        "async def ping(websocket: WebSocket):\n    await websocket.accept()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "covet", "asyncapi", "chat.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(result.stdout)
    validate(document)
    assert document["info"]["title"] == "Pinger"
    assert set(document["operations"]) == {"ping.receive", "ping.send"}
