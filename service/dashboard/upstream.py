"""The dashboard's client of Kumo's own APIs: requests to this same server, so that every
dashboard action runs the very API handler, policy check and read model a client would."""

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

UPSTREAM = web.AppKey("dashboard_upstream", aiohttp.ClientSession)


async def upstream_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one client session for the app's life. Bodies pass through as they
    are (compressed or not); streams (SSE, downloads) have no overall time limit."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(auto_decompress=False, timeout=timeout) as session:
        app[UPSTREAM] = session
        yield


def base_url(request: web.Request) -> str:
    """This server's address as the request reached it, e.g. `http://127.0.0.1:8080`."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        raise web.HTTPServiceUnavailable(text="The dashboard cannot reach its own APIs.")
    host, port = sockname[0], sockname[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Answer(msgspec.Struct, frozen=True):
    """An API's answer to a dashboard call: status, headers and decoded JSON (or None)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    def fault(self) -> str:
        """The human message of an OpenStack fault body (any service's shape)."""
        return fault_message(self.body, self.status)


def fault_message(body: Any, status: int) -> str:
    """The `message` of a Keystone/Nova/Neutron fault document, else a generic line."""
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return f"The request failed ({status})."


async def call(
    request: web.Request,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One JSON call to this server's API at `path` (e.g. `/identity/v3/auth/projects`)
    with `token` as X-Auth-Token. Never raises for an API error: see Answer.status."""
    sent = {"Accept": "application/json", "Accept-Encoding": "identity", **(headers or {})}
    if token is not None:
        sent["X-Auth-Token"] = token
    data = None if json is None else msgspec.json.encode(json)
    if data is not None:
        sent["Content-Type"] = "application/json"
    client = request.config_dict[UPSTREAM]
    url = base_url(request) + path
    async with client.request(method, url, data=data, headers=sent) as answer:
        raw = await answer.read()
    try:
        body = msgspec.json.decode(raw) if raw.strip() else None
    except msgspec.DecodeError:
        body = None
    return Answer(answer.status, dict(answer.headers), body)
