"""The ``covet`` command: ``run`` (hypercorn, uvicorn or granian), ``routes``, ``openapi``, ``asyncapi``, ``--version``.

A bad target or a missing server is reported in one line saying what was wrong and how to fix it,
never as a traceback (Flask's ``NoAppException`` is the model).
"""

from __future__ import annotations

import argparse
import ast
import copy
import errno
import importlib
import importlib.util
import inspect
import json
import multiprocessing
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ._text import sentence

__all__ = ["SERVERS", "AppImportError", "CommandError", "TargetError", "load_target", "main", "run_app"]

#: The servers ``covet run --server`` knows; the first is the default and a dependency of covet,
#: the others come with the extras of the same name (``pip install 'covet[uvicorn]'``).
SERVERS: tuple[str, ...] = ("hypercorn", "uvicorn", "granian")

#: The variable naming the app when a command is given no TARGET (Flask's FLASK_APP).
APP_VARIABLE = "COVET_APP"

# Every server imports the app in its worker processes from a string, always
# "covet.cli:_app_from_environment", a factory that loads the TARGET named by this variable, so
# every TARGET form works in every process. The names must not start with "COVET_":
# app.config.from_prefixed_env("COVET") would copy them into the user's config.
_TARGET_VARIABLE = "_COVET_RUN_TARGET"
_RELOAD_VARIABLE = "_COVET_RUN_RELOAD"  # "1": a TARGET that fails to import is served as an error page
_DEBUG_VARIABLE = "_COVET_RUN_DEBUG"  # "1": covet run --debug, the app gets debug=True
_ACCESS_LOG_VARIABLE = "_COVET_RUN_ACCESS_LOG"  # "json" / "combined": covet's access log; "": none
_APP_FACTORY = "covet.cli:_app_from_environment"

#: Names Flask looks for when a module has no ``app``: app factories, called with no arguments.
_FACTORY_NAMES = ("create_app", "make_app")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\((.*)\)", re.DOTALL)


class CommandError(Exception):
    """A command cannot run as asked; ``main`` prints the message on one line and exits 2."""


class TargetError(CommandError):
    """The TARGET argument does not name an importable app."""


