"""Dashboard sessions: a browser's Keystone tokens, kept server-side under a random id.

The browser holds only the id, in an HttpOnly, SameSite=Strict cookie scoped to
/dashboard; the tokens never reach the page. Each session has a CSRF token that every
form and every non-GET call of the page must send back.
"""

import hmac
import secrets

import msgspec
from aiohttp import web

from service.auth import AuthContext
from service.errors import Unauthorized
from service.identity.runtime import IDENTITY_RUNTIME

COOKIE = "kumo_session"
LOGIN_COOKIE = "kumo_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSIONS_KEPT = 10_000
ENDED = "Your session has ended. Please log in again."


class Session(msgspec.Struct, kw_only=True):
    """One logged-in browser: its unscoped token (to switch projects), the token scoped to
    the project it works in, and its CSRF token."""

    id: str
    csrf: str
    unscoped_token: str
    token: str


def new_secret() -> str:
    """A fresh random value for session ids and CSRF tokens (not an event id)."""
    return secrets.token_urlsafe(32)


def same_secret(given: str | None, expected: str) -> bool:
    """Whether `given` equals `expected`, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Sessions:
    """The sessions of this process, in memory: a restart logs everyone out."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def open(self, unscoped_token: str, token: str) -> Session:
        """A new session for these tokens. The oldest sessions are forgotten beyond
        SESSIONS_KEPT (their tokens expire anyway)."""
        while len(self._by_id) >= SESSIONS_KEPT:
            del self._by_id[next(iter(self._by_id))]
        session = Session(
            id=new_secret(), csrf=new_secret(), unscoped_token=unscoped_token, token=token
        )
        self._by_id[session.id] = session
        return session

    def of(self, request: web.Request) -> Session | None:
        """The session named by the request's cookie, if it still exists."""
        session_id = request.cookies.get(COOKIE)
        return None if session_id is None else self._by_id.get(session_id)

    def close(self, session: Session) -> None:
        self._by_id.pop(session.id, None)


SESSIONS = web.AppKey("dashboard_sessions", Sessions)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    """Set a dashboard cookie: HttpOnly, SameSite=Strict, for /dashboard only."""
    response.set_cookie(
        name, value, path="/dashboard", httponly=True, samesite="Strict", secure=request.secure
    )


def csrf_ok(request: web.Request, session: Session, form_value: str | None = None) -> bool:
    """Whether a request may change things: safe methods always; others only with the
    session's CSRF token in the form field given or the X-CSRF-Token header."""
    if request.method in SAFE_METHODS:
        return True
    return same_secret(form_value or request.headers.get(CSRF_HEADER), session.csrf)


async def signed_in(request: web.Request) -> tuple[Session, AuthContext] | None:
    """The request's session and the caller its token stands for now; None without a
    session or once its token expired or was revoked (the session is then closed)."""
    sessions = request.config_dict[SESSIONS]
    session = sessions.of(request)
    if session is None:
        return None
    try:
        return session, await request.config_dict[IDENTITY_RUNTIME].validate(session.token)
    except Unauthorized:
        sessions.close(session)
        return None
