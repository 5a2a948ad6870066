"""Fault bodies per OpenStack service style, rendered without a server."""

import msgspec
import pytest

from service.errors import ApiError, Conflict, InternalServerError, NotFound, error_for_status
from service.http.api import FaultStyle
from service.http.fault import render_fault
from service.network.reachability import ExternalGatewayForFloatingIPNotFound
from service.objects.s3.errors import NoSuchBucket


def json_of(error: ApiError, style: FaultStyle) -> object:
    response = render_fault(error, style)
    assert response.status == error.code
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    return msgspec.json.decode(response.body)


def test_keystone() -> None:
    assert json_of(Conflict("Duplicate entry."), FaultStyle.KEYSTONE) == {
        "error": {"code": 409, "title": "Conflict", "message": "Duplicate entry."}
    }


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (400, "badRequest"),
        (403, "forbidden"),
        (404, "itemNotFound"),
        (409, "conflictingRequest"),
        (413, "overLimit"),
        (415, "badMediaType"),
        (500, "computeFault"),
        (418, "computeFault"),
        (503, "serviceUnavailable"),
    ],
)
def test_nova_fault_names(code: int, name: str) -> None:
    error = error_for_status(code, "why")
    assert json_of(error, FaultStyle.NOVA) == {name: {"code": code, "message": "why"}}


def test_neutron() -> None:
    assert json_of(NotFound("No network."), FaultStyle.NEUTRON) == {
        "NeutronError": {"type": "HTTPNotFound", "message": "No network.", "detail": ""}
    }


def test_neutron_names_the_type_an_error_gives() -> None:
    error = ExternalGatewayForFloatingIPNotFound("net", "sub", "port")
    assert json_of(error, FaultStyle.NEUTRON) == {
        "NeutronError": {
            "type": "ExternalGatewayForFloatingIPNotFound",
            "message": "External network net is not reachable from subnet sub.  Therefore, "
            "cannot associate Port port with a Floating IP.",
            "detail": "",
        }
    }


def test_glance_plain_text() -> None:
    response = render_fault(InternalServerError(), FaultStyle.GLANCE)
    assert response.status == 500
    assert response.content_type == "text/plain"
    assert response.text == f"500 Internal Server Error\n\n{InternalServerError.explanation}\n\n   "


def test_swift_html_is_escaped() -> None:
    response = render_fault(NotFound("<script>"), FaultStyle.SWIFT)
    assert response.content_type == "text/html"
    assert response.text == "<html><h1>Not Found</h1><p>&lt;script&gt;</p></html>"


def test_headers_are_kept() -> None:
    response = render_fault(NotFound(headers={"Allow": "GET"}), FaultStyle.NOVA)
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NoSuchBucket(), 404, "NoSuchBucket"),
        (NotFound(), 404, "NoSuchKey"),
        (error_for_status(401), 403, "AccessDenied"),
        (error_for_status(422, "md5 <mismatch>"), 400, "BadDigest"),
        (error_for_status(413), 400, "EntityTooLarge"),
        (InternalServerError(), 500, "InternalError"),
    ],
)
def test_s3_errors(error: ApiError, status: int, code: str) -> None:
    response = render_fault(error, FaultStyle.S3, "req-1")
    assert (response.status, response.content_type) == (status, "application/xml")
    assert isinstance(response.text, str)
    assert f"<Error><Code>{code}</Code><Message>" in response.text
    assert "<RequestId>req-1</RequestId></Error>" in response.text
    assert "<mismatch>" not in response.text
