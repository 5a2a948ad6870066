"""Rendering the dashboard's Jinja templates (autoescaped) into responses."""

from typing import Any

import jinja2
from aiohttp import web

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("service.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def render(name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """The template `name` filled with `context`, as an HTML response that no one caches."""
    html = ENVIRONMENT.get_template(name).render(context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )
