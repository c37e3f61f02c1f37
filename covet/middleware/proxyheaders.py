"""Take the client address, scheme and host from a trusted reverse proxy's headers.

One header family is read, the one the proxy sets (``mode``): ``X-Forwarded-For`` / ``-Proto`` /
``-Host`` by default, or ``Forwarded`` (RFC 7239). Never "whichever is present": a proxy that
appends to ``X-Forwarded-For`` passes a ``Forwarded`` header the client wrote through untouched.
Headers are believed only when the direct peer is a listed proxy; the client is the rightmost
address not itself a trusted proxy, so addresses a client writes into the header are never taken.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from ..types import ASGIApp, Receive, Scope, Send
from ._asgi import header_values
from .trustedhost import host_name

__all__ = ["ProxyHeadersMiddleware"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_HOPS = 64  # addresses looked at per request: a header of thousands cannot cost more


class ProxyHeadersMiddleware:
    """Fix ``scope["client"]``, ``scope["scheme"]`` and the ``Host`` header behind reverse proxies.

    ``trusted_hosts``: the proxies' addresses or networks (``"10.0.0.0/8"``, ``"::1"``), or ``"*"``
    to trust any peer (only when nothing but the proxy can reach the app). Requests from other
    peers are passed on untouched, their forwarding headers ignored.

    A peer on a Unix socket (no address) is trusted only under ``"*"``.

    ``mode``: ``"x-forwarded"`` (the default; what nginx, HAProxy and most load balancers set) or
    ``"forwarded"`` (RFC 7239). Only that family is read.

    From a trusted peer: the client is the rightmost ``X-Forwarded-For`` / ``Forwarded: for=``
    address that is not a trusted proxy (RFC 7239 §7.4 on why the leftmost can be forged); the
    scheme (``http``/``https``, ``ws``/``wss`` for WebSockets) comes from the rightmost
    ``X-Forwarded-Proto`` value or the same ``Forwarded`` hop. A scheme other than http/https is
    ignored. So redirects and ``request.url_for`` behind a TLS proxy stay ``https``.

    ``trust_host=True`` also takes the host (``X-Forwarded-Host`` or ``Forwarded: host=``), when
    it is ``host[:port]``. Off by default: many proxies pass a client's ``X-Forwarded-Host``
    through unchanged, and a host the client picks ends up in password-reset links (configure the
    proxy to send the ``Host`` header instead, e.g. nginx ``proxy_set_header Host $host``). Example::

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=["127.0.0.1", "10.0.0.0/8"])
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted_hosts: Sequence[str] | str = ("127.0.0.1", "::1"),
        *,
        mode: str = "x-forwarded",
        trust_host: bool = False,
    ) -> None:
        if mode not in ("x-forwarded", "forwarded"):
            raise ValueError(
                f"ProxyHeadersMiddleware mode is 'x-forwarded' (X-Forwarded-For/-Proto/-Host) or "
                f"'forwarded' (RFC 7239), the headers your proxy sets; got {mode!r}."
            )
        self.app = app
        self.mode = mode
        self.trust_host = trust_host
        hosts = [trusted_hosts] if isinstance(trusted_hosts, str) else list(trusted_hosts)
        self.trust_all = "*" in hosts
        networks: list[_Network] = []
        for entry in hosts:
            if entry == "*":
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"ProxyHeadersMiddleware trusted_hosts takes IP addresses or networks such as "
                    f"'127.0.0.1' or '10.0.0.0/8' (or '*'), got {entry!r}."
                ) from None
        self.networks = tuple(networks)
        self.addresses = frozenset(str(net.network_address) for net in networks if net.num_addresses == 1)

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` (an IP address as text) is a trusted proxy."""
        if self.trust_all or address in self.addresses:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if self.trust_all if client is None else self.is_trusted(client[0]):
                if self.mode == "forwarded":
                    self._apply_forwarded(scope, header_values(scope["headers"], b"forwarded"))
                else:
                    self._apply_x_forwarded(scope)
        await self.app(scope, receive, send)

    def _apply_forwarded(self, scope: Scope, values: list[bytes]) -> None:
        elements = [item for value in values for item in value.decode("latin-1").split(",")][-_MAX_HOPS:]
        chosen: dict[str, str] = {}
        for element in reversed(elements):
            chosen = _forwarded_pairs(element)
            address = _node_address(chosen.get("for", ""))
            if address is None or not self.is_trusted(address):
                break
        address = _node_address(chosen.get("for", ""))
        if address is not None:
            scope["client"] = (address, 0)
        self._set_scheme(scope, chosen.get("proto"))
        if self.trust_host:
            self._set_host(scope, chosen.get("host"))

    def _apply_x_forwarded(self, scope: Scope) -> None:
        headers = scope["headers"]
        chain = [
            item.strip()
            for value in header_values(headers, b"x-forwarded-for")
            for item in value.decode("latin-1").split(",")
        ][-_MAX_HOPS:]
        client = None
        for item in reversed(chain):
            address = _node_address(item)
            if address is None:
                break
            client = address
            if not self.is_trusted(address):
                break
        if client is not None:
            scope["client"] = (client, 0)
        self._set_scheme(scope, _last(header_values(headers, b"x-forwarded-proto")))
        if self.trust_host:
            self._set_host(scope, _last(header_values(headers, b"x-forwarded-host")))

    @staticmethod
    def _set_scheme(scope: Scope, proto: str | None) -> None:
        if proto is None:
            return
        proto = proto.strip().lower()
        if proto not in ("http", "https"):
            return
        if scope["type"] == "websocket":
            proto = "wss" if proto == "https" else "ws"
        scope["scheme"] = proto

    @staticmethod
    def _set_host(scope: Scope, host: str | None) -> None:
        if host is None:
            return
        host = host.strip()
        if host_name(host) is None:
            return
        encoded = host.encode("latin-1")
        scope["headers"] = [item for item in scope["headers"] if item[0] != b"host"] + [(b"host", encoded)]


def _last(values: list[bytes]) -> str | None:
    if not values:
        return None
    return values[-1].decode("latin-1").rpartition(",")[2].strip() or None


def _forwarded_pairs(element: str) -> dict[str, str]:
    """``for=...;proto=...`` of one ``Forwarded`` element, names lower-cased, quotes removed."""
    pairs: dict[str, str] = {}
    for pair in element.split(";"):
        name, sep, value = pair.partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            pairs.setdefault(name.strip().lower(), value)
    return pairs


def _node_address(node: str) -> str | None:
    """The IP address of a ``for=`` node or X-Forwarded-For item (port dropped), or None."""
    node = node.strip()
    if node.startswith("["):
        node = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:
        node = node.partition(":")[0]  # IPv4 with a port
    # An IPv6 zone ("fe80::1%eth0") names an interface of the proxy's host, meaningless here, and
    # ipaddress accepts any text in it (spaces and quotes included): the address goes without it.
    node = node.partition("%")[0]
    try:
        return str(ipaddress.ip_address(node))
    except ValueError:
        return None  # "unknown", an obfuscated name ("_hidden"), or garbage
