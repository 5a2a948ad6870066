"""Rendering the dashboard's Jinja templates (autoescaped) into responses."""

from typing import Any

import jinja2
from aiohttp import web

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("service.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline';"
    " frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
"""Pages load scripts and everything else only from Kumo itself, and no one frames them."""


def render(name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """The template `name` filled with `context`, as an HTML response that no one caches."""
    html = ENVIRONMENT.get_template(name).render(context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": POLICY,
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )
