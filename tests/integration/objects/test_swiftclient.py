"""python-swiftclient against the app on a real loopback port, called from a thread:
`swiftclient.client` calls and the `swift upload --segment-size` flow of SwiftService,
on both object backends."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from swiftclient import client as swift
from swiftclient.service import SwiftService, SwiftUploadObject

from tests.integration.objects.conftest import Client, Person


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _url(client: Client, person: Person) -> str:
    return str(client.make_url(f"/object/v1/AUTH_{person.project_id}"))


def _connection(client: Client, person: Person) -> swift.Connection:
    return swift.Connection(preauthurl=_url(client, person), preauthtoken=person.token, retries=0)


def _round_trip(conn: swift.Connection) -> dict[str, Any]:
    conn.put_container("photos", headers={"X-Container-Meta-Kind": "pics"})
    etag = conn.put_object(
        "photos", "2024/cat.jpg", contents=iter([b"meow"] * 3), content_type="image/jpeg"
    )
    conn.put_object("photos", "2024/dog.jpg", contents=b"woof")
    conn.put_object("photos", "readme", contents=b"hi")
    headers, body = conn.get_object("photos", "2024/cat.jpg")
    _, listing = conn.get_container("photos", prefix="2024/")
    _, folders = conn.get_container("photos", delimiter="/")
    conn.post_object("photos", "readme", headers={"X-Object-Meta-Lang": "en"})
    account = conn.head_account()
    return {
        "etag": etag,
        "headers": headers,
        "body": body,
        "listing": listing,
        "folders": folders,
        "meta": conn.head_object("photos", "readme"),
        "account": account,
    }


async def test_swiftclient_round_trip(client: Client, alice: Person) -> None:
    result = await asyncio.to_thread(_round_trip, _connection(client, alice))
    assert result["body"] == b"meow" * 3
    assert result["headers"]["etag"] == result["etag"]
    assert result["headers"]["content-type"] == "image/jpeg"
    assert [o["name"] for o in result["listing"]] == ["2024/cat.jpg", "2024/dog.jpg"]
    assert [o.get("subdir") or o["name"] for o in result["folders"]] == ["2024/", "readme"]
    assert result["meta"]["x-object-meta-lang"] == "en"
    assert result["account"]["x-account-object-count"] == "3"


def _shared_read(owner: swift.Connection, reader: swift.Connection, reader_project: str) -> bytes:
    owner.put_container("shared", headers={"X-Container-Read": reader_project})
    owner.put_object("shared", "doc", contents=b"for bob")
    _, body = reader.get_object("shared", "doc")
    return bytes(body)


async def test_swiftclient_read_acl_across_projects(
    client: Client, alice: Person, bob: Person
) -> None:
    owner = _connection(client, alice)
    reader = swift.Connection(preauthurl=_url(client, alice), preauthtoken=bob.token, retries=0)
    body = await asyncio.to_thread(_shared_read, owner, reader, bob.project_id)
    assert body == b"for bob"


def _segmented_upload(url: str, token: str, source: Path, use_slo: bool) -> list[dict[str, Any]]:
    options = {
        "os_storage_url": url,
        "os_auth_token": token,
        "segment_size": 1000,
        "use_slo": use_slo,
    }
    with SwiftService(options=options) as service:
        upload = SwiftUploadObject(str(source), object_name="big.bin")
        results = list(service.upload("files", [upload]))
    return results


async def test_swift_upload_with_segments(client: Client, alice: Person, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = bytes(range(256)) * 20
    source.write_bytes(data)
    conn = _connection(client, alice)
    for use_slo in (True, False):
        results = await asyncio.to_thread(
            _segmented_upload, _url(client, alice), alice.token, source, use_slo
        )
        assert all(r["success"] for r in results), results
        headers, body = await asyncio.to_thread(conn.get_object, "files", "big.bin")
        assert body == data
        assert ("x-static-large-object" in headers) == use_slo
        assert ("x-object-manifest" in headers) == (not use_slo)
