"""One JSON access-log line per request."""

import io

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import log_lines

Client = TestClient[web.Request, web.Application]


async def test_one_line_per_request_with_its_fields(
    client: Client, log_stream: io.StringIO
) -> None:
    ok = await client.get("/compute/?secret=sig")
    missing = await client.get("/image/nowhere")
    access = [line for line in log_lines(log_stream) if line["logger"] == "kumo.access"]
    assert len(access) == 2
    first, second = access
    assert first["method"] == "GET"
    assert first["path"] == "/compute/"
    assert first["status"] == 200
    assert first["request_id"] == ok.headers["x-openstack-request-id"]
    assert first["remote"] == "127.0.0.1"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["level"] == "INFO"
    assert "sig" not in str(first)
    assert second["status"] == 404
    assert second["path"] == "/image/nowhere"
    assert second["request_id"] == missing.headers["x-openstack-request-id"]
    assert second["request_id"] != first["request_id"]
