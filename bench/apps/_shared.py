"""The route table every app registers, so that no framework gets an easier router.

Registration order matters for routers that scan a list (Starlette, FastAPI): the two
TechEmpower-style routes come first, then the decoys, then the parameter route, which is
therefore the worst case for a linear scan and the interesting case for a compiled matcher.
"""

from __future__ import annotations

__all__ = [
    "DECOY_BODY",
    "DYNAMIC_DECOYS",
    "MESSAGE",
    "STATIC_DECOYS",
    "dynamic_decoy_prefixes",
    "static_decoy_paths",
]

MESSAGE = "Hello, World!"
DECOY_BODY = "decoy"

# 100 dynamic decoys shaped /decoy{i}/{x}/items/{y}, plus static decoys /pages/page{i}.
DYNAMIC_DECOYS = 100
STATIC_DECOYS = 20


def dynamic_decoy_prefixes() -> list[str]:
    """Return ``/decoy{i}`` per dynamic decoy; apps add ``/{x}/items/{y}`` in their syntax."""
    return [f"/decoy{i}" for i in range(DYNAMIC_DECOYS)]


def static_decoy_paths() -> list[str]:
    """Return the static decoy paths, identical in every framework's syntax."""
    return [f"/pages/page{i}" for i in range(STATIC_DECOYS)]
