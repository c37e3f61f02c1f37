"""The one switch between compiled speedups and the pure-Python reference code.

``NO_EXTENSIONS`` is read once, at import: ``COVET_NO_EXTENSIONS=1`` (or any interpreter other
than CPython) forces the pure-Python twins. Public modules import this flag and pick their
implementation yarl-style, so the choice is made in one place and never per call.
"""

from __future__ import annotations

import os
import platform

__all__ = ["NO_EXTENSIONS", "REQUIRE_EXTENSIONS", "compiled_modules"]

NO_EXTENSIONS: bool = bool(os.environ.get("COVET_NO_EXTENSIONS")) or (
    platform.python_implementation() != "CPython"
)
REQUIRE_EXTENSIONS: bool = bool(os.environ.get("COVET_REQUIRE_EXTENSIONS"))

#: Names of compiled modules that were successfully loaded; filled by the public modules.
compiled_modules: set[str] = set()
