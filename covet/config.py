"""``app.config``: a dict with Flask's loaders."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Config"]


class Config(dict[str, Any]):
    """Settings of one app; a plain dict with helpers to load it.

    Example::

        app.config.from_prefixed_env("COVET")   # COVET_SECRET_KEY=... -> app.config["SECRET_KEY"]
    """

    def from_prefixed_env(self, prefix: str = "COVET", *, loads: Callable[[str], Any] = json.loads) -> bool:
        """Load every ``{prefix}_*`` environment variable, prefix removed.

        Values are parsed with ``loads`` (JSON: ``"8080"`` becomes ``8080``, ``"true"`` ``True``) and
        kept as strings when that fails. A double underscore nests: ``COVET_DB__HOST`` sets
        ``config["DB"]["HOST"]``.
        """
        start = f"{prefix}_"
        found = False
        for key in sorted(os.environ):
            if not key.startswith(start) or len(key) == len(start):
                continue
            raw = os.environ[key]
            try:
                value = loads(raw)
            except Exception:
                value = raw
            parts = key[len(start) :].split("__")
            target: dict[str, Any] = self
            for part in parts[:-1]:
                nested = target.get(part)
                if not isinstance(nested, dict):
                    nested = target[part] = {}
                target = nested
            target[parts[-1]] = value
            found = True
        return found

    def from_mapping(self, mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> bool:
        """Load upper-case keys only, as Flask does (lower-case keys are usually mistakes)."""
        values = dict(mapping or {}, **kwargs)
        for key, value in values.items():
            if key.isupper():
                self[key] = value
        return True

    def from_object(self, obj: Any) -> None:
        """Load the upper-case attributes of a module or class."""
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def __repr__(self) -> str:
        return f"<Config {dict.__repr__(self)}>"
