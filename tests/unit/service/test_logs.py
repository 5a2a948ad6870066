"""The JSON log line: its fields, extras, the request id from context, and tracebacks."""

import io
import logging
from datetime import datetime

import pytest

from service.logs import configure_logging, current_request_id
from tests.conftest import log_lines


@pytest.fixture
def stream(log_stream: io.StringIO) -> io.StringIO:
    return log_stream


lines = log_lines


def test_one_json_object_per_line_with_extras(stream: io.StringIO) -> None:
    logging.getLogger("kumo.test").info("hello %s", "world", extra={"count": 3, "ok": True})
    [line] = lines(stream)
    assert set(line) == {"time", "level", "logger", "message", "count", "ok"}
    assert line["level"] == "INFO"
    assert line["logger"] == "kumo.test"
    assert line["message"] == "hello world"
    assert line["count"] == 3 and line["ok"] is True
    assert isinstance(line["time"], str)
    assert datetime.fromisoformat(line["time"]).utcoffset() is not None


def test_request_id_comes_from_the_context(stream: io.StringIO) -> None:
    token = current_request_id.set("req-00000000-0000-0000-0000-000000000001")
    try:
        logging.getLogger("kumo.test").warning("inside")
    finally:
        current_request_id.reset(token)
    logging.getLogger("kumo.test").warning("outside")
    inside, outside = lines(stream)
    assert inside["request_id"] == "req-00000000-0000-0000-0000-000000000001"
    assert "request_id" not in outside


def test_level_filters_and_unencodable_extras_fall_back_to_repr(stream: io.StringIO) -> None:
    logging.getLogger("kumo.test").debug("hidden")
    logging.getLogger("kumo.test").info("shown", extra={"thing": object})
    [line] = lines(stream)
    assert line["message"] == "shown"
    assert line["thing"] == "<class 'object'>"


def test_exceptions_carry_their_traceback(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("kumo.test").exception("failed")
    [line] = lines(stream)
    assert line["level"] == "ERROR"
    assert "Traceback" in str(line["exception"])
    assert "ValueError: bad value" in str(line["exception"])


def test_configuring_twice_keeps_one_handler(stream: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("WARNING", second)
    logging.getLogger("kumo.test").warning("once")
    assert stream.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1
