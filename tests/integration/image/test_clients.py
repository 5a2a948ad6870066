"""The real OpenStack clients against a real `kumo up`, once per object backend: openstacksdk
(`conn.image.create_image(... data=...)`, download, list with filters) and the `openstack`
CLI as a subprocess (`image create --file`, `image save`, `image list`). Sync tests, since
the libraries block; one server per backend for the whole module."""

import hashlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml

from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, LiveCloud, own_database
from tests.integration.identity.test_clients import OPENSTACK, connect

# openstacksdk warns about its own deprecations on every connection and resource
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")

MiB = 1024 * 1024


@pytest.fixture(scope="module", params=["local", "s3"])
def image_cloud(
    request: pytest.FixtureRequest,
    server_url: str,
    template_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveCloud]:
    """`kumo up` on a database of its own, keeping image bytes in the local folder or in
    a bucket of its own on the session's moto server."""
    with own_database(server_url) as database_url:
        kumo = KumoProcess(
            database_url, tmp_path_factory.mktemp("kumo-data"), tmp_path_factory.mktemp("os")
        )
        if request.param == "s3":
            kumo.env |= {
                "KUMO_OBJECT_BACKEND": "s3",
                "KUMO_S3_BUCKET": f"kumo-images-{secrets.token_hex(6)}",
                "KUMO_S3_ENDPOINT_URL": request.getfixturevalue("moto_url"),
                "KUMO_S3_ACCESS_KEY_ID": "testing",
                "KUMO_S3_SECRET_ACCESS_KEY": "testing",
                "KUMO_S3_REGION": "us-east-1",
            }
        try:
            kumo.start()
            yield LiveCloud(kumo.url, f"{kumo.url}/identity/v3", ADMIN_PASSWORD, database_url)
        finally:
            kumo.stop()


def payload(size: int) -> bytes:
    """Bytes that are not all alike, so a misplaced chunk changes the hashes."""
    return secrets.token_bytes(size)


def test_openstacksdk_create_download_and_list_with_filters(
    image_cloud: LiveCloud, tmp_path: Path
) -> None:
    conn = connect(image_cloud, "admin", ADMIN_PASSWORD, "admin")
    data = payload(17 * MiB + 3)  # above the S3 multipart threshold, not a whole part
    image = conn.image.create_image(
        name="sdk-image", data=data, disk_format="raw", container_format="bare",
        tags=["sdk"], visibility="private",
    )  # fmt: skip
    shown = conn.image.get_image(image.id)
    assert shown.status == "active"
    assert shown.size == len(data)
    assert shown.checksum == hashlib.md5(data).hexdigest()
    assert shown.hash_algo == "sha512"
    assert shown.hash_value == hashlib.sha512(data).hexdigest()

    downloaded = conn.image.download_image(shown)
    assert downloaded.content == data  # the SDK has checked Content-MD5 on the way
    out = tmp_path / "out.img"
    conn.image.download_image(shown, output=str(out), stream=True)
    assert out.read_bytes() == data

    other = conn.image.create_image(
        name="sdk-other", data=b"small", disk_format="qcow2", container_format="bare"
    )
    assert [i.id for i in conn.image.images(name="sdk-image")] == [image.id]
    assert [i.id for i in conn.image.images(tag="sdk")] == [image.id]
    assert {i.id for i in conn.image.images(disk_format="qcow2")} == {other.id}
    assert {i.id for i in conn.image.images(size_min=MiB)} == {image.id}
    assert {i.id for i in conn.image.images(status="active", visibility="private")} >= {image.id}
    # limit=1: the SDK follows the `next` links page by page
    assert [i.id for i in conn.image.images(limit=1, sort="name:asc")] == [image.id, other.id]

    conn.image.delete_image(other)
    assert conn.image.find_image("sdk-other") is None


def test_openstacksdk_create_through_the_import_api(image_cloud: LiveCloud) -> None:
    conn = connect(image_cloud, "admin", ADMIN_PASSWORD, "admin")
    data = payload(MiB + 7)
    image = conn.image.create_image(
        name="sdk-imported", data=data, disk_format="raw", container_format="bare",
        use_import=True, wait=True, timeout=60,
    )  # fmt: skip
    shown = conn.image.get_image(image.id)
    assert (shown.status, shown.size) == ("active", len(data))
    assert shown.checksum == hashlib.md5(data).hexdigest()
    assert conn.image.download_image(shown).content == data
    conn.image.delete_image(shown)


