import json

import pytest

from service.compute.config_drive import (
    VERSIONS,
    ConfigDrive,
    PublicKey,
    files,
    meta_data,
    required,
    user_data_bytes,
)

KEY = PublicKey(name="mykey", type="ssh", data="ssh-ed25519 AAAA me@host")
DRIVE = ConfigDrive(
    uuid="0b9a3b5e-4a0e-4d8e-9a57-5f8f3b1f2c11",
    name="web 1",
    hostname="web-1",
    project_id="p1",
    availability_zone="nova",
    key=KEY,
    metadata={"role": "web"},
    user_data=b"#!/bin/sh\necho hi\n",
)


def test_layout_is_novas_every_version_and_latest() -> None:
    """Nova writes each metadata version with the files it has (vendor data from
    Havana's, network data from Liberty's); cloud-init reads the newest it knows."""
    layout = files(DRIVE)
    assert sorted(p for p in layout if p.startswith("openstack/latest/")) == [
        "openstack/latest/meta_data.json",
        "openstack/latest/network_data.json",
        "openstack/latest/user_data",
        "openstack/latest/vendor_data.json",
    ]
    assert sorted(p for p in layout if p.startswith("openstack/2012-08-10/")) == [
        "openstack/2012-08-10/meta_data.json",
        "openstack/2012-08-10/user_data",
    ]
    assert "openstack/2013-10-17/vendor_data.json" in layout
    assert "openstack/2015-10-15/network_data.json" in layout
    assert {p.split("/")[1] for p in layout} == set(VERSIONS)
    newest = "openstack/2018-08-27"
    assert {p.replace(newest, "openstack/latest") for p in layout if p.startswith(newest)} == {
        p for p in layout if p.startswith("openstack/latest/")
    }
    assert layout[f"{newest}/meta_data.json"] == layout["openstack/latest/meta_data.json"]


def test_meta_data_in_novas_shape() -> None:
    document = json.loads(files(DRIVE)["openstack/latest/meta_data.json"])
    assert document == meta_data(DRIVE)
    assert document == {
        "uuid": DRIVE.uuid,
        "name": "web 1",
        "hostname": "web-1",
        "project_id": "p1",
        "availability_zone": "nova",
        "launch_index": 0,
        "meta": {"role": "web"},
        "public_keys": {"mykey": "ssh-ed25519 AAAA me@host"},
        "keys": [{"name": "mykey", "type": "ssh", "data": "ssh-ed25519 AAAA me@host"}],
        "devices": [],
    }


def test_the_oldest_version_has_the_key_but_not_what_came_later() -> None:
    document = json.loads(files(DRIVE)["openstack/2012-08-10/meta_data.json"])
    assert document["public_keys"] == {"mykey": "ssh-ed25519 AAAA me@host"}
    assert document["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY.data}]
    assert "project_id" not in document and "devices" not in document


def test_an_x509_key_keeps_its_type() -> None:
    x509 = ConfigDrive(
        uuid="u", name="n", hostname="n", project_id="p", key=PublicKey("cert", "x509", "PEM")
    )
    assert meta_data(x509)["keys"] == [{"name": "cert", "type": "x509", "data": "PEM"}]


def test_without_a_key_pair_there_are_no_keys_as_with_nova() -> None:
    bare = ConfigDrive(uuid="u", name="n", hostname="n", project_id="p")
    for version in VERSIONS:
        document = json.loads(files(bare)[f"openstack/{version}/meta_data.json"])
        assert "public_keys" not in document and "keys" not in document


def test_user_data_is_kept_byte_for_byte_and_left_out_when_absent() -> None:
    assert files(DRIVE)["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"
    bare = ConfigDrive(uuid="u", name="n", hostname="n", project_id="p")
    assert not [p for p in files(bare) if p.endswith("/user_data")]


def test_network_data_defaults_to_empty_lists() -> None:
    bare = ConfigDrive(uuid="u", name="n", hostname="n", project_id="p")
    document = json.loads(files(bare)["openstack/latest/network_data.json"])
    assert document == {"links": [], "networks": [], "services": []}


def test_user_data_is_base64_decoded_for_the_drive_and_anything_else_refused() -> None:
    assert user_data_bytes("IyEvYmluL3NoCg==") == b"#!/bin/sh\n"
    assert user_data_bytes("#!/bin/sh") is None


@pytest.mark.parametrize(
    ("asked", "force", "carries", "launched", "drive"),
    [
        (False, None, False, False, False),  # nothing for the guest: no drive
        (False, None, True, False, True),  # a key or user data: the only way in
        (False, None, True, True, True),  # ... also when a rebuild brings them
        (True, None, False, False, True),
        (False, True, False, False, True),  # Nova's force_config_drive ...
        (False, True, True, True, False),  # ... is for new servers only
        (False, False, True, False, False),  # only those that ask, as Nova's default
        (True, False, False, False, True),
    ],
)
def test_who_gets_a_config_drive(
    asked: bool, force: bool | None, carries: bool, launched: bool, drive: bool
) -> None:
    assert required(asked, force, carries=carries, launched=launched) is drive
