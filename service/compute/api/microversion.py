"""Compute microversions: what the client asked for, answered and echoed.

`OpenStack-API-Version: compute X.Y` (or the older `X-OpenStack-Nova-API-Version: X.Y`)
picks the version; none means 2.1, `latest` the highest. Every compute response says
which version answered it, as Tempest and the clients check.
"""

import re

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from service.errors import ApiError, BadRequest
from service.http.versions import COMPUTE_MAX_MICROVERSION, COMPUTE_MIN_MICROVERSION

NEW_HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class Microversion(msgspec.Struct, frozen=True, order=True):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, version: str) -> bool:
        """Whether this is `version` ("2.26") or later."""
        return self >= parse(version)


def parse(text: str) -> Microversion:
    """A "X.Y" version; ValueError otherwise."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(text)
    return Microversion(int(match.group(1)), int(match.group(2)))


MIN = parse(COMPUTE_MIN_MICROVERSION)
MAX = parse(COMPUTE_MAX_MICROVERSION)
MICROVERSION = web.RequestKey("compute_microversion", Microversion)


class NotAcceptable(ApiError):
    code = 406
    explanation = "The requested API version is not supported."


def requested(request: web.Request) -> Microversion:
    """The version a request asks for; BadRequest if garbled, 406 if out of range."""
    text = None
    new = request.headers.get(NEW_HEADER)
    if new is not None:
        for item in new.split(","):
            service, _, version = item.strip().partition(" ")
            if service.lower() == "compute":
                text = version.strip()
    if text is None:
        text = request.headers.get(LEGACY_HEADER)
    if text is None:
        return MIN
    if text.lower() == "latest":
        return MAX
    try:
        asked = parse(text)
    except ValueError:
        raise BadRequest(
            f"Invalid API version request string: {text}. The format is X.Y, e.g. 2.1."
        ) from None
    if not MIN <= asked <= MAX:
        raise NotAcceptable(
            f"Version {asked} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
        )
    return asked


@web.middleware
async def microversion_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Negotiate the version of a compute request and echo it on the response (errors too)."""
    version = MIN
    try:
        version = requested(request)
        request[MICROVERSION] = version
        response = await handler(request)
    except ApiError as error:
        error.headers.update(_echo(version))
        raise
    except web.HTTPException as error:
        error.headers.update(_echo(version))
        raise
    response.headers.update(_echo(version))
    return response


def _echo(version: Microversion) -> dict[str, str]:
    return {
        NEW_HEADER: f"compute {version}",
        LEGACY_HEADER: str(version),
        "Vary": f"{NEW_HEADER}, {LEGACY_HEADER}",
    }


def version_of(request: web.Request) -> Microversion:
    """The negotiated version of a compute request (2.1 outside the middleware)."""
    return request[MICROVERSION] if MICROVERSION in request else MIN
