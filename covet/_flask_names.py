"""What a Flask name that covet does not offer is called in covet, for errors that teach.

covet offers these Flask names as they are: ``redirect(location, code=302)``, ``jsonify``,
``abort``, ``g``, ``request``, ``current_app``, ``url_for``, ``render_template``, ``Blueprint``,
``request.args``, ``request.cookies``, ``request.headers``, ``request.method``, ``request.path``.
Each name below gets an error that names the covet way instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "MODULE_NAMES",
    "REQUEST_ATTRIBUTES",
    "SCAFFOLD_ATTRIBUTES",
    "FlaskName",
    "module_name_error",
    "request_attribute_error",
    "scaffold_attribute_error",
]

#: ``from flask import X`` names covet does not offer -> the covet way.
MODULE_NAMES = {
    "Flask": "the application class is covet.Covet: app = Covet()",
    "session": "use request.session (it needs the session middleware)",
    "make_response": "return (body, status, headers) from the handler, or build a covet.Response",
    "send_file": "return covet.FileResponse(path, filename=...)",
    "send_from_directory": "use Covet(static_folder=...) or return covet.FileResponse(path)",
    "stream_with_context": "return covet.StreamingResponse(generator); the request stays available",
    "flash": "covet has no flash messages; keep them in request.session",
    "get_flashed_messages": "covet has no flash messages; keep them in request.session",
    "escape": "use markupsafe.escape (installed with jinja2)",
    "Markup": "use markupsafe.Markup (installed with jinja2)",
    "has_request_context": "check bool(covet.request)",
}

#: Flask ``request.X`` attributes covet's Request does not have -> the covet way.
REQUEST_ATTRIBUTES = {
    "get_json": "use 'await request.json()', or declare a msgspec.Struct/dict parameter",
    "is_json": "compare request.content_type == 'application/json'",
    "get_data": "use 'await request.body()'",
    "data": "use 'await request.body()'",
    "files": "use '(await request.form())' (uploads are UploadFile values), or File() parameters",
    "values": "use request.query_params and '(await request.form())', or Query()/Form() parameters",
    "remote_addr": "use request.client.host",
    "view_args": "use request.path_params",
    "endpoint": "use request.scope['route'].name",
    "full_path": "use request.url.path and request.url.query",
    "host": "use request.url.netloc",
    "host_url": "use str(request.base_url)",
    "url_root": "use str(request.base_url)",
    "mimetype": "use request.content_type",
    "content_length": "use request.headers.get('content-length')",
    "user_agent": "use request.headers.get('user-agent')",
    "authorization": "use request.headers.get('authorization')",
}


#: Flask ``app.X`` / ``blueprint.X`` attributes covet's Covet and Blueprint do not have -> the covet way.
SCAFFOLD_ATTRIBUTES = {
    "add_url_rule": "use add_route(path, view_func, methods=[...], name=endpoint)",
    "before_app_request": "register the hook on the app: app.before_request (a blueprint's own hooks apply to its routes)",
    "after_app_request": "register the hook on the app: app.after_request",
    "app_errorhandler": "register the handler on the app: app.errorhandler",
    "teardown_request": "use a dependency with yield (Depends), whose code after yield runs after the response",
    "teardown_appcontext": "use a dependency with yield (Depends), or app.on_shutdown for app-wide resources",
    "context_processor": "pass values to render_template(...); 'request', 'g' and 'url_for' are always there",
    "cli": "covet has no app.cli; write the command as a plain script or a click command",
    "instance_path": "covet has no instance folder; keep the path in app.config",
    "test_client": "use covet.testing.TestClient(app)",
    "secret_key": "keep it in app.config['SECRET_KEY']",
}


def module_name_error(name: str) -> ImportError | None:
    """The error for ``covet.<name>``, when ``name`` is a Flask name covet does not offer.

    An ImportError: ``from covet import session`` is how the name is reached, and Python replaces
    the message of an AttributeError raised there with its own "cannot import name".
    """
    way = MODULE_NAMES.get(name)
    if way is None:
        return None
    return ImportError(f"covet has no {name!r} as Flask does: {way}.", name="covet")


def request_attribute_error(owner: str, name: str) -> AttributeError:
    """The AttributeError for ``request.<name>``, naming the covet way when it is a Flask name."""
    way = REQUEST_ATTRIBUTES.get(name)
    if way is None:
        return AttributeError(f"'Request' object has no attribute {name!r}")
    return AttributeError(f"covet's Request has no {name!r} as Flask's does: {way}.")


def scaffold_attribute_error(owner: str, name: str) -> AttributeError:
    """The AttributeError for ``app.<name>``/``bp.<name>``, naming the covet way for a Flask name."""
    way = SCAFFOLD_ATTRIBUTES.get(name)
    if way is None:
        return AttributeError(f"{owner!r} object has no attribute {name!r}")
    return AttributeError(f"covet's {owner} has no {name!r} as Flask's does: {way}.")


class FlaskName:
    """A class attribute standing for a Flask name the class does not have: reading it raises the
    AttributeError that names the covet way (``hasattr`` gives False, as for any missing name).

    A descriptor per known name rather than a ``__getattr__`` on the class: CPython 3.11 does not
    specialise attribute reads on instances of a class that defines ``__getattr__``, so every
    ``request.scope`` or ``app.debug`` took the slow path (measured with callgrind: about 12k
    instructions per request on the bench's ``deps`` scenario).
    """

    __slots__ = ("name", "error")

    def __init__(self, name: str, error: Callable[[str, str], AttributeError]) -> None:
        self.name = name
        self.error = error

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        raise self.error(type(instance).__name__ if instance is not None else getattr(owner, "__name__", "?"), self.name)


def install_flask_names(cls: type, names: dict[str, str], error: Callable[[str, str], AttributeError]) -> None:
    """Put a :class:`FlaskName` on ``cls`` for each of ``names`` it does not define itself."""
    for name in names:
        if not hasattr(cls, name):
            setattr(cls, name, FlaskName(name, error))
