"""Multiple image stores through the real clients against a real `kumo up` (HTTP workers
included) with stores `fast` (local, the default) and `cheap` (a bucket on moto):
openstacksdk lists the stores, uploads, imports to named stores, copies with
copy-image and deletes from one store; the `openstack` CLI lists the stores' details
and copies; and a restart of the server shows the same stores for each image."""

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml

from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, LiveCloud, own_database
from tests.integration.identity.test_clients import connect

from .test_clients import cli

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


@pytest.fixture(scope="module")
def kumo(
    server_url: str, template_url: str, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KumoProcess]:
    """`kumo up` on a database of its own, with stores `fast` and `cheap` (S3)."""
    with own_database(server_url) as database_url:
        kumo = KumoProcess(
            database_url, tmp_path_factory.mktemp("kumo-data"), tmp_path_factory.mktemp("os")
        )
        kumo.env |= {
            "KUMO_IMAGE_STORES": f"fast=local,cheap=s3:kumo-cheap-{secrets.token_hex(6)}",
            "KUMO_IMAGE_DEFAULT_STORE": "fast",
            "KUMO_S3_ENDPOINT_URL": moto_url,
            "KUMO_S3_ACCESS_KEY_ID": "testing",
            "KUMO_S3_SECRET_ACCESS_KEY": "testing",
            "KUMO_WORKERS": "2",
        }
        try:
            kumo.start()
            yield kumo
        finally:
            kumo.stop()


@pytest.fixture
def cloud(kumo: KumoProcess) -> LiveCloud:
    return LiveCloud(kumo.url, f"{kumo.url}/identity/v3", ADMIN_PASSWORD, "")


def stores_of(conn: Any, image_id: str) -> str | None:
    shown: str | None = conn.image.get_image(image_id).properties.get("stores")
    return shown


def copied(conn: Any, image_id: str) -> Any:
    """The image once no copy is under way (within 30 s)."""
    for _ in range(300):
        image = conn.image.get_image(image_id)
        if image.properties.get("os_glance_importing_to_stores") == "":
            return image
        time.sleep(0.1)
    raise AssertionError(f"image {image_id} is still being copied")


def test_openstacksdk_stores_upload_import_copy_and_delete_then_a_restart(
    kumo: KumoProcess, cloud: LiveCloud
) -> None:
    conn = connect(cloud, "admin", ADMIN_PASSWORD, "admin")
    listed = [(s.id, s.is_default) for s in conn.image.stores()]
    assert listed == [("default", None), ("fast", True), ("cheap", None)]  # as Glance: no flag

    data = secrets.token_bytes(3 * 1024 * 1024 + 1)
    image = conn.image.create_image(
        name="multi", data=data, disk_format="raw", container_format="bare"
    )
    assert stores_of(conn, image.id) == "fast"
    conn.image.import_image(image, method="copy-image", stores=["cheap"])
    assert copied(conn, image.id).properties["stores"] == "cheap,fast"
    conn.image.delete_image(image, store="fast")
    assert stores_of(conn, image.id) == "cheap"
    assert conn.image.download_image(image.id).content == data  # from the bucket
    with pytest.raises(openstack.exceptions.ForbiddenException):
        conn.image.delete_image(image, store="cheap")  # the last copy

    imported = conn.image.create_image(
        name="imported",
        data=b"to all",
        disk_format="raw",
        container_format="bare",
        use_import=True,
        all_stores=True,
        wait=True,
        timeout=60,
    )
    assert stores_of(conn, imported.id) == "cheap,default,fast"

    kumo.stop()
    kumo.start()
    conn = connect(cloud, "admin", ADMIN_PASSWORD, "admin")
    assert stores_of(conn, image.id) == "cheap"
    assert stores_of(conn, imported.id) == "cheap,default,fast"
    assert conn.image.download_image(imported.id).content == b"to all"


def test_openstack_cli_lists_the_stores_and_copies(cloud: LiveCloud, tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    auth = {
        "auth_url": cloud.auth_url,
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    clouds.write_text(yaml.safe_dump({"clouds": {"admin": {"auth": auth}}}))
    listed = json.loads(cli(clouds, "image", "stores", "list", "--detail", "-f", "json"))
    assert [(s["ID"], s["Default"]) for s in listed] == [
        ("default", None),
        ("fast", True),
        ("cheap", None),
    ]
    assert listed[1]["Properties"]["data_dir"].endswith("/stores/fast")
    assert listed[2]["Properties"]["bucket"].startswith("kumo-cheap-")
    source = tmp_path / "disk.img"
    source.write_bytes(b"copied by the CLI")
    created = json.loads(
        cli(
            clouds,
            "image",
            "create",
            "--file",
            str(source),
            "--disk-format",
            "raw",
            "cli-copy",
            "-f",
            "json",
        )
    )
    cli(clouds, "image", "import", created["id"], "--method", "copy-image", "--store", "cheap")
    conn = connect(cloud, "admin", ADMIN_PASSWORD, "admin")
    assert copied(conn, created["id"]).properties["stores"] == "cheap,fast"
