"""Every ```python block in docs/*.md runs as a program, so the docs cannot drift from the code.

A block fenced ```python must be self-contained: it imports what it uses, builds its own app and
checks behaviour with plain ``assert``s. Fragments and shell sessions are fenced ```python-fragment,
```text or ```console and are not run. Each sample runs in a fresh namespace, in a temporary
working directory, with ``sys.path``, ``os.environ`` and the converter registry restored afterwards,
so one sample cannot leak into the next. Line numbers in a failing sample's traceback are those of
the Markdown file.
"""

from __future__ import annotations

import gc
import linecache
import logging
import os
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import covet.convertors

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROOT = DOCS.parent

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`\s]*)\s*$")
#: Languages a fence may name; anything else (```py, ```python3, ```pycon...) would escape testing.
_ALLOWED = {"python", "python-fragment", "text", "console", "json", "toml", "html", ""}


def _fences(path: Path) -> Iterator[tuple[str, int, str]]:
    """``(info, line of the opening fence, code)`` for every fenced block of ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        opening = index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        if index == len(lines):
            raise ValueError(f"{path.name}:{opening + 1}: a ``` fence is never closed")
        body = textwrap.dedent("\n".join(lines[opening + 1 : index]))
        # Pad with blank lines so line numbers in tracebacks are the Markdown file's.
        yield match.group("info"), opening + 1, "\n" * (opening + 1) + body + "\n"
        index += 1


def _samples() -> list[Any]:
    params = []
    for path in sorted(DOCS.glob("*.md")):
        for info, line, code in _fences(path):
            if info == "python":
                params.append(pytest.param(path, line, code, id=f"{path.name}:{line}"))
    return params


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch cwd; sys.path, os.environ, sys.modules and converters put back afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    environ = dict(os.environ)
    convertors = dict(covet.convertors.CONVERTORS)
    modules = set(sys.modules)
    try:
        yield tmp_path
    finally:
        for name in set(sys.modules) - modules:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(tmp_path)):
                del sys.modules[name]
        covet.convertors.CONVERTORS.clear()
        covet.convertors.CONVERTORS.update(convertors)
        os.environ.clear()
        os.environ.update(environ)


def _loggers() -> list[logging.Logger]:
    found = [item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)]
    return [logging.getLogger(), *found]


def _logging_state() -> dict[logging.Logger, tuple[list[logging.Handler], int, list[Any]]]:
    return {logger: (list(logger.handlers), logger.level, list(logger.filters)) for logger in _loggers()}


def _restore_logging(state: dict[logging.Logger, tuple[list[logging.Handler], int, list[Any]]]) -> None:
    for logger in _loggers():
        handlers, level, filters = state.get(logger, ([], logging.NOTSET, []))
        logger.handlers[:] = handlers
        logger.filters[:] = filters
        logger.setLevel(level)


@pytest.mark.parametrize(("path", "line", "code"), _samples())
def test_doc_sample(
    path: Path, line: int, code: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh module namespace, registered in sys.modules as a real module would be, so that
    # msgspec and dataclasses can resolve string annotations (``from __future__ import annotations``).
    module = types.ModuleType("__docs__")
    monkeypatch.setitem(sys.modules, "__docs__", module)
    namespace: dict[str, Any] = module.__dict__
    filename = f"{path.relative_to(ROOT)}:{line}"
    # Let tracebacks show the failing sample's source lines (kept: pytest renders them later).
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    logging_state = _logging_state()
    try:
        # dont_inherit: this file's own ``from __future__`` imports must not leak into the sample.
        exec(compile(code, filename, "exec", dont_inherit=True), namespace)
    finally:
        # A sample that adds a log handler (docs/observability.md) must not leave it for the tests
        # that run after it in this process: its namespace is cleared just below.
        _restore_logging(logging_state)
        namespace.clear()
        # Collect now, so a resource a sample leaks warns (and fails) in that sample's test.
        gc.collect()


def test_docs_exist() -> None:
    pages = {path.name for path in DOCS.glob("*.md")}
    expected = {
        "index.md",
        "quickstart.md",
        "routing.md",
        "requests-responses.md",
        "parameters.md",
        "errors.md",
        "testing.md",
        "cli.md",
        "configuration.md",
        "openapi.md",
        "files.md",
        "streaming.md",
        "deployment.md",
        "forms.md",
        "performance.md",
        "from-fastapi.md",
        "migrating.md",
        "security.md",
        "request-flow.md",
        "authentication.md",
        "rate-limiting.md",
        "database.md",
        "middleware.md",
        "websockets.md",
        "broadcast.md",
        "background.md",
        "observability.md",
    }
    assert expected <= pages, f"missing docs pages: {sorted(expected - pages)}"


def test_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text()
    unlinked = sorted(
        path.name for path in DOCS.glob("*.md") if path.name != "index.md" and f"({path.name})" not in index
    )
    assert not unlinked, f"docs/index.md does not link: {unlinked}"


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_fences_are_known(path: Path) -> None:
    """A block must be tested (```python) or say plainly that it is not (```python-fragment...)."""
    unknown = [(line, info) for info, line, _ in _fences(path) if info not in _ALLOWED]
    assert not unknown, f"{path.name}: fences with unknown languages (line, language): {unknown}"


def _anchors(path: Path) -> set[str]:
    """GitHub-style heading anchors of a page (code blocks skipped)."""
    anchors = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_resolve(path: Path) -> None:
    """Relative links between pages point at files, and headings, that exist."""
    text = path.read_text(encoding="utf-8")
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if "://" in target:
            continue
        page = path.parent / target if target else path
        if not page.exists() or (anchor and page.suffix == ".md" and anchor not in _anchors(page)):
            broken.append(f"{target}#{anchor}" if anchor else target)
    assert not broken, f"{path.name}: broken relative links {broken}"
