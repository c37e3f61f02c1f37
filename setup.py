"""Build script: pure-Python package metadata lives in pyproject.toml.

Compiled speedups (``covet/_speedups/*.pyx``) are added here when present. A failed compile never
fails the install (covet falls back to pure Python) unless ``COVET_REQUIRE_EXTENSIONS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def _extensions() -> list:
    sources = sorted((HERE / "covet" / "_speedups").glob("*.pyx"))
    if not sources or os.environ.get("COVET_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if os.environ.get("COVET_REQUIRE_EXTENSIONS"):
            raise
        print("covet: Cython not available, installing the pure-Python implementation")
        return []
    from setuptools import Extension

    extensions = [
        Extension(f"covet._speedups.{source.stem}", [str(source.relative_to(HERE))]) for source in sources
    ]
    compiled = cythonize(extensions, compiler_directives={"language_level": "3"}, quiet=True)
    # cythonize() drops Extension(optional=True); set it again so a compile failure only warns.
    for extension in compiled:
        extension.optional = not os.environ.get("COVET_REQUIRE_EXTENSIONS")
    return compiled


setup(ext_modules=_extensions())
