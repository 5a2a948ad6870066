"""Typed API errors, each carrying its HTTP status and a default message.

Command handlers raise these; one middleware (service/http/fault.py) renders them
in the OpenStack fault body of the API the request belongs to.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import ClassVar


class ApiError(Exception):
    """An error the client is told about: status `code`, a `message`, extra `headers`."""

    code: int = 500
    explanation: ClassVar[str] = (
        "An unexpected error prevented the server from fulfilling your request."
    )
    s3_code: ClassVar[str | None] = None
    """Its code in an S3 API's error body; None: the one its status stands for there."""
    neutron_type: ClassVar[str | None] = None
    """Its `type` in a Neutron error body; None: the one its status stands for
    (`HTTPNotFound`, ...)."""

    def __init__(self, message: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.message = message or self.explanation
        self.headers = dict(headers or {})
        super().__init__(self.message)

    @property
    def title(self) -> str:
        """The status's reason phrase, e.g. "Not Found"."""
        try:
            return HTTPStatus(self.code).phrase
        except ValueError:
            return "Error"


class BadRequest(ApiError):
    code = 400
    explanation = (
        "The server could not comply with the request since it is either malformed "
        "or otherwise incorrect."
    )


class Unauthorized(ApiError):
    code = 401
    explanation = "The request you have made requires authentication."


class Forbidden(ApiError):
    code = 403
    explanation = "You are not authorized to perform the requested action."


class NotFound(ApiError):
    code = 404
    explanation = "The resource could not be found."


class MethodNotAllowed(ApiError):
    code = 405
    explanation = "The method is not allowed for this resource."


class Conflict(ApiError):
    code = 409
    explanation = "There was a conflict when trying to complete your request."


class PreconditionFailed(ApiError):
    code = 412
    explanation = "A precondition for this request was not met."


class RequestEntityTooLarge(ApiError):
    code = 413
    explanation = "The body of your request was too large for this server."


class UnsupportedMediaType(ApiError):
    code = 415
    explanation = "The request media type is not supported by this server."


class TooManyRequests(ApiError):
    code = 429
    explanation = "Too many requests; try again later."


class InternalServerError(ApiError):
    code = 500


class NotSupported(ApiError):
    code = 501
    explanation = "This action is not supported."


class ServiceUnavailable(ApiError):
    code = 503
    explanation = "The server is currently unavailable. Please try again at a later time."


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        RequestEntityTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        InternalServerError,
        NotSupported,
        ServiceUnavailable,
    )
}


def error_for_status(
    code: int, message: str | None = None, *, headers: Mapping[str, str] | None = None
) -> ApiError:
    """The typed error for an HTTP status code; a plain ApiError with that code otherwise."""
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(message, headers=headers)
    error = ApiError(message, headers=headers)
    error.code = code
    if message is None:
        error.message = error.title
    return error
