"""Serve a directory of files: ``StaticFiles`` (an ASGI app to mount) and the app's static route.

The one promise that matters here is that no request reaches a file outside the directory. A path
is refused (404) before it touches the disk when any segment is ``..`` or ``.``, or holds a
backslash, a NUL or a drive letter, or when the raw request path encodes a slash or backslash
(``%2f``, ``%5c``); after that the candidate's real path (symlinks resolved) must still lie inside
the directory's real path, so a symlink pointing outside is a 404 too. Files are sent with
:class:`~covet.responses.FileResponse`, so conditional requests and byte ranges work as there.

Example::

    from covet import Covet
    from covet.staticfiles import StaticFiles

    app = Covet()
    app.mount("/assets", StaticFiles(directory="assets"), name="assets")
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

import anyio.to_thread

from ._locations import request_path_location
from .exceptions import HTTPException
from .requests import Request
from .responses import FileResponse, JSONResponse, RedirectResponse, Response
from .types import Receive, Scope, Send

__all__ = ["StaticFiles"]

_DRIVE = re.compile(r"[A-Za-z]:")
_ENCODED_SEPARATORS = (b"%2f", b"%5c", b"%00")
_WINDOWS = os.name == "nt"


class StaticFiles:
    """An ASGI app serving the files under ``directory`` for GET and HEAD.

    ``html=True`` serves ``index.html`` for a directory (redirecting ``/docs`` to ``/docs/`` first,
    so relative links in the page work) and, for a missing file, ``404.html`` with status 404 when
    the directory has one. ``check_dir=True`` raises at once if ``directory`` is not a directory;
    with ``False`` a missing directory simply answers 404.

    Other methods get ``405`` with ``Allow: GET, HEAD``; anything that is not a regular file inside
    the directory gets ``404`` (``{"detail": "Not Found"}``).
    """

    def __init__(self, directory: str | os.PathLike[str], html: bool = False, check_dir: bool = True) -> None:
        self.directory = os.fspath(directory)
        self.root = os.path.realpath(self.directory)
        self.html = html
        if check_dir and not os.path.isdir(self.root):
            raise RuntimeError(
                f"StaticFiles directory {self.directory!r} is not a directory (it resolves to "
                f"{self.root!r}). Create it, fix the path, or pass check_dir=False to answer 404 until "
                "it exists."
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"StaticFiles serves HTTP requests only, not {scope['type']!r} connections.")
        if scope["method"] not in ("GET", "HEAD"):
            response: Response = JSONResponse({"detail": "Method Not Allowed"}, 405, {"allow": "GET, HEAD"})
        else:
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]  # where we are mounted is not part of the file's name
            try:
                response = await self.get_response(path, scope)
            except HTTPException as exc:
                response = JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)
        await response(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The response for ``path``, relative to the directory ('/'-separated, percent-decoded).

        Raises ``HTTPException(404)`` when there is nothing to serve, so that, used from a route,
        the app's own 404 handling applies.
        """
        parts = _safe_parts(path, scope.get("raw_path"))
        if parts is not None:
            found = await anyio.to_thread.run_sync(self._lookup, parts)
            if found is not None:
                kind, real = found
                if kind == "directory" and not scope["path"].endswith("/"):
                    return RedirectResponse(_slash_location(scope), status_code=307)
                return FileResponse(real)
        if self.html:
            page = await anyio.to_thread.run_sync(self._regular_inside, os.path.join(self.root, "404.html"))
            if page is not None:
                return FileResponse(page, status_code=404)
        raise HTTPException(404)

    def _lookup(self, parts: list[str]) -> tuple[str, str] | None:
        """``("file" | "directory", real path of the file to send)`` or None. Touches the disk."""
        candidate = os.path.join(self.root, *parts)
        real = self._regular_inside(candidate)
        if real is not None:
            return "file", real
        if self.html and _inside(self.root, os.path.realpath(candidate)) and os.path.isdir(candidate):
            index = self._regular_inside(os.path.join(candidate, "index.html"))
            if index is not None:
                return "directory", index
        return None

    def _regular_inside(self, candidate: str) -> str | None:
        """The real path of ``candidate`` if it is a regular file inside the directory, else None."""
        real = os.path.realpath(candidate)
        if not _inside(self.root, real):
            return None
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            return None
        return real if stat.S_ISREG(info.st_mode) else None

    def __repr__(self) -> str:
        return f"StaticFiles(directory={self.directory!r}, html={self.html!r})"


def _safe_parts(path: str, raw_path: Any) -> list[str] | None:
    """The path's segments, or None when any of them could step outside the directory."""
    if "\0" in path or "\\" in path:
        return None
    if isinstance(raw_path, (bytes, bytearray)):
        # The decoded path cannot tell "a%2fb" from "a/b"; the raw one can, and neither is a name.
        lowered = bytes(raw_path).lower()
        if any(encoded in lowered for encoded in _ENCODED_SEPARATORS):
            return None
    parts = []
    for part in path.split("/"):
        if not part:
            continue  # "a//b" is "a/b"
        if part in (".", "..") or _DRIVE.match(part):
            return None
        # Windows ignores trailing dots and spaces ("..." is ".."), and ":" opens alternate streams.
        if _WINDOWS and (":" in part or part.rstrip(". ") in ("", "..")):
            return None
        parts.append(part)
    return parts


def _inside(root: str, real: str) -> bool:
    try:
        return os.path.commonpath([root, real]) == root
    except ValueError:  # different drives on Windows
        return False


def _slash_location(scope: Scope) -> str:
    # The client's own path plus "/", never "//host/" (see covet._locations).
    return request_path_location(scope, "/")


def static_endpoint(files: StaticFiles) -> Any:
    """The handler behind ``Covet(static_folder=...)``: ``GET <static_url_path>/<path:filename>``."""

    async def static(request: Request, filename: str) -> Response:
        return await files.get_response(filename, request.scope)

    return static
