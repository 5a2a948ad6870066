"""The dashboard's pages: each a server-rendered frame (navigation, project switcher, the
session's CSRF token) whose script fills it from the APIs through proxy.py."""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import msgspec
from aiohttp import web

from service.dashboard.login import redirect
from service.dashboard.session import COOKIE, signed_in
from service.dashboard.templating import render
from service.dashboard.upstream import call
from service.image import quota as image_quota

routes = web.RouteTableDef()


class Page(msgspec.Struct, frozen=True):
    """One page: its path under /dashboard, its template's name, title, whether only
    admins see it in the navigation (the API refuses others in any case), and the
    navigation's section it is listed under (none: at the top level)."""

    path: str
    name: str
    title: str
    admin: bool = False
    in_nav: bool = True
    section: str = ""


PAGES = (
    Page("/overview", "overview", "Overview"),
    Page("/instances", "instances", "Instances"),
    Page("/instances/{id}", "instance", "Instance", in_nav=False),
    Page("/images", "images", "Images"),
    Page("/networks", "networks", "Networks", section="Network"),
    Page("/networks/{id}", "network", "Network", in_nav=False),
    Page("/security-groups", "secgroups", "Security groups", section="Network"),
    Page("/security-groups/{id}", "secgroup", "Security group", in_nav=False),
    Page("/routers", "routers", "Routers", section="Network"),
    Page("/floating-ips", "floatingips", "Floating IPs", section="Network"),
    Page("/containers", "containers", "Object storage"),
    Page("/containers/{container}", "container", "Container", in_nav=False),
    Page("/keypairs", "keypairs", "Key pairs"),
    Page("/api-access", "api_access", "API access"),
    Page("/identity", "identity", "Identity", admin=True),
    Page("/audit", "audit", "Audit"),
)
NAV = [p for p in PAGES if p.in_nav]


async def frame(request: web.Request, page: Page) -> web.Response:
    """The page for the signed-in user; the login form (saying why) without a session."""
    current = await signed_in(request)
    if current is None:
        reason = "reason=expired&" if COOKIE in request.cookies else ""
        return redirect(f"/dashboard/login?{reason}next={quote(request.path_qs)}")
    session, me = current
    projects = await call(request, "GET", "/identity/v3/auth/projects", token=session.token)
    context: dict[str, Any] = {
        "page": page,
        "nav": [p for p in NAV if me.is_admin or not p.admin],
        "me": me,
        "csrf": session.csrf,
        "projects": sorted((projects.body or {}).get("projects", []), key=lambda p: p["name"]),
        "params": dict(request.match_info),
        "here": request.path_qs,
        "image_limits": image_quota.DEFAULTS,
    }
    return render(f"{page.name}.html", context)


def page_handler(page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return await frame(request, page)

    return handler


for _page in PAGES:
    routes.get(_page.path)(page_handler(_page))


@routes.get("")
@routes.get("/")
async def home(request: web.Request) -> web.Response:
    return redirect("/dashboard/overview")
