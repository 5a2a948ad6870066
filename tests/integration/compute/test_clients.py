"""Servers through openstacksdk and the `openstack` CLI against a real `kumo up` whose
compute host runs on libvirt's test driver. Sync tests, since the libraries block."""

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest

from tests.integration.compute.hypervisor_helpers import PUBLIC_KEY, config_drive_meta_data
from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, own_database
from tests.integration.openstack_cli import admin_cli

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


@pytest.fixture(scope="module")
def kumo(server_url: str, template_url: str) -> Iterator[KumoProcess]:
    with tempfile.TemporaryDirectory() as folder, own_database(server_url) as database_url:
        process = KumoProcess(database_url, Path(folder), Path(folder))
        process.env["KUMO_LIBVIRT_URI"] = "test:///default"
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def cloud(kumo: KumoProcess) -> openstack.connection.Connection:
    return openstack.connect(
        auth_url=f"{kumo.url}/identity/v3",
        username="admin",
        password=ADMIN_PASSWORD,
        project_name="admin",
        user_domain_id="default",
        project_domain_id="default",
        region_name="RegionOne",
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.fixture(scope="module")
def image_id(
    cloud: openstack.connection.Connection, tmp_path_factory: pytest.TempPathFactory
) -> str:
    disk = tmp_path_factory.mktemp("img") / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    image = cloud.image.create_image(
        name="base", disk_format="qcow2", container_format="bare", visibility="public"
    )
    endpoint = cloud.session.get_endpoint(service_type="image", interface="public")
    response = cloud.session.put(
        f"{endpoint}/v2/images/{image.id}/file",
        data=disk.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 204
    return str(image.id)


def test_openstacksdk_creates_acts_on_and_deletes_a_server(
    cloud: openstack.connection.Connection, image_id: str
) -> None:
    flavor = cloud.compute.find_flavor("m1.nano")
    server = cloud.compute.create_server(
        name="sdk-vm", image_id=image_id, flavor_id=flavor.id, networks="auto"
    )
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    # the server embeds its flavor (2.47), the name it had then in `original_name`
    assert server.image.id == image_id and server.flavor.name == flavor.name
    cloud.compute.stop_server(server)
    cloud.compute.wait_for_server(server, status="SHUTOFF", wait=30)
    cloud.compute.start_server(server)
    cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    assert [s.name for s in cloud.compute.servers()] == ["sdk-vm"]
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=30)
    assert list(cloud.compute.servers()) == []


def test_openstack_cli_server_flow(kumo: KumoProcess, image_id: str, tmp_path: Path) -> None:
    cli = admin_cli(kumo, tmp_path)

    created = json.loads(
        cli(
            "server",
            "create",
            "--flavor",
            "m1.nano",
            "--image",
            image_id,
            "--wait",
            "-f",
            "json",
            "cli-vm",
        )
    )
    assert created["status"] == "ACTIVE"
    listed = json.loads(cli("server", "list", "-f", "json"))
    assert [s["Name"] for s in listed] == ["cli-vm"]
    cli("server", "reboot", "--hard", "--wait", "cli-vm")
    events = json.loads(cli("server", "event", "list", "-f", "json", "cli-vm"))
    assert [e["Action"] for e in events] == ["reboot", "create"]
    cli("server", "delete", "--wait", "cli-vm")
    assert json.loads(cli("server", "list", "-f", "json")) == []


def test_openstack_cli_admin_commands(kumo: KumoProcess, image_id: str, tmp_path: Path) -> None:
    """What operators do with the stock CLI: flavors with numeric ids, a server's state
    reset, its backups, hosts, aggregates, the default quota class, usage, extensions."""
    cli = admin_cli(kumo, tmp_path)
    created = cli(*"flavor create --id 42 --ram 256 --vcpus 1 --disk 1 -f json cli.flavor".split())
    flavor = json.loads(created)
    assert flavor["id"] == "42"
    cli("server", "create", "--flavor", "m1.nano", "--image", image_id, "--wait", "cli-admin")
    cli("server", "set", "--auto-approve", "--state", "error", "cli-admin")
    assert json.loads(cli("server", "show", "-f", "json", "cli-admin"))["status"] == "ERROR"
    cli("server", "set", "--auto-approve", "--state", "active", "cli-admin")
    cli(*"server backup create --name cli-backup --type daily --rotate 1 --wait cli-admin".split())
    backups = json.loads(cli("image", "list", "--property", "image_type=backup", "-f", "json"))
    assert [b["Name"] for b in backups] == ["cli-backup"]
    hosts = json.loads(cli("host", "list", "-f", "json"))
    host = hosts[0]["Host Name"]
    cli("aggregate", "create", "--property", "ssd=yes", "cli-agg")
    cli("aggregate", "add", "host", "cli-agg", host)
    aggregate = json.loads(cli("aggregate", "show", "-f", "json", "cli-agg"))
    assert aggregate["hosts"] == [host] and aggregate["properties"] == {"ssd": "yes"}
    cli("quota", "set", "--class", "--instances", "25", "default")
    shown = json.loads(cli("quota", "show", "--default", "--compute", "-f", "json"))
    assert {"Resource": "instances", "Limit": 25} in shown
    usage = json.loads(cli("usage", "show", "--project", "admin", "-f", "json"))
    assert usage["CPU Hours"] > 0
    extensions = json.loads(cli("extension", "list", "--compute", "-f", "json"))
    assert "os-simple-tenant-usage" in [e["Alias"] for e in extensions]
    cli("server", "delete", "--wait", "cli-admin")


def keys_on_drive(kumo: KumoProcess, server_id: str, version: str = "latest") -> dict[str, object]:
    """What a server's guest finds of its key pair in `meta_data.json` on its config drive."""
    guests = Path(kumo.env["KUMO_DATA_DIR"]) / "compute"
    found = config_drive_meta_data(guests, server_id, version)
    return {k: v for k, v in found.items() if k in ("public_keys", "keys")}


def keyed(name: str, public_key: str, key_type: str = "ssh") -> dict[str, object]:
    """The `public_keys` and `keys` of meta_data.json for one key pair, in Nova's shape."""
    return {
        "public_keys": {name: public_key},
        "keys": [{"name": name, "type": key_type, "data": public_key}],
    }


def test_a_servers_key_pair_reaches_its_guest_and_outlives_the_pair(
    cloud: openstack.connection.Connection, kumo: KumoProcess, image_id: str
) -> None:
    """openstacksdk: a server created with a key pair gets a config drive holding its
    public key (in every metadata version), which a rebuild writes again from the
    server's own copy once the pair is deleted, and which a rebuild with another key
    pair (2.54) or none replaces."""
    first = cloud.compute.create_keypair(name="sdk-key")
    flavor = cloud.compute.find_flavor("m1.nano")
    server = cloud.compute.create_server(
        name="sdk-keyed",
        image_id=image_id,
        flavor_id=flavor.id,
        networks="auto",
        key_name="sdk-key",
    )
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    assert (server.key_name, server.has_config_drive) == ("sdk-key", "True")
    for version in ("latest", "2012-08-10", "2018-08-27"):
        assert keys_on_drive(kumo, server.id, version) == keyed("sdk-key", first.public_key)

    cloud.compute.delete_keypair(first)
    cloud.compute.rebuild_server(server, image_id)
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    assert server.key_name == "sdk-key"
    assert keys_on_drive(kumo, server.id) == keyed("sdk-key", first.public_key)

    second = cloud.compute.create_keypair(name="sdk-key-2", type="x509")
    cloud.compute.rebuild_server(server, image_id, key_name="sdk-key-2")
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    assert server.key_name == "sdk-key-2"
    assert keys_on_drive(kumo, server.id) == keyed("sdk-key-2", second.public_key, "x509")

    cloud.compute.rebuild_server(server, image_id, key_name=None)
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    assert (server.key_name, keys_on_drive(kumo, server.id)) == (None, {})
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=30)
    cloud.compute.delete_keypair(second)