class AppImportError(TargetError):
    """Importing the TARGET (or calling its app factory) raised: a bug in the app's own code.

    ``files`` are the source files involved, for a reloader to watch until the bug is fixed.
    """

    def __init__(self, message: str, files: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.files = list(files)


def _split_target(target: str) -> tuple[str, str]:
    # "pkg.mod:app", "pkg.mod:create_app('dev')", "path/to/file.py", "path/to/file.py:app"; a
    # Windows drive "C:\..." is not an attr, and a colon inside the factory's arguments is theirs.
    call = target.find("(")
    head = target if call < 0 else target[:call]
    module, sep, attr = head.rpartition(":")
    if call >= 0:
        attr += target[call:]
    if not sep or (len(module) == 1 and attr.startswith(("\\", "/"))):
        return target, "app"
    if not attr:
        raise TargetError(f"Target {target!r} ends with ':'; name the app after it, e.g. {target}app.")
    return module, attr


def load_target(target: str) -> tuple[Any, str]:
    """Import ``target`` and return ``(app, import_string)``.

    ``target`` is ``module:attr``, ``path/to/file.py`` (its ``app``) or ``path/to/file.py:attr``;
    ``attr`` may name an app factory, called as Flask does: ``module:create_app`` (a function that
    takes no arguments) or ``module:create_app('dev')`` (literal arguments). A file is loaded from
    its path even when its name is also a standard-library module's (``site.py``). Raises
    :class:`TargetError`, or :class:`AppImportError` when the app's own code raised.
    """
    module_name, attr = _split_target(target)
    if _is_file(module_name):
        module, import_name, location = _import_file(module_name)
    else:
        module, import_name, location = _import_module(module_name), module_name, module_name
    app = _find_app(module, import_name, attr, target)
    return app, f"{location}:{attr}"


def _import_file(name: str) -> tuple[ModuleType, str, str]:
    path = Path(name)
    if not path.is_file():
        raise TargetError(f"No such file: {name!r}. Give a path to a .py file or a module name like 'pkg.app:app'.")
    if path.suffix != ".py":
        raise TargetError(f"{name!r} is not a .py file; give the Python file that defines the app.")
    path = path.resolve()
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # so the file's own imports of its neighbours work
    import_name = path.stem
    loaded = sys.modules.get(import_name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded, import_name, str(path.with_suffix(""))
    if loaded is not None or import_name in sys.stdlib_module_names or not import_name.isidentifier():
        # "site.py", "types.py"...: importing by name would give the standard module (or another
        # file already loaded under that name), so the file gets a name of its own.
        import_name = f"__covet_target_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(import_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise TargetError(f"Cannot load {name!r} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[import_name] = module  # before running it, as import does (dataclasses, typing need it)
    try:
        _run_import(lambda: spec.loader.exec_module(module), path.stem, str(path))  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(import_name, None)
        raise
    return module, import_name, str(path.with_suffix(""))


def _import_module(import_name: str) -> ModuleType:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    found: list[ModuleType] = []
    try:
        _run_import(lambda: found.append(importlib.import_module(import_name)), import_name, None)
    except AppImportError as exc:
        cause = exc.__cause__
        if isinstance(cause, ModuleNotFoundError) and (
            cause.name == import_name or import_name.startswith(f"{cause.name}.")
        ):
            raise TargetError(
                f"Cannot import module {import_name!r}: it was not found (is it on PYTHONPATH?)."
            ) from None
        raise
    return found[0]


def _run_import(load: Callable[[], object], import_name: str, path: str | None) -> None:
    """Run ``load``; an exception from the app's code becomes an AppImportError, in one line."""
    try:
        load()
    except SyntaxError as exc:
        files = [name for name in (path, exc.filename) if name]
        raise AppImportError(f"{exc.filename}:{exc.lineno}: syntax error: {sentence(exc.msg)}", files) from exc
    except ModuleNotFoundError as exc:
        raise AppImportError(f"Importing {import_name!r} failed: {sentence(exc)}", _files_of(exc, path)) from exc
    except Exception as exc:
        raise AppImportError(
            f"Importing {import_name!r} raised {type(exc).__name__}: {sentence(exc)}", _files_of(exc, path)
        ) from exc


def _files_of(exc: BaseException, path: str | None) -> list[str]:
    # The target and the app's own files the traceback went through (not the standard library's
    # or installed packages'): what a reloader must watch to see the fix.
    files = [path] if path else []
    prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename
        if name not in files and os.path.isfile(name) and not name.startswith(prefixes):
            files.append(name)
    return files


def _find_app(module: ModuleType, import_name: str, attr: str, target: str) -> Any:
    call = _CALL.fullmatch(attr)
    name = call.group(1) if call else attr
    if not name.isidentifier():
        raise TargetError(f"{attr!r} is not a Python name; write the target as 'module:app'.")
    found = getattr(module, name, None)
    if found is None and attr == "app" and ":" not in target:
        # No "app" and none asked for by name: Flask's fallback, an app factory.
        for factory in _FACTORY_NAMES:
            if inspect.isfunction(getattr(module, factory, None)):
                name, found = factory, getattr(module, factory)
                break
    if found is None:
        apps = [key for key, value in vars(module).items() if _is_covet(value)]
        hint = f" It defines {apps[0]!r}: use '{target.rpartition(':')[0] or target}:{apps[0]}'." if apps else ""
        raise TargetError(f"Module {import_name!r} has no attribute {name!r}.{hint}")
    if call is not None:
        args, kwargs = _literal_arguments(call.group(2), attr)
        app = _call_factory(found, name, args, kwargs, import_name)
    elif _is_factory(found):
        app = _call_factory(found, name, (), {}, import_name)
    else:
        app = found
    if not callable(app):
        what = f"{name}() returned" if app is not found else f"{import_name}:{name} is"
        raise TargetError(f"{what} {type(app).__name__}, not an ASGI application.")
    return app


def _is_factory(value: Any) -> bool:
    """A plain function callable without arguments: an app factory, not an ASGI app (3 arguments)."""
    if not inspect.isfunction(value) or inspect.iscoroutinefunction(value):
        return False
    parameters = inspect.signature(value).parameters.values()
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


def _literal_arguments(text: str, attr: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        assert isinstance(call, ast.Call)
        args = tuple(ast.literal_eval(arg) for arg in call.args)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
        if len(kwargs) != len(call.keywords):
            raise ValueError("**kwargs")
    except (SyntaxError, ValueError, TypeError):
        raise TargetError(
            f"Cannot read the arguments of {attr!r}: an app factory call takes literal values only, "
            "e.g. 'module:create_app(\"dev\", debug=True)'."
        ) from None
    return args, kwargs


def _call_factory(
    factory: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], import_name: str
) -> Any:
    if not callable(factory):
        raise TargetError(f"{import_name}:{name} is {type(factory).__name__}, not an app factory to call.")
    try:
        return factory(*args, **kwargs)
    except TypeError as exc:
        # Most likely the arguments do not fit; say so with the signature.
        raise TargetError(f"Calling the app factory {name}() failed: {sentence(exc)}") from None
    except Exception as exc:
        files = _files_of(exc, getattr(sys.modules.get(import_name), "__file__", None))
        raise AppImportError(f"The app factory {name}() raised {type(exc).__name__}: {sentence(exc)}", files) from exc


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
    """The app factory every server imports in each worker: load the TARGET ``covet run`` got.

    Under ``--reload`` an app whose code raises is served as an error page instead (the error is
    printed too), so the server stays up and the reloader serves the fixed app after the next save.
    """
    target = os.environ.get(_TARGET_VARIABLE)
    if not target:
        raise RuntimeError(f"{_TARGET_VARIABLE} is not set; start the server with 'covet run TARGET'.")
    try:
        app = load_target(target)[0]
    except AppImportError as exc:
        if os.environ.get(_RELOAD_VARIABLE) != "1":
            raise
        _report_broken(exc)
        _watch_files(exc.files)
        return _BrokenApp(" ".join(str(exc).split()))
    if os.environ.get(_DEBUG_VARIABLE) == "1" and _is_covet(app):
        app.debug = True
        app.config["DEBUG"] = True
    access_log = os.environ.get(_ACCESS_LOG_VARIABLE)
    if access_log:
        from .observability._serving import with_access_log

        app = with_access_log(app, access_log)
    return app


_reported: set[str] = set()


def _report_broken(exc: AppImportError) -> None:
    # Once per process: hypercorn's main process loads the app twice (covet's check, its own).
    message = " ".join(str(exc).split())
    if message not in _reported:
        _reported.add(message)
        print(f"covet: cannot load the app: {message} Waiting for a fix: save the file to reload.", file=sys.stderr)


def _watch_files(files: Sequence[str]) -> None:
    # hypercorn's reloader watches the files of the modules loaded in its main process, and a
    # module whose import failed is not among them: stand-in modules carry their file names.
    for index, name in enumerate(files):
        stand_in = ModuleType(f"_covet_watch_{index}")
        stand_in.__file__ = name
        sys.modules[stand_in.__name__] = stand_in


class _BrokenApp:
    """What ``covet run --reload`` serves while the app cannot be loaded: the error, as a 500."""

    def __init__(self, message: str) -> None:
        self.body = (
            f"covet: the app failed to load.\n\n{message}\n\n"
            "Fix it and save: the server reloads the app.\n"
        ).encode()

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(self.body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": self.body})
        else:  # a websocket: refuse the handshake
            await send({"type": "websocket.close", "code": 1011})


def _check_port(host: str, port: int) -> None:
    """Fail in one line if ``host:port`` cannot be listened on (in use, or not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if os.name != "nt":
            # As the servers do: a port whose old connections linger in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise _listen_error(exc, host, port) from None


def _listen_error(exc: OSError, host: str, port: int) -> CommandError:
    if exc.errno == errno.EADDRINUSE:
        return CommandError(
            f"Port {port} on {host} is already in use (is another server running?); stop it or pick "
            "another port with --port."
        )
    if exc.errno == errno.EACCES:
        return CommandError(f"No permission to listen on port {port}; ports below 1024 need privileges, use --port 8000.")
    return CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Check --host and --port.")


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
    # hypercorn evaluates the part after ':' in the module, so this calls the factory.
    config.application_path = f"{_APP_FACTORY}()"
    config.bind = [f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"]
    config.use_reloader = args.reload
    # hypercorn serves in-process with workers=0; it needs worker processes for the reloader.
    config.workers = args.workers if (args.workers > 1 or args.reload) else 0
    config.accesslog = None  # covet's own access log (covet.observability) replaces the server's
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
        access_log=False,
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
        log_access=False,
        log_dictconfig=_granian_logging(),
    )
    server.serve()
    return 0


def _granian_logging() -> dict[str, Any]:
    """granian's own logging configuration with its messages and tracebacks on stderr (its default
    is stdout, where they would mix with the access log lines covet prints there)."""
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for handler in config.get("handlers", {}).values():
        if handler.get("stream") == "ext://sys.stdout":
            handler["stream"] = "ext://sys.stderr"
    return config


_SERVE: dict[str, Callable[[argparse.Namespace, str], int]] = {
    "hypercorn": _serve_hypercorn,
    "uvicorn": _serve_uvicorn,
    "granian": _serve_granian,
}


def _target_of(args: argparse.Namespace) -> str:
    target: str | None = args.target or os.environ.get(APP_VARIABLE)
    if not target:
        raise TargetError(
            f"No app given: name it, as in 'covet {args.command} app.py' or 'covet {args.command} "
            f"shop.web:app', or set {APP_VARIABLE}=app.py."
        )
    return target


def _cmd_run(args: argparse.Namespace) -> int:
    target = _target_of(args)
    reload = args.reload or args.debug
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}.")
    from .observability._serving import is_loopback, metrics_directory

    if args.debug and not args.force_debug and not is_loopback(args.host):
        raise CommandError(
            f"--debug shows tracebacks with local variables to anyone who can reach the server, and --host "
            f"{args.host} is not a loopback address. Serve debug mode on 127.0.0.1 (the default), or add "
            "--force-debug if this network is yours alone."
        )
    # The metrics directory is set before the app is imported: prometheus_client picks its
    # multiprocess mode when first imported, and servers that fork (granian) keep the parent's.
    with metrics_directory(args.workers):
        return _serve_target(args, target, reload)


def _serve_target(args: argparse.Namespace, target: str, reload: bool) -> int:
    # Fail on a missing server before importing the app.
    _import_server(args.server)
    try:
        _, import_string = load_target(target)
    except AppImportError as exc:
        if not reload:
            raise
        # Served as an error page until the file is fixed: the reloader keeps running.
        _report_broken(exc)
        import_string = target
    _check_port(args.host, args.port)
    os.environ[_TARGET_VARIABLE] = _absolute_target(target)
    os.environ[_RELOAD_VARIABLE] = "1" if reload else ""
    os.environ[_DEBUG_VARIABLE] = "1" if args.debug else ""
    os.environ[_ACCESS_LOG_VARIABLE] = args.access_log_format if args.access_log else ""
    args.target, args.reload = target, reload
    mode = " in debug mode (tracebacks in error pages, reloading on changes)" if args.debug else ""
    print(
        f"covet: serving {target} with {args.server} on http://{_url_host(args.host)}:{args.port}{mode} (Ctrl+C to quit)",
        file=sys.stderr,
    )
    try:
        return _SERVE[args.server](args, import_string)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            # Taken between covet's check and the server's bind.
            raise _listen_error(exc, args.host, args.port) from None
        raise


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _cmd_routes(args: argparse.Namespace) -> int:
    target = _target_of(args)
    app = _require_covet(load_target(target)[0], target)
    rows = [("METHODS", "PATH", "NAME", "HANDLER")]
    for route in app.router.routes:
        methods = ",".join(sorted(route.methods - {"HEAD"}) or sorted(route.methods))
        if route.scope_type == "websocket":
            methods = "WEBSOCKET"
        handler = f"{getattr(route.endpoint, '__module__', '?')}.{getattr(route.endpoint, '__qualname__', '?')}"
        rows.append((methods, route.path, route.name, handler))
    for mount in app.router.mounts:
        rows.append(("*", mount.prefix + "/...", mount.name or "", type(mount.app).__name__))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    target = _target_of(args)
    app = _require_covet(load_target(target)[0], target)
    print(json.dumps(app.openapi(), indent=args.indent))
    return 0


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    target = _target_of(args)
    app = _require_covet(load_target(target)[0], target)
    print(json.dumps(app.asyncapi(), indent=args.indent))
    return 0


def _version() -> str:
    from . import __version__, speedups_enabled

    return f"covet {__version__} (speedups: {'compiled' if speedups_enabled() else 'pure'})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="covet", description="covet web framework command line.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    target_help = (
        "the app: module:attr, path/to/file.py (finds 'app'), path/to/file.py:attr, or an app factory "
        f"module:create_app / module:create_app(); default ${APP_VARIABLE}"
    )

    run = commands.add_parser("run", help="serve the app with hypercorn, uvicorn or granian")
    run.add_argument("target", nargs="?", help=target_help)
    run.add_argument(
        "--server",
        choices=SERVERS,
        default=SERVERS[0],
        help="the ASGI server (default hypercorn; uvicorn and granian need the extras of the same name)",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--reload", action="store_true", help="restart when source files change")
    run.add_argument(
        "--debug", action="store_true", help="development mode: the app's debug=True (traceback pages) and --reload"
    )
    run.add_argument("--workers", type=int, default=1, help="worker processes")
    run.add_argument("--no-access-log", dest="access_log", action="store_false", help="log no line per request")
    run.add_argument(
        "--access-log-format",
        choices=("combined", "json"),
        default="combined",
        help="covet's access log (logger covet.access, on stdout): the combined log format or JSON lines",
    )
    run.add_argument(
        "--force-debug", action="store_true", help="allow --debug on a --host that is not a loopback address"
    )
    run.set_defaults(handler=_cmd_run)

    routes = commands.add_parser("routes", help="list the app's routes")
    routes.add_argument("target", nargs="?", help=target_help)
    routes.set_defaults(handler=_cmd_routes)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document as JSON")
    openapi.add_argument("target", nargs="?", help=target_help)
    openapi.add_argument("--indent", type=int, default=2)
    openapi.set_defaults(handler=_cmd_openapi)

    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI 3.0 document of the WebSocket routes as JSON")
    asyncapi.add_argument("target", nargs="?", help=target_help)
    asyncapi.add_argument("--indent", type=int, default=2)
    asyncapi.set_defaults(handler=_cmd_asyncapi)

    from ._db_commands import add_parser as add_db_parser  # `covet db ...` (covet.db, issue 17)

    add_db_parser(commands, target_help)
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


def run_app(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    debug: bool | None = None,
    reload: bool = False,
    access_log: bool = True,
) -> None:
    """Serve ``app`` with hypercorn in this process: what ``app.run()`` does (see Covet.run).

    ``reload=True`` (or ``debug=True``) runs ``covet run --reload`` on the script that called it
    instead, which must define the app at module level.
    """
    if debug is not None:
        app.debug = debug
        app.config["DEBUG"] = debug
    if reload or debug:
        argv = ["run", _script_target(app), "--host", host, "--port", str(port), "--reload"]
        argv += ["--debug"] if debug else []
        argv += [] if access_log else ["--no-access-log"]
        sys.exit(main(argv))
    try:
        _check_port(host, port)
    except CommandError as exc:
        print("Error: " + " ".join(str(exc).split()), file=sys.stderr)
        sys.exit(2)
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = "-"
    title = getattr(app, "title", type(app).__name__)
    if access_log:
        from .observability._serving import with_access_log

        app = with_access_log(app, "combined")
    print(f"covet: serving {title!r} with hypercorn on http://{_url_host(host)}:{port} (Ctrl+C to quit)", file=sys.stderr)
    try:
        asyncio.run(serve(app, config))
    except KeyboardInterrupt:
        pass


def _script_target(app: Any) -> str:
    """``path/to/script.py:name`` of ``app`` in the ``__main__`` module, for the reloader."""
    main_module = sys.modules.get("__main__")
    path = getattr(main_module, "__file__", None)
    names = [name for name, value in vars(main_module or ModuleType("x")).items() if value is app]
    if not path or not names:
        raise SystemExit(
            "Error: app.run(reload=True) needs the app defined at module level in the script run with "
            "'python script.py'; or run 'covet run script.py --reload'."
        )
    return f"{os.path.abspath(path)}:{names[0]}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