def test_openstacksdk_another_project_sees_only_what_is_shared_and_accepted(
    image_cloud: LiveCloud,
) -> None:
    admin = connect(image_cloud, "admin", ADMIN_PASSWORD, "admin")
    member_role = admin.identity.find_role("member")
    people = {}
    for name in ("img-owner", "img-member"):
        project = admin.identity.create_project(name=f"p-{name}", domain_id="default")
        user = admin.identity.create_user(name=name, password=f"{name}-pw", domain_id="default",
                                          default_project_id=project.id)  # fmt: skip
        admin.identity.assign_project_role_to_user(project, user, member_role)
        people[name] = (connect(image_cloud, name, f"{name}-pw", f"p-{name}"), project.id)
    owner, _ = people["img-owner"]
    member, member_project = people["img-member"]

    private = owner.image.create_image(name="owner-private", data=b"mine",
                                       disk_format="raw", container_format="bare")  # fmt: skip
    shared = owner.image.create_image(name="owner-shared", data=b"ours", disk_format="raw",
                                      container_format="bare", visibility="shared")  # fmt: skip
    assert member.image.find_image(private.id) is None
    with pytest.raises(openstack.exceptions.NotFoundException):
        member.image.update_image(private.id, name="stolen")
    with pytest.raises(openstack.exceptions.NotFoundException):
        member.image.delete_image(private.id, ignore_missing=False)

    owner.image.add_member(shared.id, member_id=member_project)
    assert shared.id not in {i.id for i in member.image.images()}
    member.image.update_member(member_project, shared.id, status="accepted")
    assert shared.id in {i.id for i in member.image.images()}
    assert member.image.download_image(shared.id).content == b"ours"
    with pytest.raises(openstack.exceptions.ForbiddenException):
        member.image.update_image(shared.id, name="theirs")


# --- the openstack CLI ----------------------------------------------------------------


def cli(clouds: Path, *args: str) -> str:
    """The stdout of the `openstack` CLI as the admin, with only `clouds` as configuration;
    fails the test if the command fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    result = subprocess.run(
        [OPENSTACK, "--os-cloud", "admin", *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_openstack_cli_image_create_save_list(image_cloud: LiveCloud, tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    auth = {"auth_url": image_cloud.auth_url, "username": "admin",
            "password": image_cloud.admin_password, "project_name": "admin",
            "user_domain_name": "Default", "project_domain_name": "Default"}  # fmt: skip
    clouds.write_text(yaml.safe_dump({"clouds": {"admin": {
        "auth": auth, "region_name": "RegionOne", "identity_api_version": 3}}}))  # fmt: skip
    data = payload(5 * MiB + 1)
    source = tmp_path / "cirros.img"
    source.write_bytes(data)

    created: dict[str, Any] = json.loads(cli(
        clouds, "image", "create", "--file", str(source), "--disk-format", "qcow2",
        "--container-format", "bare", "--property", "os_distro=cirros", "--tag", "cli",
        "cli-image", "-f", "json",
    ))  # fmt: skip
    assert created["name"] == "cli-image"
    shown = json.loads(cli(clouds, "image", "show", created["id"], "-f", "json"))
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["properties"]["os_distro"] == "cirros"

    saved = tmp_path / "saved.img"
    cli(clouds, "image", "save", "--file", str(saved), created["id"])
    assert saved.read_bytes() == data

    listed = json.loads(cli(clouds, "image", "list", "--tag", "cli", "-f", "json"))
    assert [(i["ID"], i["Name"], i["Status"]) for i in listed] == [
        (created["id"], "cli-image", "active")
    ]
    named = json.loads(cli(clouds, "image", "list", "--name", "cli-image", "-f", "json"))
    assert [i["ID"] for i in named] == [created["id"]]
    imported = json.loads(cli(
        clouds, "image", "create", "--import", "--file", str(source), "--disk-format", "raw",
        "--container-format", "bare", "--tag", "cli", "cli-imported", "-f", "json",
    ))  # fmt: skip
    shown = json.loads(cli(clouds, "image", "show", imported["id"], "-f", "json"))
    assert (shown["status"], shown["size"]) == ("active", len(data))
    cli(clouds, "image", "save", "--file", str(saved), imported["id"])
    assert saved.read_bytes() == data

    cli(clouds, "image", "delete", created["id"], imported["id"])
    assert json.loads(cli(clouds, "image", "list", "--tag", "cli", "-f", "json")) == []
