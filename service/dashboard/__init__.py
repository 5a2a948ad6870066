"""The dashboard: Kumo's web UI at /dashboard, pages that call the real APIs for their
data and actions (proxy.py) under a server-side session (session.py)."""

from pathlib import Path

from aiohttp import web

from service.dashboard import login, pages, proxy
from service.dashboard.session import SESSIONS, Sessions
from service.dashboard.upstream import upstream_context

STATIC = Path(__file__).parent / "static"


def install(app: web.Application) -> None:
    """Add the dashboard's routes, static files, sessions and API client to its sub-app."""
    app[SESSIONS] = Sessions()
    app.cleanup_ctx.append(upstream_context)
    app.add_routes([*login.routes, *proxy.routes, *pages.routes])
    app.router.add_static("/static", STATIC)
