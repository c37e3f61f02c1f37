"""The ``debug=True`` error page: the traceback with source and locals, the request, the route.

Only :func:`covet._debug.server_error_response` calls this, and only when the app's ``debug`` is
true; with ``debug=False`` a 500 says nothing at all. Even in debug, values whose key looks
secret (password, token, secret, key, authorization, cookie, session...) are masked wherever the
page shows a key: locals, dict entries inside them, request headers and query parameters. The
page is ASGI-native and static: no console, no code execution (Werkzeug's debugger is WSGI-only,
and its console is a remote shell).
"""

from __future__ import annotations

import html
import itertools
import linecache
import os
import re
import reprlib
import sys
import sysconfig
import traceback
from collections.abc import Mapping
from types import FrameType, TracebackType
from typing import Any

from ..types import Scope

__all__ = ["MASK", "is_secret_key", "render_html", "render_text"]

#: What a secret-looking value is shown as (its length is not revealed).
MASK = "********"

_WORDS = r"pass|pwd|token|secret|key|auth|cookie|session|csrf|credential|signature|private"
_SECRET = re.compile(_WORDS, re.I)
# A secret-looking name inside text: a whole run of name characters (never a part of one) that
# contains one of the words. Anchored at the run's start and bounded, the look for the word is
# linear in the text (an unanchored [\w.-]*word[\w.-]* backtracks quadratically over long runs).
_NAME = rf"(?=[\w.-]{{0,200}}?(?:{_WORDS}))[\w.-]{{1,200}}"
_QUOTED = r"""(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")"""
_FRESH = r"(?!\*{8})"  # a value not masked by an earlier pattern
# Values inside text, in the shapes reprs and requests write them; each keeps its name and
# separator and loses the value.
_IN_TEXT = [
    # 'password': 'x' (a dict's repr), "password":"x" (JSON, in a str or bytes), ('authorization', 'x')
    re.compile(rf"""(?P<keep>(['"]){_NAME}\2\s*[:,]\s*b?){_FRESH}{_QUOTED}""", re.I),
    # password='x' (a dataclass, msgspec.Struct or namedtuple repr; keyword arguments)
    re.compile(rf"(?P<keep>(?<![\w.-]){_NAME}=b?){_FRESH}{_QUOTED}", re.I),
    # 'password': 12345 (a value that is not a string)
    re.compile(rf"""(?P<keep>(['"]){_NAME}\2\s*:\s*){_FRESH}[^\s,}}\]'"][^,}}\]]*""", re.I),
    # password=x in a query string, a Cookie header, a DSN's options
    re.compile(rf"""(?P<keep>(?<![\w.-]){_NAME}=){_FRESH}(?P<value>[^&;,\s'"]+)""", re.I),
    # the password of a URL: postgres://user:password@host/db, whatever variable holds it
    re.compile(r"""(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]{0,30}://[^:/@\s'"]{0,256}:)(?!\*{8})[^@\s'"/]{1,256}(?=@)"""),
    # Authorization credentials (Bearer, Basic, Digest, Token) that look like one: a word with
    # an upper-case letter, a digit or a symbol, so that "token provided" in prose stays
    re.compile(r"(?P<keep>\b(?:[Bb]earer|[Bb]asic|[Dd]igest|[Tt]oken)\s+)(?=[\w~+/=.-]*[A-Z0-9~+/=.-])[\w~+/=.-]{8,}"),
]


def _masked(match: re.Match[str]) -> str:
    # Closing brackets at the end of an unquoted value close the repr around the pair: kept.
    value = match.groupdict().get("value") or ""
    return match["keep"] + MASK + value[len(value.rstrip(")]}")) :]


def _mask_text(text: str) -> str:
    """``text`` with every secret-named value in it (and URL passwords and credentials) masked."""
    for pattern in _IN_TEXT:
        text = pattern.sub(_masked, text)
    return text


_CONTEXT = 5  # source lines shown either side of the failing line
_MAX_FRAMES = 100  # a deep recursion shows its first and last frames
_MAX_LOCALS = 100
_MAX_CHAIN = 5

_repr = reprlib.Repr()
_repr.maxstring = 240
_repr.maxother = 240
_repr.maxlevel = 3
_repr.maxdict = _repr.maxlist = _repr.maxtuple = _repr.maxset = 20

_LIBRARY_ROOTS = tuple(
    {
        os.path.normcase(os.path.realpath(path)) + os.sep
        for name in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(name))
    }
    | {os.path.normcase(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))) + os.sep}
)


def is_secret_key(key: object) -> bool:
    """Whether a variable, dict key, header or parameter named ``key`` likely holds a secret."""
    return isinstance(key, (str, bytes)) and _SECRET.search(key if isinstance(key, str) else key.decode("latin-1")) is not None


def _safe_repr(value: Any, depth: int = 0) -> str:
    """``repr`` bounded in size, with dict entries under secret-looking keys masked."""
    try:
        if isinstance(value, Mapping) and depth < 3:
            # Any mapping (covet's Headers, a MultiDict), not only dicts: entries under secret keys masked.
            items = list(itertools.islice(value.items(), 20))  # a lazy mapping is not read whole
            shown = ", ".join(
                f"{_safe_repr(k, depth + 1)}: {MASK if is_secret_key(k) else _safe_repr(v, depth + 1)}" for k, v in items
            )
            shown = "{" + shown + (", ..." if len(value) > 20 else "") + "}"
            return shown if isinstance(value, dict) else f"{type(value).__name__}({shown})"
        if isinstance(value, tuple) and len(value) == 2 and is_secret_key(value[0]):
            # A (name, value) pair: a header in a scope, a dict item.
            return f"({_safe_repr(value[0], depth + 1)}, {MASK})"
        if isinstance(value, (list, tuple)) and depth < 3:
            inner = ", ".join(_safe_repr(v, depth + 1) for v in value[:20]) + (", ..." if len(value) > 20 else "")
            return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
        # Deeper levels, objects' reprs, str and bytes: masked in the text.
        return _mask_text(_repr.repr(value))
    except Exception as exc:  # a broken __repr__ must not break the error page
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):
        return True
    return os.path.normcase(os.path.realpath(filename)).startswith(_LIBRARY_ROOTS)


class _Frame:
    __slots__ = ("filename", "lineno", "function", "library", "source", "first_line", "locals")

    def __init__(self, frame: FrameType, lineno: int) -> None:
        code = frame.f_code
        self.filename = code.co_filename
        self.lineno = lineno
        self.function = getattr(code, "co_qualname", code.co_name)
        self.library = _is_library(self.filename)
        lines = linecache.getlines(self.filename, frame.f_globals)
        start = max(lineno - 1 - _CONTEXT, 0)
        self.first_line = start + 1
        self.source = [line.rstrip("\n") for line in lines[start : lineno + _CONTEXT]]
        items = list(frame.f_locals.items())[:_MAX_LOCALS]
        self.locals = [(name, MASK if is_secret_key(name) else _safe_repr(value)) for name, value in items]


def _frames(tb: TracebackType | None) -> list[_Frame]:
    walked = list(traceback.walk_tb(tb))
    if len(walked) > _MAX_FRAMES:
        walked = walked[: _MAX_FRAMES // 2] + walked[-_MAX_FRAMES // 2 :]
    return [_Frame(frame, lineno) for frame, lineno in walked]


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exception and its causes, oldest first, each with the sentence joining it to the next."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            link = "The above exception was the direct cause of the following exception:"
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = "During handling of the above exception, another exception occurred:"
            current = current.__context__
        else:
            current = None
    chain.reverse()
    # Each link sentence belongs before the exception that follows it.
    return [(error, chain[index + 1][1] if index + 1 < len(chain) else "") for index, (error, _) in enumerate(chain)]


def _request_rows(scope: Scope) -> list[tuple[str, str]]:
    rows = [("method", str(scope.get("method", ""))), ("path", str(scope.get("path", "")))]
    client = scope.get("client")
    if client:
        rows.append(("client", f"{client[0]}:{client[1]}"))
    query = scope.get("query_string", b"").decode("latin-1")
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        rows.append((f"query {name}", MASK if is_secret_key(name) else _mask_text(_shortened(value))))
    for key, value in scope.get("headers", ()):
        name = key.decode("latin-1")
        rows.append((f"header {name}", MASK if is_secret_key(name) else _mask_text(_shortened(value.decode("latin-1")))))
    return rows


def _shortened(value: str, limit: int = 2000) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _route_rows(scope: Scope) -> list[tuple[str, str]]:
    route = scope.get("route")
    if route is None:
        return [("route", "no route matched")]
    endpoint = route.endpoint
    handler = f"{getattr(endpoint, '__module__', '?')}.{getattr(endpoint, '__qualname__', repr(endpoint))}"
    rows = [
        ("path", route.path),
        ("name", route.name),
        ("methods", ", ".join(sorted(route.methods))),
        ("handler", handler),
    ]
    for name, value in (scope.get("path_params") or {}).items():
        rows.append((f"param {name}", MASK if is_secret_key(name) else _safe_repr(value)))
    return rows


def render_text(scope: Scope, exc: BaseException) -> str:
    """The page as plain text (what the copy button copies): masked the same way."""
    out: list[str] = []
    for error, link in _chain(exc):
        out.append("Traceback (most recent call last):")
        for frame in _frames(error.__traceback__):
            out.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}')
            index = frame.lineno - frame.first_line
            if 0 <= index < len(frame.source):
                out.append(f"    {frame.source[index].strip()}")
            if not frame.library:
                out.extend(f"      {name} = {value}" for name, value in frame.locals)
        out.append("".join(traceback.format_exception_only(type(error), error)).rstrip())
        if link:
            out += ["", link, ""]
    out += ["", "Request:"] + [f"  {name}: {value}" for name, value in _request_rows(scope)]
    out += ["", "Route:"] + [f"  {name}: {value}" for name, value in _route_rows(scope)]
    out += ["", f"Python {sys.version.split()[0]}"]
    return "\n".join(out) + "\n"


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>" for name, value in rows)
    return f"<table>{cells}</table>"


