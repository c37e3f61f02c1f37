"""The ``Host`` header's grammar: which values may become the authority of an absolute URL.

``request.url``, ``request.base_url`` and ``request.url_for()`` put the Host header into absolute
URLs (password-reset links, redirects). A value outside ``host[:port]`` would let a client steer
the path or query of those URLs, so they refuse it with a 400 instead. This checks the syntax
only; which hosts an app answers for is ``TrustedHostMiddleware``'s job.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["MAX_HOST_LENGTH", "is_valid_host"]

#: Longest Host value accepted, in characters (a DNS name has at most 253, a port 5).
MAX_HOST_LENGTH = 1024

# RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ), which also covers
# IPv4address; IP-literal = "[" ( IPv6address / IPvFuture ) "]". §3.2.3: port = *DIGIT.
_REG_NAME = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
_IP_LITERAL = r"\[(?P<literal>[^\[\]]*)\]"
_HOST = re.compile(rf"(?:{_REG_NAME}|{_IP_LITERAL})(?::[0-9]*)?")
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def is_valid_host(value: str) -> bool:
    """Whether ``value`` is a valid ``Host`` header: ``uri-host [ ":" port ]`` (RFC 9110 §7.2).

    ``uri-host`` is RFC 3986's host: a registered name or IPv4 address (``example.com``,
    ``127.0.0.1``), or an IPv6 address or IPvFuture in brackets (``[::1]``). An empty host is
    refused, as RFC 9110 §4.2.1 requires for ``http`` URIs, and so is anything longer than
    :data:`MAX_HOST_LENGTH`. Runs in time linear in ``len(value)``.

    Example::

        is_valid_host("example.com:8000")   # True
        is_valid_host("[::1]:8000")         # True
        is_valid_host("example.com/x?y=")   # False: a path and query are not a host
    """
    if len(value) > MAX_HOST_LENGTH:
        return False
    match = _HOST.fullmatch(value)
    if match is None:
        return False
    literal = match.group("literal")
    if literal is None:
        return True
    if _IP_FUTURE.fullmatch(literal):
        return True
    if "%" in literal:  # a zone identifier (RFC 6874) has no place in a Host header
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True
