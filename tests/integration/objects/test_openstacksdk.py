"""openstacksdk's object_store against the app on a loopback port, on both backends:
containers, uploads (whole and streamed), downloads, listings and metadata."""

import asyncio
import hashlib
from typing import Any

import openstack
import pytest
from keystoneauth1 import session
from keystoneauth1.token_endpoint import Token

from tests.integration.objects.conftest import Client, Person

# openstacksdk warns about its own internals (Resource._compute_attributes).
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _connect(client: Client, person: Person) -> Any:
    """A connection with the person's token, its object_store at their account."""
    url = str(client.make_url(f"/object/v1/AUTH_{person.project_id}"))
    return openstack.connection.Connection(
        session=session.Session(auth=Token(url, person.token)),
        object_store_endpoint_override=url,
    )


def _round_trip(conn: Any) -> dict[str, Any]:
    store = conn.object_store
    store.create_container("docs")
    store.upload_object("docs", "a/one.txt", data=b"first", content_type="text/plain")
    store.upload_object("docs", "a/two.txt", data=b"second" * 1000)
    store.upload_object("docs", "b.txt", data=b"third")
    store.set_object_metadata("b.txt", "docs", color="blue")
    return {
        "containers": [c.name for c in store.containers()],
        "objects": [(o.name, o.content_length, o.etag) for o in store.objects("docs")],
        "prefixed": [o.name for o in store.objects("docs", prefix="a/")],
        "one": store.download_object("a/one.txt", container="docs"),
        "two": b"".join(store.stream_object("a/two.txt", container="docs", chunk_size=1024)),
        "meta": store.get_object_metadata("b.txt", "docs").metadata,
        "head": store.get_object_metadata("a/one.txt", "docs"),
        "account": store.get_account_metadata(),
    }


async def test_openstacksdk_object_store_round_trip(client: Client, alice: Person) -> None:
    result = await asyncio.to_thread(_round_trip, _connect(client, alice))
    assert result["containers"] == ["docs"]
    assert result["objects"] == [
        ("a/one.txt", 5, hashlib.md5(b"first").hexdigest()),
        ("a/two.txt", 6000, hashlib.md5(b"second" * 1000).hexdigest()),
        ("b.txt", 5, hashlib.md5(b"third").hexdigest()),
    ]
    assert result["prefixed"] == ["a/one.txt", "a/two.txt"]
    assert result["one"] == b"first"
    assert result["two"] == b"second" * 1000
    assert result["meta"] == {"color": "blue"}
    assert result["head"].etag == hashlib.md5(b"first").hexdigest()
    assert result["head"].content_type == "text/plain"
    assert result["account"].account_object_count == 3


def _delete_all(conn: Any) -> list[str]:
    store = conn.object_store
    store.create_container("tmp")
    store.upload_object("tmp", "x", data=b"x")
    store.delete_object("x", container="tmp")
    store.delete_container("tmp")
    return [c.name for c in store.containers()]


async def test_openstacksdk_deletes_objects_and_containers(client: Client, alice: Person) -> None:
    assert await asyncio.to_thread(_delete_all, _connect(client, alice)) == []
