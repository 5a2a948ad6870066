"""Version discovery at every API root, in the shapes the OpenStack clients parse."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.http.versions import COMPUTE_MAX_MICROVERSION
from tests.integration.service.conftest import PUBLIC_URL

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize("path", ["/identity", "/identity/"])
async def test_identity_root_is_300_with_versions_values(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 300
    assert response.content_type == "application/json"
    assert response.headers["Location"] == f"{PUBLIC_URL}/identity/v3/"
    assert await response.json() == {
        "versions": {
            "values": [
                {
                    "id": "v3.14",
                    "status": "stable",
                    "updated": "2020-04-07T00:00:00Z",
                    "links": [{"rel": "self", "href": f"{PUBLIC_URL}/identity/v3/"}],
                    "media-types": [
                        {
                            "base": "application/json",
                            "type": "application/vnd.openstack.identity-v3+json",
                        }
                    ],
                }
            ]
        }
    }


@pytest.mark.parametrize("path", ["/identity/v3", "/identity/v3/"])
async def test_identity_v3_document(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    version = (await response.json())["version"]
    assert version["id"] == "v3.14"
    assert version["status"] == "stable"
    assert version["links"] == [{"rel": "self", "href": f"{PUBLIC_URL}/identity/v3/"}]
    assert version["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"


@pytest.mark.parametrize("path", ["/compute", "/compute/"])
async def test_compute_root_lists_v20_then_v21_with_microversions(
    client: Client, path: str
) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert await response.json() == {
        "versions": [
            {
                "id": "v2.0",
                "status": "SUPPORTED",
                "version": "",
                "min_version": "",
                "updated": "2011-01-21T11:33:21Z",
                "links": [{"rel": "self", "href": f"{PUBLIC_URL}/compute/v2/"}],
            },
            {
                "id": "v2.1",
                "status": "CURRENT",
                "version": COMPUTE_MAX_MICROVERSION,
                "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": f"{PUBLIC_URL}/compute/v2.1/"}],
            },
        ]
    }


@pytest.mark.parametrize("path", ["/compute/v2.1", "/compute/v2.1/"])
async def test_compute_v21_document(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    version = (await response.json())["version"]
    assert version["id"] == "v2.1"
    assert version["version"] == COMPUTE_MAX_MICROVERSION
    assert version["min_version"] == "2.1"
    assert version["links"][0] == {"rel": "self", "href": f"{PUBLIC_URL}/compute/v2.1/"}
    assert version["links"][1]["rel"] == "describedby"
    assert version["media-types"] == [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
    ]


@pytest.mark.parametrize(
    ("path", "status"), [("/image/", 300), ("/image", 300), ("/image/versions", 200)]
)
async def test_image_versions(client: Client, path: str, status: int) -> None:
    response = await client.get(path)
    assert response.status == status
    versions = (await response.json())["versions"]
    assert [v["status"] for v in versions].count("CURRENT") == 1
    for version in versions:
        assert version["id"].startswith("v2.")
        assert version["links"] == [{"rel": "self", "href": f"{PUBLIC_URL}/image/v2/"}]


async def test_object_info_without_token(client: Client) -> None:
    response = await client.get("/object/info")
    assert response.status == 200
    swift = (await response.json())["swift"]
    assert swift["max_file_size"] == 5368709122
    assert swift["container_listing_limit"] == 10000
    assert isinstance(swift["version"], str)
    assert "tempurl" in (await response.json())


async def test_network_root_lists_v20(client: Client) -> None:
    response = await client.get("/network/")
    assert response.status == 200
    assert await response.json() == {
        "versions": [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": f"{PUBLIC_URL}/network/v2.0"}],
            }
        ]
    }


async def test_events_root_and_v1(client: Client) -> None:
    listing = await (await client.get("/events/")).json()
    assert [v["id"] for v in listing["versions"]] == ["v1"]
    assert listing["versions"][0]["links"] == [{"rel": "self", "href": f"{PUBLIC_URL}/events/v1/"}]
    response = await client.get("/events/v1")
    assert response.status == 200
    assert (await response.json())["version"]["id"] == "v1"


async def test_links_follow_the_public_url_not_the_host_header(client: Client) -> None:
    response = await client.get("/compute/", headers={"Host": "elsewhere.example:1"})
    body = await response.text()
    assert "elsewhere.example" not in body
    assert f"{PUBLIC_URL}/compute/v2.1/" in body