def _frame_html(frame: _Frame) -> str:
    lines = []
    for offset, line in enumerate(frame.source):
        number = frame.first_line + offset
        mark = " class='current'" if number == frame.lineno else ""
        lines.append(f"<span{mark}><i>{number:>5}</i> {html.escape(line)}</span>")
    head = (
        f"<summary><b>{html.escape(frame.function)}</b> "
        f"<code>{html.escape(frame.filename)}:{frame.lineno}</code>"
        f"{' <em>library</em>' if frame.library else ''}</summary>"
    )
    source = f"<pre class='source'>{chr(10).join(lines)}</pre>" if lines else ""
    local_rows = _table(frame.locals) if frame.locals else "<p>No local variables.</p>"
    kind = "frame library" if frame.library else "frame app"
    # App frames are open; library frames (the standard library, installed packages, covet) closed.
    return f"<details class='{kind}'{'' if frame.library else ' open'}>{head}{source}<div class='locals'>{local_rows}</div></details>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}h1{color:#b00}"
    "pre{background:#f6f6f6;padding:.5em;overflow:auto;margin:.3em 0}"
    ".current{background:#ffe08a;display:block}i{color:#999;font-style:normal}"
    "details.frame{border:1px solid #ddd;margin:.4em 0;padding:.3em .6em}"
    "details.library summary{color:#777}table{border-collapse:collapse;margin:.3em 0}"
    "th,td{border:1px solid #eee;padding:.15em .5em;text-align:left;vertical-align:top;font-family:monospace}"
    ".warning{background:#fee;padding:.5em;border:1px solid #f99}"
)

_SCRIPT = """
document.getElementById('copy').addEventListener('click', async function () {
  var text = document.getElementById('traceback-text').textContent;
  var button = this;
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {
    var area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove();
  }
  button.textContent = 'Copied';
});
"""


def render_html(scope: Scope, exc: BaseException) -> str:
    """The debug page for ``exc`` raised while serving ``scope`` (HTML, every value escaped)."""
    title = html.escape(f"{type(exc).__name__}: {exc}")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>500 ",
        title,
        f"</title><style>{_STYLE}</style></head><body>",
        f"<h1>Internal Server Error</h1><h2 id='exception'>{title}</h2>",
        "<p class='warning'>covet is in debug mode (debug=True): this page shows source code and "
        "local variables. Never run it that way in production.</p>",
        "<button id='copy' type='button'>Copy as text</button>",
        "<h3>Traceback (most recent call last)</h3>",
    ]
    for error, link in _chain(exc):
        parts.extend(_frame_html(frame) for frame in _frames(error.__traceback__))
        parts.append(f"<pre class='exception'>{html.escape(''.join(traceback.format_exception_only(type(error), error)))}</pre>")
        if link:
            parts.append(f"<p>{html.escape(link)}</p>")
    parts += ["<h3>Request</h3>", _table(_request_rows(scope)), "<h3>Route</h3>", _table(_route_rows(scope))]
    parts.append(f"<pre id='traceback-text' hidden>{html.escape(render_text(scope, exc))}</pre>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "".join(parts)
