"""Small helpers the middleware share: raw ASGI headers, plain responses, a replayable body.

Middleware work on the raw ``[(name, value), ...]`` byte pairs of ASGI messages (names
lower-case, as ASGI requires of servers and covet's responses), so no header object is made on
the request path.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._parsing import ParseError, parse_cookie_header

# The first value of a header (lower-case bytes name), or None: the parser twin's, compiled when
# the speedups are built.
from .._parsing import find_header as header
from ..types import Message, Receive, Scope, Send

__all__ = [
    "declared_length",
    "header",
    "header_values",
    "request_cookie",
    "add_vary",
    "plain_response",
    "buffer_body",
    "BodyTooLarge",
]


def declared_length(value: bytes | None) -> int | None:
    """A ``Content-Length`` value as a number of bytes, None when absent or not digits.

    Leading zeros are valid (RFC 9110 §8.6: ``1*DIGIT``). Past 18 significant digits the value is
    returned as 10**18, larger than any limit: ``int()`` of over 4300 digits raises ValueError.
    """
    if value is None or not value.isdigit():
        return None
    digits = value.lstrip(b"0")
    return int(digits or b"0") if len(digits) <= 18 else _HUGE


_HUGE = 10**18


def header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """Every value of header ``name``, in order."""
    return [value for key, value in headers if key == name]


def request_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` sent with the request (the first non-empty one), or None.

    None too when the ``Cookie`` header holding it cannot be parsed (RFC 6265 §5.4): a cookie that
    middleware signs is then treated as absent, never as an error.
    """
    key = name.encode("latin-1")
    for value in header_values(scope["headers"], b"cookie"):
        if key in value:
            try:
                found = parse_cookie_header(value.decode("latin-1")).get(name)
            except ParseError:
                return None
            if found:
                return found
    return None


def add_vary(headers: list[tuple[bytes, bytes]], field: bytes) -> None:
    """Add ``field`` to the response's ``Vary`` (RFC 9110 §12.5.5), keeping the app's own values.

    Several ``Vary`` headers are merged into one; ``Vary: *`` already covers everything.
    """
    existing: list[bytes] = []
    kept: list[tuple[bytes, bytes]] = []
    for key, value in headers:
        if key == b"vary":
            existing += [item.strip() for item in value.split(b",") if item.strip()]
        else:
            kept.append((key, value))
    if not existing:
        headers.append((b"vary", field))
        return
    lowered = {item.lower() for item in existing}
    if field.lower() not in lowered and b"*" not in lowered:
        existing.append(field)
    headers[:] = kept
    headers.append((b"vary", b", ".join(existing)))


async def plain_response(
    send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a small ``text/plain`` response (a refusal made by a middleware)."""
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("latin-1")),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The request body is larger than the limit :func:`buffer_body` was given."""


async def buffer_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """Read the whole request body, and a ``receive`` that hands the same body to the app.

    For middleware that must look at the body (a CSRF form field, a signature) without taking it
    from the handler: the app reads the body through the returned ``receive`` exactly as it would
    have. A ``Content-Length`` over ``limit`` (bytes) raises :class:`BodyTooLarge` before anything
    is read, a body growing past it as soon as it does, so memory stays bounded. A disconnect is
    passed on to the app as it came. Example::

        body, receive = await buffer_body(scope, receive, 1_048_576)
        await app(scope, receive, send)
    """
    length = declared_length(header(scope["headers"], b"content-length"))
    if length is not None and length > limit:
        raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
    chunks = bytearray()
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # http.disconnect: the app sees it in its turn
            break
        chunks += message.get("body", b"")
        if len(chunks) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        if not message.get("more_body", False):
            break
    body = bytes(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            if pending:
                return pending.pop()
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