def test_a_key_pair_the_caller_does_not_have_is_a_400(
    cloud: openstack.connection.Connection, image_id: str
) -> None:
    """openstacksdk: an unknown key pair, or another user's, is Nova's 400 at create and
    at rebuild, and nothing is created."""
    other = cloud.identity.create_user(
        name="key-owner", password="pw-key-owner-1", domain_id="default"
    )
    cloud.compute.create_keypair(name="theirs", user_id=other.id)
    flavor = cloud.compute.find_flavor("m1.nano")
    for name in ("no-such-key", "theirs"):
        with pytest.raises(openstack.exceptions.BadRequestException) as refused:
            cloud.compute.create_server(
                name="refused",
                image_id=image_id,
                flavor_id=flavor.id,
                networks="auto",
                key_name=name,
            )
        assert "Invalid key_name provided." in str(refused.value)
    assert "refused" not in [s.name for s in cloud.compute.servers()]
    server = cloud.compute.create_server(
        name="plain", image_id=image_id, flavor_id=flavor.id, networks="auto"
    )
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    with pytest.raises(openstack.exceptions.BadRequestException, match="Invalid key_name"):
        cloud.compute.rebuild_server(server, image_id, key_name="theirs")
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=30)
    cloud.identity.delete_user(other)


def test_openstack_cli_server_with_a_key_pair(
    kumo: KumoProcess, image_id: str, tmp_path: Path
) -> None:
    """The `openstack` CLI: `server create --key-name` boots a server with a config drive
    holding the key, `server rebuild --no-key-name` (2.54) takes it away."""
    cli = admin_cli(kumo, tmp_path)
    public_key = tmp_path / "id_ed25519.pub"
    public_key.write_text(PUBLIC_KEY + "\n")
    cli("keypair", "create", "--public-key", str(public_key), "cli-key")
    create = ["server", "create", "--flavor", "m1.nano", "--image", image_id, "--wait"]
    created = json.loads(cli(*create, "--key-name", "cli-key", "-f", "json", "cli-keyed"))
    assert (created["key_name"], created["config_drive"]) == ("cli-key", "True")
    # the key as imported, byte for byte (the CLI sends the file's newline too, as to Nova)
    assert keys_on_drive(kumo, created["id"]) == keyed("cli-key", public_key.read_text())
    rebuild = ["--os-compute-api-version", "2.54", "server", "rebuild", "--image", image_id]
    cli(*rebuild, "--no-key-name", "--wait", "cli-keyed")
    shown = json.loads(cli("server", "show", "-f", "json", "cli-keyed"))
    assert (shown["key_name"], keys_on_drive(kumo, created["id"])) == (None, {})
    cli("server", "delete", "--wait", "cli-keyed")
    cli("keypair", "delete", "cli-key")
