"""Calls this process makes to its own APIs on behalf of someone else (the dashboard's
pass-through): they say whose address they carry, with a proof only this process knows,
so that an outside client cannot pass an address of its choosing off as its own."""

import secrets
from typing import Final

from aiohttp import web

FORWARDED = web.RequestKey("forwarded", bool)
"""Set on a request this process passed on to its own API: that call is the one to audit."""
PROOF_HEADER: Final = "X-Kumo-Forwarded-By"
_PROOF: Final = secrets.token_urlsafe(32)
"""New for each process: a forwarded call reaches the process that made it."""


def forwarding_headers(address: str | None) -> dict[str, str]:
    """Headers for a call to this process's own API made for a client at `address`."""
    headers = {PROOF_HEADER: _PROOF}
    if address:
        headers["X-Forwarded-For"] = address
    return headers


def forwarded_by_this_process(request: web.Request) -> bool:
    """Whether `request` is this process's own forwarded call (its X-Forwarded-For is
    then the original client's address)."""
    return secrets.compare_digest(request.headers.get(PROOF_HEADER, ""), _PROOF)
