"""Structured logs: one JSON object per line, tagged with the current request id."""

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
"""The id of the request being handled in this task, set by the request-id middleware."""

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_encoder = msgspec.json.Encoder(enc_hook=repr)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


class _KumoHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs, so a second call replaces it."""


def configure_logging(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record at `level` or above to `stream` (stderr) as JSON lines.

    Replaces a handler an earlier call installed; other handlers are left alone.
    Raises ValueError for an unknown level name.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _KumoHandler)]:
        root.removeHandler(handler)
    handler = _KumoHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
