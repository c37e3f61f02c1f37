"""The ``covet`` command: ``run`` (hypercorn, uvicorn or granian), ``routes``, ``openapi``, ``--version``.

A bad target or a missing server is reported in one line saying what was wrong and how to fix it,
never as a traceback (Flask's ``NoAppException`` is the model).
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["SERVERS", "CommandError", "TargetError", "load_target", "main"]

#: The servers ``covet run --server`` knows; the first is the default and a dependency of covet,
#: the others come with the extras of the same name (``pip install 'covet[uvicorn]'``).
SERVERS: tuple[str, ...] = ("hypercorn", "uvicorn", "granian")

# uvicorn and granian start workers and reloaders in fresh processes that import the app from a
# string. The string is always "covet.cli:_app_from_environment", a factory that loads the TARGET
# named by this variable, so every TARGET form works in every process. The name must not start
# with "COVET_": app.config.from_prefixed_env("COVET") would copy it into the user's config.
_TARGET_VARIABLE = "_COVET_RUN_TARGET"
_APP_FACTORY = "covet.cli:_app_from_environment"


class CommandError(Exception):
    """A command cannot run as asked; ``main`` prints the message on one line and exits 2."""


class TargetError(CommandError):
    """The TARGET argument does not name an importable app."""


def _split_target(target: str) -> tuple[str, str]:
    # "pkg.mod:app", "path/to/file.py", "path/to/file.py:app"; a Windows drive "C:\..." is not an attr.
    module, sep, attr = target.rpartition(":")
    if not sep or (len(module) == 1 and attr.startswith(("\\", "/"))):
        return target, "app"
    if not attr:
        raise TargetError(f"Target {target!r} ends with ':'; name the app after it, e.g. {target}app.")
    return module, attr


def load_target(target: str) -> tuple[Any, str]:
    """Import ``target`` and return ``(app, import_string)``; the string is what hypercorn loads."""
    module_name, attr = _split_target(target)
    path = Path(module_name)
    if _is_file(module_name):
        if not path.is_file():
            raise TargetError(f"No such file: {module_name!r}. Give a path to a .py file or a module name like 'pkg.app:app'.")
        if path.suffix != ".py":
            raise TargetError(f"{module_name!r} is not a .py file; give the Python file that defines the app.")
        directory = str(path.resolve().parent)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        import_name = path.stem
        location = str(path.resolve().with_suffix(""))
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        import_name = module_name
        location = module_name
    try:
        module = importlib.import_module(import_name)
    except ModuleNotFoundError as exc:
        if exc.name == import_name or import_name.startswith(f"{exc.name}."):
            raise TargetError(f"Cannot import module {import_name!r}: it was not found (is it on PYTHONPATH?).") from None
        raise TargetError(f"Importing {import_name!r} failed: {exc}.") from None
    except SyntaxError as exc:
        raise TargetError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}.") from None
    except Exception as exc:
        raise TargetError(f"Importing {import_name!r} raised {type(exc).__name__}: {exc}.") from None
    if not attr.isidentifier():
        raise TargetError(f"{attr!r} is not a Python name; write the target as 'module:app'.")
    app = getattr(module, attr, None)
    if app is None:
        found = [name for name, value in vars(module).items() if _is_covet(value)]
        hint = f" It defines {found[0]!r}: use '{target.rpartition(':')[0] or target}:{found[0]}'." if found else ""
        raise TargetError(f"Module {import_name!r} has no attribute {attr!r}.{hint}")
    if not callable(app):
        raise TargetError(f"{import_name}:{attr} is {type(app).__name__}, not an ASGI application.")
    return app, f"{location}:{attr}"


def _is_covet(value: Any) -> bool:
    from .app import Covet

    return isinstance(value, Covet)


def _require_covet(app: Any, target: str) -> Any:
    if not _is_covet(app):
        raise TargetError(f"{target!r} is not a covet application (got {type(app).__name__}).")
    return app


def _is_file(module_name: str) -> bool:
    return module_name.endswith(".py") or os.sep in module_name or "/" in module_name


def _absolute_target(target: str) -> str:
    """``target`` with a file path made absolute, so worker processes find the same file."""
    module_name, attr = _split_target(target)
    return f"{Path(module_name).resolve() if _is_file(module_name) else module_name}:{attr}"


def _watch_directory(target: str) -> str:
    """Where the reloader watches: the directory of a file target, else the working directory."""
    module_name, _ = _split_target(target)
    return str(Path(module_name).resolve().parent) if _is_file(module_name) else os.getcwd()


def _app_from_environment() -> Any:
    """The app factory uvicorn and granian import in each worker: load the TARGET ``covet run`` got."""
    target = os.environ.get(_TARGET_VARIABLE)
    if not target:
        raise RuntimeError(f"{_TARGET_VARIABLE} is not set; start the server with 'covet run TARGET'.")
    return load_target(target)[0]


def _import_server(name: str) -> ModuleType:
    """Import a server's package, or explain which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        install = f"pip install 'covet[{name}]'" if name != "hypercorn" else "pip install --force-reinstall covet"
        if exc.name == name:
            raise CommandError(f"--server {name} needs the {name} package, which is not installed; {install}.") from None
        raise CommandError(f"Importing {name} failed ({type(exc).__name__}: {exc}); reinstall it with {install}.") from None


