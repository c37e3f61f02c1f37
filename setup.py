"""Build script: pure-Python package metadata lives in pyproject.toml.

Compiled speedups are added here. Each ``covet/_speedups/_NAME.pxd`` compiles its pure-Python
twin ``covet/_NAME_py.py`` as ``covet._speedups._NAME`` (the .pxd only adds C types, so the two
cannot drift); a ``covet/_speedups/_NAME.pyx`` compiles as itself. Without Cython the generated C
files shipped in the sdist are compiled instead. A failed build never fails the install (covet
falls back to pure Python) unless ``COVET_REQUIRE_EXTENSIONS=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
SPEEDUPS = HERE / "covet" / "_speedups"
REQUIRED = bool(os.environ.get("COVET_REQUIRE_EXTENSIONS"))


def _sources() -> dict[str, Path]:
    """Extension module name -> its Cython source (a twin .py or a .pyx)."""
    sources: dict[str, Path] = {}
    for pxd in sorted(SPEEDUPS.glob("_*.pxd")):
        twin = HERE / "covet" / f"{pxd.stem}_py.py"
        if twin.exists():
            sources[f"covet._speedups.{pxd.stem}"] = twin
    for pyx in sorted(SPEEDUPS.glob("_*.pyx")):
        sources[f"covet._speedups.{pyx.stem}"] = pyx
    return sources


def _extensions() -> list[Extension]:
    if os.environ.get("COVET_NO_EXTENSIONS") or sys.implementation.name != "cpython":
        return []
    sources = _sources()
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRED:
            raise
        # An sdist carries the generated C next to each source; compile that without Cython.
        prebuilt = {name: source.with_suffix(".c") for name, source in sources.items()}
        if not all(path.exists() for path in prebuilt.values()):
            print("covet: Cython is not installed and no generated C was found: installing pure Python")
            return []
        return [
            Extension(name, [str(path.relative_to(HERE))], optional=not REQUIRED) for name, path in prebuilt.items()
        ]
    extensions = [Extension(name, [str(source.relative_to(HERE))]) for name, source in sources.items()]
    compiled = cythonize(
        extensions,
        compiler_directives={"language_level": "3", "annotation_typing": False},
        quiet=True,
    )
    # cythonize() drops Extension(optional=True); set it again so a compile failure only warns.
    for extension in compiled:
        extension.optional = not REQUIRED
    return compiled


class _BuildExt(build_ext):
    """Say plainly when the speedups could not be built, instead of a buried compiler warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            if REQUIRED:
                raise
            print(f"covet: building the speedups failed ({exc}); installing pure Python")


setup(ext_modules=_extensions(), cmdclass={"build_ext": _BuildExt})
