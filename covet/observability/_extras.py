"""Importing an optional package, or saying which covet extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``; raise ImportError naming ``pip install 'covet[extra]'`` when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} needs the {module.split('.')[0]} package; install it with: pip install 'covet[{extra}]'"
        ) from exc