# Each _serve_* runs after _cmd_run has imported the server's package, so its imports succeed.


def _serve_hypercorn(args: argparse.Namespace, import_string: str) -> int:
    from hypercorn.config import Config
    from hypercorn.run import run

    config = Config()
    config.application_path = import_string
    config.bind = [f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"]
    config.use_reloader = args.reload
    # hypercorn serves in-process with workers=0; it needs worker processes for the reloader.
    config.workers = args.workers if (args.workers > 1 or args.reload) else 0
    config.accesslog = "-" if args.access_log else None
    config.errorlog = "-"
    return int(run(config) or 0)


def _serve_uvicorn(args: argparse.Namespace, import_string: str) -> int:
    import uvicorn

    uvicorn.run(
        _APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        reload_dirs=[_watch_directory(args.target)] if args.reload else None,
        access_log=args.access_log,
    )
    return 0


def _serve_granian(args: argparse.Namespace, import_string: str) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    if args.reload:
        # granian forks its workers where fork is the default, and a forked worker inherits the
        # app module covet imported to check TARGET, so a reload would serve the old code.
        # Spawned workers import everything afresh.
        multiprocessing.set_start_method("spawn", force=True)

    server = Granian(
        _APP_FACTORY,
        factory=True,
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        reload_paths=[Path(_watch_directory(args.target))] if args.reload else None,
        log_access=args.access_log,
    )
    server.serve()
    return 0


_SERVE: dict[str, Callable[[argparse.Namespace, str], int]] = {
    "hypercorn": _serve_hypercorn,
    "uvicorn": _serve_uvicorn,
    "granian": _serve_granian,
}


def _cmd_run(args: argparse.Namespace) -> int:
    _, import_string = load_target(args.target)
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}.")
    # Fail on a missing server before announcing anything.
    _import_server(args.server)
    os.environ[_TARGET_VARIABLE] = _absolute_target(args.target)
    print(
        f"covet: serving {args.target} with {args.server} on http://{args.host}:{args.port} (Ctrl+C to quit)",
        file=sys.stderr,
    )
    return _SERVE[args.server](args, import_string)


def _cmd_routes(args: argparse.Namespace) -> int:
    app = _require_covet(load_target(args.target)[0], args.target)
    rows = [("METHODS", "PATH", "NAME", "HANDLER")]
    for route in app.router.routes:
        methods = ",".join(sorted(route.methods - {"HEAD"}) or sorted(route.methods))
        handler = f"{getattr(route.endpoint, '__module__', '?')}.{getattr(route.endpoint, '__qualname__', '?')}"
        rows.append((methods, route.path, route.name, handler))
    for mount in app.router.mounts:
        rows.append(("*", mount.prefix + "/...", mount.name or "", type(mount.app).__name__))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    app = _require_covet(load_target(args.target)[0], args.target)
    print(json.dumps(app.openapi(), indent=args.indent))
    return 0


def _version() -> str:
    from . import __version__, speedups_enabled

    return f"covet {__version__} (speedups: {'compiled' if speedups_enabled() else 'pure'})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="covet", description="covet web framework command line.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    target_help = "the app: module:attr, path/to/file.py (finds 'app') or path/to/file.py:attr"

    run = commands.add_parser("run", help="serve the app with hypercorn, uvicorn or granian")
    run.add_argument("target", help=target_help)
    run.add_argument(
        "--server",
        choices=SERVERS,
        default=SERVERS[0],
        help="the ASGI server (default hypercorn; uvicorn and granian need the extras of the same name)",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--reload", action="store_true", help="restart when source files change")
    run.add_argument("--workers", type=int, default=1, help="worker processes")
    run.add_argument("--no-access-log", dest="access_log", action="store_false")
    run.set_defaults(handler=_cmd_run)

    routes = commands.add_parser("routes", help="list the app's routes")
    routes.add_argument("target", help=target_help)
    routes.set_defaults(handler=_cmd_routes)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document as JSON")
    openapi.add_argument("target", help=target_help)
    openapi.add_argument("--indent", type=int, default=2)
    openapi.set_defaults(handler=_cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CommandError as exc:
        # One line, whatever the exception text holds.
        print("Error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
