"""Errors come back in the fault body of the API the path belongs to, never a traceback."""

import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import log_lines
from tests.integration.service.conftest import SECRET

Client = TestClient[web.Request, web.Application]

NOT_FOUND = "The resource could not be found."


@pytest.mark.parametrize("prefix", ["/identity", "/events", "/dashboard", ""])
async def test_keystone_style_404(client: Client, prefix: str) -> None:
    response = await client.get(f"{prefix}/no/such/thing")
    assert response.status == 404
    assert await response.json() == {
        "error": {"code": 404, "title": "Not Found", "message": NOT_FOUND}
    }


async def test_nova_style_404(client: Client) -> None:
    response = await client.get("/compute/v2.1/no-such-thing")
    assert response.status == 404
    assert await response.json() == {"itemNotFound": {"code": 404, "message": NOT_FOUND}}


async def test_glance_style_404_is_plain_text(client: Client) -> None:
    response = await client.get("/image/v2/no-such-thing")
    assert response.status == 404
    assert response.content_type == "text/plain"
    assert await response.text() == f"404 Not Found\n\n{NOT_FOUND}\n\n   "


async def test_swift_style_404_is_swobs_html(client: Client) -> None:
    response = await client.get("/object/nothing")
    assert response.status == 404
    assert response.content_type == "text/html"
    assert await response.text() == f"<html><h1>Not Found</h1><p>{NOT_FOUND}</p></html>"


async def test_neutron_style_404(client: Client) -> None:
    response = await client.get("/network/v2.0/nothing")
    assert response.status == 404
    assert await response.json() == {
        "NeutronError": {"type": "HTTPNotFound", "message": NOT_FOUND, "detail": ""}
    }


async def test_typed_error_message_is_kept(client: Client) -> None:
    response = await client.get("/compute/test/missing")
    assert await response.json() == {
        "itemNotFound": {"code": 404, "message": "No server with id 42."}
    }


@pytest.mark.parametrize(("prefix", "name"), [("/compute", "badMethod"), ("/identity", "error")])
async def test_405_keeps_allow_header(client: Client, prefix: str, name: str) -> None:
    response = await client.delete(f"{prefix}/")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json())[name]["code"] == 405


@pytest.mark.parametrize(
    ("prefix", "name", "fields"),
    [
        ("/compute", "badRequest", {"code": 400}),
        ("/identity", "error", {"code": 400, "title": "Bad Request"}),
    ],
)
async def test_malformed_json_is_400(
    client: Client, prefix: str, name: str, fields: dict[str, object]
) -> None:
    response = await client.post(
        f"{prefix}/test/echo", data=b'{"server": {', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    [(fault_name, fault)] = (await response.json()).items()
    assert fault_name == name
    assert fault.pop("message").startswith("Malformed JSON in request body")
    assert fault == fields


async def test_invalid_field_is_400_naming_the_field(client: Client) -> None:
    response = await client.post("/compute/test/echo", json={"server": {"name": "a", "ram": "x"}})
    assert response.status == 400
    message = (await response.json())["badRequest"]["message"]
    assert "Expected `int`, got `str`" in message
    assert "$.server.ram" in message


async def test_empty_body_is_400(client: Client) -> None:
    response = await client.post("/compute/test/echo", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "empty" in (await response.json())["badRequest"]["message"]


async def test_valid_body_is_decoded(client: Client) -> None:
    response = await client.post("/compute/test/echo", json={"server": {"name": "a", "ram": 512}})
    assert response.status == 200
    assert await response.json() == {"server": {"name": "a", "ram": 512}}


@pytest.mark.parametrize(
    ("prefix", "status"), [("/compute", 415), ("/image", 415), ("/identity", 400)]
)
async def test_wrong_content_type(client: Client, prefix: str, status: int) -> None:
    response = await client.post(
        f"{prefix}/test/echo", data=b'{"server": {"name": "a", "ram": 1}}',
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    assert response.status == status
    assert "Expected Content-Type application/json, not text/plain" in await response.text()


async def test_oversized_body_is_413(client: Client) -> None:
    response = await client.post(
        "/compute/test/echo",
        data=io.BytesIO(b"x" * (1024**2 + 1)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["overLimit"]["code"] == 413


@pytest.mark.parametrize(
    ("prefix", "fault"),
    [("/compute", "computeFault"), ("/identity", "error"), ("/network", "NeutronError")],
)
async def test_unexpected_exception_is_500_without_detail(
    client: Client, log_stream: io.StringIO, prefix: str, fault: str
) -> None:
    response = await client.get(f"{prefix}/test/boom")
    assert response.status == 500
    text = await response.text()
    assert SECRET not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    assert (await response.json())[fault]["message"].startswith("An unexpected error")
    errors = [line for line in log_lines(log_stream) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == response.headers["x-openstack-request-id"]
    assert "Traceback" in str(errors[0]["exception"])
    assert SECRET in str(errors[0]["exception"])


@pytest.mark.parametrize("prefix", ["/image", "/object"])
async def test_500_in_text_styles_has_no_detail(client: Client, prefix: str) -> None:
    response = await client.get(f"{prefix}/test/boom")
    assert response.status == 500
    text = await response.text()
    assert "An unexpected error" in text
    assert SECRET not in text
    assert "Traceback" not in text


async def test_raised_redirect_passes_through(client: Client) -> None:
    response = await client.get("/compute/test/redirect", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/compute/"
    assert response.headers["x-compute-request-id"].startswith("req-")
