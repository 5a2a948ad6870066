"""Dashboard sessions: a browser's Keystone tokens, kept server-side (in the database,
sealed) under a random id.

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
from service.identity.fernet_keys import KeyRing
from service.identity.runtime import IDENTITY_RUNTIME

COOKIE = "kumo_session"
LOGIN_COOKIE = "kumo_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SEALED = b"kumo dashboard session\0"
"""What a sealed session starts with, so nothing else sealed with the token keys (a
token) can pass for one."""
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
    """The dashboard's sessions, in the database under their id, so that every process
    serving the dashboard (KUMO_WORKERS) knows each; a session's tokens and CSRF token are
    stored sealed with the token keys, and it lasts as long as a token does."""

    def __init__(self) -> None:
        self._ring: KeyRing | None = None

    async def open(self, request: web.Request, unscoped_token: str, token: str) -> Session:
        """A new session for these tokens (sessions past their time are deleted)."""
        session = Session(
            id=new_secret(), csrf=new_secret(), unscoped_token=unscoped_token, token=token
        )
        identity = request.config_dict[IDENTITY_RUNTIME]
        await identity.store.pool.execute(
            "WITH gone AS (DELETE FROM dashboard_sessions WHERE expires_at < now())"
            " INSERT INTO dashboard_sessions (id, sealed, expires_at)"
            " VALUES ($1, $2, now() + make_interval(secs => $3))",
            session.id,
            self._seal(request, session),
            float(identity.settings.token_expiration),
        )
        return session

    async def of(self, request: web.Request) -> Session | None:
        """The session named by the request's cookie, if it still exists."""
        session_id = request.cookies.get(COOKIE)
        if session_id is None:
            return None
        sealed = await request.config_dict[IDENTITY_RUNTIME].store.pool.fetchval(
            "SELECT sealed FROM dashboard_sessions WHERE id = $1 AND expires_at > now()",
            session_id,
        )
        if sealed is None:
            return None
        opened = self._keys(request).decrypt(sealed)
        if opened is None or not opened.startswith(_SEALED):
            return None  # sealed with a key rotated out since: as good as gone
        session = msgspec.msgpack.decode(opened[len(_SEALED) :], type=Session)
        return session if session.id == session_id else None

    async def rescope(self, request: web.Request, session: Session, token: str) -> None:
        """Make `token` the session's project-scoped token."""
        session.token = token
        await request.config_dict[IDENTITY_RUNTIME].store.pool.execute(
            "UPDATE dashboard_sessions SET sealed = $2 WHERE id = $1",
            session.id,
            self._seal(request, session),
        )

    async def close(self, request: web.Request, session: Session) -> None:
        await request.config_dict[IDENTITY_RUNTIME].store.pool.execute(
            "DELETE FROM dashboard_sessions WHERE id = $1", session.id
        )

    def _seal(self, request: web.Request, session: Session) -> bytes:
        now = request.config_dict[IDENTITY_RUNTIME].clock.now()
        return self._keys(request).encrypt(
            _SEALED + msgspec.msgpack.encode(session), int(now.timestamp())
        )

    def _keys(self, request: web.Request) -> KeyRing:
        if self._ring is None:
            self._ring = KeyRing(request.config_dict[IDENTITY_RUNTIME].keys)
        return self._ring


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
    session = await sessions.of(request)
    if session is None:
        return None
    try:
        return session, await request.config_dict[IDENTITY_RUNTIME].validate(session.token)
    except Unauthorized:
        await sessions.close(request, session)
        return None
