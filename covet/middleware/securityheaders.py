"""Browser security headers: HSTS, nosniff, framing, referrer policy, and a CSP with nonces."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "csp_nonce"]

_NONCE_KEY = "covet.csp_nonce"
_NONCE_DIRECTIVES = ("script-src", "style-src")


def csp_nonce(request: Any) -> str:
    """This request's CSP nonce, for ``<script nonce="...">`` (also the template global ``csp_nonce()``).

    Made on first use, one per request, 128 random bits. Raises ``RuntimeError`` when
    :class:`SecurityHeadersMiddleware` with ``csp_nonce=True`` is not installed, since a nonce
    the policy does not name would block the script it was meant to allow.
    """
    scope = request.scope
    nonce = scope.get(_NONCE_KEY)
    if nonce is None:
        if _NONCE_KEY not in scope:
            raise RuntimeError(
                "csp_nonce() needs SecurityHeadersMiddleware(..., content_security_policy={...}, csp_nonce=True)."
            )
        nonce = scope[_NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce  # type: ignore[no-any-return]


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response that does not set them itself.

    Defaults (each one can be turned off with ``None`` or ``False``):

    - ``Strict-Transport-Security: max-age=31536000; includeSubDomains`` (``hsts_max_age``,
      ``hsts_include_subdomains``, ``hsts_preload``), only on ``https`` responses as RFC 6797 §7.2
      requires;
    - ``X-Content-Type-Options: nosniff``;
    - ``X-Frame-Options: DENY`` (``frame_options``: ``"DENY"``, ``"SAMEORIGIN"`` or None); with a
      CSP that has no ``frame-ancestors``, ``frame-ancestors 'none'`` (or ``'self'``) is added too;
    - ``Referrer-Policy: strict-origin-when-cross-origin``;
    - ``Cross-Origin-Opener-Policy: same-origin``.

    ``content_security_policy``: a policy string, or a mapping of directive to sources
    (``{"default-src": "'self'", "img-src": ["'self'", "data:"]}``); none by default.
    ``csp_nonce=True`` adds a fresh ``'nonce-...'`` to ``script-src`` and ``style-src`` on each
    response whose request asked for one with :func:`csp_nonce` (templates call ``csp_nonce()``).
    ``permissions_policy``: an optional ``Permissions-Policy`` value. A header the response
    already has is left alone, so one route can loosen its own policy. Example::

        app.add_middleware(SecurityHeadersMiddleware,
                           content_security_policy={"default-src": "'self'"}, csp_nonce=True)
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts_max_age: int | None = 31_536_000,
        hsts_include_subdomains: bool = True,
        hsts_preload: bool = False,
        content_type_options: bool = True,
        frame_options: str | None = "DENY",
        referrer_policy: str | None = "strict-origin-when-cross-origin",
        cross_origin_opener_policy: str | None = "same-origin",
        content_security_policy: str | Mapping[str, str | Sequence[str]] | None = None,
        csp_nonce: bool = False,
        permissions_policy: str | None = None,
    ) -> None:
        self.app = app
        if frame_options is not None and frame_options.upper() not in ("DENY", "SAMEORIGIN"):
            raise ValueError(f"frame_options must be 'DENY', 'SAMEORIGIN' or None, got {frame_options!r}.")
        headers: list[tuple[bytes, bytes]] = []
        if content_type_options:
            headers.append((b"x-content-type-options", b"nosniff"))
        if frame_options is not None:
            headers.append((b"x-frame-options", frame_options.upper().encode()))
        if referrer_policy:
            headers.append((b"referrer-policy", referrer_policy.encode("latin-1")))
        if cross_origin_opener_policy:
            headers.append((b"cross-origin-opener-policy", cross_origin_opener_policy.encode("latin-1")))
        if permissions_policy:
            headers.append((b"permissions-policy", permissions_policy.encode("latin-1")))
        self.directives: dict[str, list[str]] | None = None
        if content_security_policy is not None:
            self.directives = _directives(content_security_policy)
            if frame_options is not None and "frame-ancestors" not in self.directives:
                self.directives["frame-ancestors"] = ["'none'" if frame_options.upper() == "DENY" else "'self'"]
            if not csp_nonce:
                headers.append((b"content-security-policy", _policy(self.directives).encode("latin-1")))
        elif csp_nonce:
            raise ValueError("csp_nonce=True needs a content_security_policy= to put the nonce in.")
        self.csp_nonce = csp_nonce
        self.headers = headers
        self.names = frozenset(name for name, _ in headers) | {b"content-security-policy"}
        self.hsts: tuple[bytes, bytes] | None = None
        if hsts_max_age is not None:
            value = f"max-age={int(hsts_max_age)}"
            if hsts_include_subdomains:
                value += "; includeSubDomains"
            if hsts_preload:
                value += "; preload"
            self.hsts = (b"strict-transport-security", value.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.csp_nonce:
            scope[_NONCE_KEY] = None  # made by csp_nonce() on first use

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", ())}
                extra = [item for item in self.headers if item[0] not in present]
                if self.csp_nonce and b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", self._nonce_policy(scope.get(_NONCE_KEY))))
                if self.hsts is not None and scope.get("scheme") == "https" and self.hsts[0] not in present:
                    extra.append(self.hsts)
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _nonce_policy(self, nonce: str | None) -> bytes:
        assert self.directives is not None
        if nonce is None:
            return _policy(self.directives).encode("latin-1")
        directives = {name: list(sources) for name, sources in self.directives.items()}
        for name in _NONCE_DIRECTIVES:
            base = directives.get(name, directives.get("default-src"))
            if base is not None:
                directives[name] = [*base, f"'nonce-{nonce}'"]
        return _policy(directives).encode("latin-1")


def _directives(policy: str | Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    if isinstance(policy, str):
        parsed: dict[str, list[str]] = {}
        for part in policy.split(";"):
            words = part.split()
            if words:
                parsed[words[0].lower()] = words[1:]
        return parsed
    return {name.lower(): [sources] if isinstance(sources, str) else list(sources) for name, sources in policy.items()}


def _policy(directives: Mapping[str, Sequence[str]]) -> str:
    text = "; ".join(" ".join([name, *sources]) for name, sources in directives.items())
    if "\r" in text or "\n" in text:
        raise ValueError("A Content-Security-Policy cannot contain CR or LF.")
    return text
