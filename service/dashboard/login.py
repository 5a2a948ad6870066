"""Logging in and out, and switching project: the dashboard's only server-side forms.

Logging in asks Keystone (through its API) for an unscoped token, then rescopes it to a
project of the user's; the session keeps both, so switching project is one more rescope.
"""

from typing import Any

from aiohttp import web

from service.auth import AUTH
from service.dashboard.session import (
    COOKIE,
    CSRF_FIELD,
    ENDED,
    LOGIN_COOKIE,
    SESSIONS,
    csrf_ok,
    new_secret,
    same_secret,
    set_cookie,
    signed_in,
)
from service.dashboard.templating import render
from service.dashboard.upstream import call

routes = web.RouteTableDef()

TOKENS = "/identity/v3/auth/tokens?nocatalog"
REASONS = {
    "expired": ENDED,
    "logged_out": "You have logged out.",
}


def local_path(value: str | None) -> str:
    """`value` if it is a dashboard path (never another site), else the overview."""
    if value and value.startswith("/dashboard/") and not value.startswith("/dashboard//"):
        return value
    return "/dashboard/overview"


def redirect(location: str) -> web.Response:
    """A 303 to `location` (returned, not raised, so that cookies set on it are kept)."""
    return web.Response(status=303, headers={"Location": location})


def login_page(
    request: web.Request, *, error: str | None = None, status: int = 200, **form: str
) -> web.Response:
    """The login form, with a fresh login CSRF value in a cookie and in the form."""
    csrf = new_secret()
    notice = REASONS.get(request.query.get("reason", ""))
    context = {
        "csrf": csrf,
        "error": error,
        "notice": notice,
        "next": local_path(request.query.get("next") or form.get("next")),
        "domain": form.get("domain", "Default"),
        "username": form.get("username", ""),
    }
    response = render("login.html", context, status=status)
    set_cookie(request, response, LOGIN_COOKIE, csrf)
    return response


@routes.get("/login")
async def show_login(request: web.Request) -> web.Response:
    return login_page(request)


def password_auth(domain: str, username: str, password: str) -> dict[str, Any]:
    user = {"name": username, "domain": {"name": domain}, "password": password}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}


def rescope(token: str, project_id: str) -> dict[str, Any]:
    identity = {"methods": ["token"], "token": {"id": token}}
    return {"auth": {"identity": identity, "scope": {"project": {"id": project_id}}}}


async def scoped_token(request: web.Request, unscoped: str, project_id: str) -> str | None:
    """A token for `project_id` from the user's unscoped token; None if refused."""
    answer = await call(request, "POST", TOKENS, json=rescope(unscoped, project_id))
    return answer.headers.get("X-Subject-Token") if answer.status == 201 else None


@routes.post("/login")
async def log_in(request: web.Request) -> web.StreamResponse:
    """Check the form, get the user's tokens, open a session and go where the user was
    going; the login form again with Keystone's message when anything is refused."""
    form = await request.post()
    fields = {k: str(form.get(k, "")) for k in ("domain", "username", "password", "next")}
    keep = {k: v for k, v in fields.items() if k != "password"}
    if not same_secret(str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_COOKIE, "")):
        return login_page(request, error="The form expired; please try again.", status=403, **keep)
    if not fields["username"] or not fields["password"]:
        return login_page(request, error="Enter a user name and a password.", status=400, **keep)
    body = password_auth(fields["domain"] or "Default", fields["username"], fields["password"])
    answer = await call(request, "POST", TOKENS, json=body)
    unscoped = answer.headers.get("X-Subject-Token")
    if answer.status != 201 or unscoped is None:
        return login_page(request, error=answer.fault(), status=answer.status, **keep)
    projects = await call(request, "GET", "/identity/v3/auth/projects", token=unscoped)
    choices = sorted((projects.body or {}).get("projects", []), key=lambda p: p["name"])
    token = await scoped_token(request, unscoped, choices[0]["id"]) if choices else None
    if token is None:
        message = "You have no role on any project, so there is nothing to show you."
        return login_page(request, error=message, status=403, **keep)
    session = await request.config_dict[SESSIONS].open(request, unscoped, token)
    response = redirect(local_path(fields["next"]))
    set_cookie(request, response, COOKIE, session.id)
    response.del_cookie(LOGIN_COOKIE, path="/dashboard")
    return response


@routes.post("/project")
async def switch_project(request: web.Request) -> web.StreamResponse:
    """Rescope the session to the project in the form, then back to the page it came from."""
    current = await signed_in(request)
    if current is None:
        return redirect("/dashboard/login?reason=expired")
    session, request[AUTH] = current
    form = await request.post()
    if not csrf_ok(request, session, str(form.get(CSRF_FIELD, ""))):
        raise web.HTTPForbidden(text="The form expired; reload the page and try again.")
    token = await scoped_token(request, session.unscoped_token, str(form.get("project_id", "")))
    if token is not None:
        await request.config_dict[SESSIONS].rescope(request, session, token)
    return redirect(local_path(str(form.get("next", ""))))


@routes.post("/logout")
async def log_out(request: web.Request) -> web.StreamResponse:
    """Revoke the session's tokens, forget it and clear its cookie."""
    current = await signed_in(request)
    if current is not None:
        session, request[AUTH] = current
        form = await request.post()
        if not csrf_ok(request, session, str(form.get(CSRF_FIELD, ""))):
            raise web.HTTPForbidden(text="The form expired; reload the page and try again.")
        for token in (session.token, session.unscoped_token):
            headers = {"X-Subject-Token": token}
            await call(request, "DELETE", TOKENS, token=session.unscoped_token, headers=headers)
        await request.config_dict[SESSIONS].close(request, session)
    response = redirect("/dashboard/login?reason=logged_out")
    response.del_cookie(COOKIE, path="/dashboard")
    return response
