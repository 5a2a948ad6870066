"""Typed errors carry their status, title and a default message."""

import pytest

from service.errors import (
    ApiError,
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    error_for_status,
)


@pytest.mark.parametrize(
    ("cls", "code", "title"),
    [
        (BadRequest, 400, "Bad Request"),
        (NotFound, 404, "Not Found"),
        (MethodNotAllowed, 405, "Method Not Allowed"),
        (Conflict, 409, "Conflict"),
        (RequestEntityTooLarge, 413, "Request Entity Too Large"),
        (UnsupportedMediaType, 415, "Unsupported Media Type"),
        (ServiceUnavailable, 503, "Service Unavailable"),
    ],
)
def test_status_and_title(cls: type[ApiError], code: int, title: str) -> None:
    error = cls()
    assert (error.code, error.title) == (code, title)
    assert error.message == cls.explanation
    assert str(error) == cls.explanation


def test_message_and_headers() -> None:
    error = NotFound("No server 42.", headers={"X-A": "1"})
    assert error.message == "No server 42."
    assert error.headers == {"X-A": "1"}


def test_error_for_status_picks_the_typed_error() -> None:
    error = error_for_status(404, "gone")
    assert type(error) is NotFound
    assert error.message == "gone"


def test_error_for_an_untyped_status() -> None:
    error = error_for_status(416)
    assert type(error) is ApiError
    assert error.code == 416
    assert error.title == "Requested Range Not Satisfiable"
    assert error.message == error.title
    assert ApiError.code == 500
