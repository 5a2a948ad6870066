import json

from service.compute.config_drive import ConfigDrive, files, meta_data, user_data_bytes

DRIVE = ConfigDrive(
    uuid="0b9a3b5e-4a0e-4d8e-9a57-5f8f3b1f2c11",
    name="web 1",
    hostname="web-1",
    project_id="p1",
    availability_zone="nova",
    public_keys={"mykey": "ssh-ed25519 AAAA me@host"},
    metadata={"role": "web"},
    user_data=b"#!/bin/sh\necho hi\n",
)


def test_layout_is_openstack_latest() -> None:
    assert sorted(files(DRIVE)) == [
        "openstack/latest/meta_data.json",
        "openstack/latest/network_data.json",
        "openstack/latest/user_data",
        "openstack/latest/vendor_data.json",
    ]


def test_meta_data_in_novas_shape() -> None:
    document = json.loads(files(DRIVE)["openstack/latest/meta_data.json"])
    assert document == meta_data(DRIVE)
    assert document["uuid"] == DRIVE.uuid
    assert document["hostname"] == "web-1"
    assert document["name"] == "web 1"
    assert document["availability_zone"] == "nova"
    assert document["meta"] == {"role": "web"}
    assert document["public_keys"] == {"mykey": "ssh-ed25519 AAAA me@host"}
    assert document["keys"] == [
        {"name": "mykey", "type": "ssh", "data": "ssh-ed25519 AAAA me@host"}
    ]
    assert document["launch_index"] == 0


def test_user_data_is_kept_byte_for_byte_and_left_out_when_absent() -> None:
    assert files(DRIVE)["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"
    bare = ConfigDrive(uuid="u", name="n", hostname="n", project_id="p")
    assert "openstack/latest/user_data" not in files(bare)


def test_network_data_defaults_to_empty_lists() -> None:
    bare = ConfigDrive(uuid="u", name="n", hostname="n", project_id="p")
    document = json.loads(files(bare)["openstack/latest/network_data.json"])
    assert document == {"links": [], "networks": [], "services": []}


def test_user_data_is_base64_decoded_for_the_drive_and_anything_else_refused() -> None:
    assert user_data_bytes("IyEvYmluL3NoCg==") == b"#!/bin/sh\n"
    assert user_data_bytes("#!/bin/sh") is None
