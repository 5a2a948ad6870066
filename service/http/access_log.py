"""One access-log line per request."""

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger("kumo.access")

CLIENT_CLOSED = 499
"""Logged when the handler was cancelled before it answered (nginx's convention)."""


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log method, path (no query: it may hold signatures), status, duration_ms, remote."""
    started = time.perf_counter()
    status = CLIENT_CLOSED
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        log.info(
            "%s %s %d",
            request.method,
            request.path,
            status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "remote": request.remote,
            },
        )
