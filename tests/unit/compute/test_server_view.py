"""A server document encoded once (`render`) and joined per caller (`encoded_details`) is
the document `detail` builds for that caller, for every microversion and role."""

from datetime import UTC, datetime

import msgspec
import pytest

from service.compute.api.microversion import MAX, MIN, Microversion, parse
from service.compute.directory import Server
from service.compute.events import FlavorSnapshot
from service.compute.server_view import (
    RenderedCache,
    detail,
    encoded_details,
    render,
    shown,
)

BASE = "http://cloud.example:8080"
WHEN = datetime(2026, 11, 26, 4, 30, 1, 123456, tzinfo=UTC)
FLAVOR = FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)


def server(**changes: object) -> Server:
    fields: dict[str, object] = {
        "id": "6c9a0b1e-5f0d-4d59-9a57-3b1f7e2f2c11",
        "project_id": "p1",
        "user_id": "u1",
        "name": 'vm \u00e9"quoted"',
        "vm_state": "active",
        "task_state": None,
        "power_state": 1,
        "flavor": FLAVOR,
        "image_id": "img-1",
        "key_name": "k",
        "public_key": "ssh-ed25519 AAAA k@laptop",
        "key_type": "ssh",
        "metadata": {"a": "b"},
        "availability_zone": "nova",
        "host": "h1",
        "node": "h1",
        "config_drive": True,
        "reservation_id": "r-1",
        "launch_index": 0,
        "security_groups": ["default"],
        "server_group_id": None,
        "tags": ["t1"],
        "description": "d",
        "access_ipv4": "",
        "access_ipv6": "",
        "hostname": "vm",
        "locked": False,
        "locked_by": None,
        "locked_reason": None,
        "fault": None,
        "previous_flavor": None,
        "disk_config": "MANUAL",
        "user_data": None,
        "created_at": WHEN,
        "updated_at": WHEN,
        "launched_at": WHEN,
        "terminated_at": None,
        "deleted": False,
        "version": 3,
    }
    return msgspec.convert(fields | changes, Server)


SERVERS = [
    server(),
    server(vm_state="building", task_state="spawning", host=None, node=None, power_state=0),
    server(
        vm_state="error",
        fault={"code": 500, "message": "no", "details": "", "created": "2026-11-26T04:30:01Z"},
    ),
    server(vm_state="stopped", tags=[], description=None, key_name=None, metadata={}),
]
ADDRESSES = {"net": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed"}]}
VERSIONS = [MIN, parse("2.3"), parse("2.9"), parse("2.16"), parse("2.19"), parse("2.26"), MAX]


@pytest.mark.parametrize("admin", [False, True])
@pytest.mark.parametrize("version", VERSIONS, ids=str)
@pytest.mark.parametrize("addresses", [None, ADDRESSES])
def test_encoded_document_is_the_built_one(
    admin: bool, version: Microversion, addresses: dict[str, object] | None
) -> None:
    built = [detail(each, BASE, version, admin=admin, addresses=addresses) for each in SERVERS]
    documents = [(render(each, BASE), msgspec.json.encode(addresses or {})) for each in SERVERS]
    encoded = encoded_details(documents, shown(version, admin=admin))
    assert msgspec.json.decode(encoded) == built


def test_no_documents_are_an_empty_array() -> None:
    assert encoded_details([], shown(MIN, admin=False)) == b"[]"


def test_admin_and_microversion_fields_follow_the_caller() -> None:
    doc = render(SERVERS[0], BASE)
    [member] = msgspec.json.decode(encoded_details([(doc, b"{}")], shown(MIN, admin=False)))
    assert not any(k.startswith("OS-EXT-SRV-ATTR") for k in member)
    assert "locked" not in member and "tags" not in member
    [admin] = msgspec.json.decode(encoded_details([(doc, b"{}")], shown(MAX, admin=True)))
    assert admin["OS-EXT-SRV-ATTR:reservation_id"] == "r-1"
    assert admin["host_status"] == "UP" and admin["tags"] == ["t1"]


def test_the_cache_serves_only_the_version_it_rendered_and_stays_bounded() -> None:
    cache = RenderedCache(size=2)
    first, second, third = (server(id=f"s{i}", version=1) for i in range(3))
    cache.put("s0", render(first, BASE))
    assert cache.get("s0", 1) is not None
    assert cache.get("s0", 2) is None  # the row changed since
    cache.put("s1", render(second, BASE))
    cache.put("s2", render(third, BASE))
    assert cache.get("s0", 1) is None  # the oldest went
    assert cache.get("s1", 1) is not None and cache.get("s2", 1) is not None
