"""Jinja2 templates, Flask style: ``return render_template("page.html", user=user)``.

jinja2 is imported only when a template is first rendered, so apps that never render one never
pay for it. Templates are looked up in ``app.config["TEMPLATE_FOLDER"]`` (default ``templates``,
relative to the working directory) with HTML autoescaping on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .globals import current_app, current_request

if TYPE_CHECKING:
    import jinja2

    from .app import Covet

__all__ = ["render_template", "get_environment"]


def get_environment(app: Covet) -> jinja2.Environment:
    """The app's Jinja2 environment, made on first use and kept on ``app.state``."""
    env = app.__dict__.get("_jinja_env")
    if env is None:
        try:
            import jinja2
        except ImportError:  # pragma: no cover - jinja2 is a dependency; guard for trimmed installs
            raise RuntimeError("render_template needs jinja2: pip install jinja2") from None
        folder = app.config.get("TEMPLATE_FOLDER", "templates")
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
            enable_async=False,
        )
        env.globals["url_for"] = app.url_for
        from .middleware._templates import add_template_globals

        add_template_globals(env)
        app.__dict__["_jinja_env"] = env
    return env


def render_template(template_name: str, /, **context: Any) -> str:
    """Render a template of the current app to a string (a ``str`` return is served as HTML).

    Example::

        @app.get("/")
        def index():
            return render_template("index.html", title="Home")
    """
    env = get_environment(current_app._get())  # type: ignore[attr-defined]
    current = current_request()
    if current is not None:
        context.setdefault("request", current)
        context.setdefault("g", current.state)  # Flask templates read g.user
    return env.get_template(template_name).render(context)
