"""Metadefs through the stock clients against a real `kumo up` (which seeds the resource
types): openstacksdk's image proxy and the `openstack image metadef ...` commands. Sync
tests, since the libraries block; one server for the module."""

from pathlib import Path
from typing import Any

import pytest
from openstack import exceptions

from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import ADMIN_PASSWORD, LiveCloud
from tests.integration.identity.test_clients import connect
from tests.integration.image.test_limit_cli import clouds_yaml
from tests.integration.image.test_limit_cli import openstack as cli

live_cloud = identity.live_cloud  # used by name
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


def test_openstacksdk_namespace_with_its_contents(live_cloud: LiveCloud) -> None:
    image = connect(live_cloud, "admin", ADMIN_PASSWORD, "admin").image
    kinds = [rt.name for rt in image.metadef_resource_types()]
    assert kinds[:2] == ["OS::Glance::Image", "OS::Cinder::Volume"]
    ns = image.create_metadef_namespace(
        namespace="OS::SDK::Test",
        display_name="SDK",
        visibility="public",
        is_protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "sdk_"}],
    )
    assert ns.namespace == "OS::SDK::Test"
    assert [n.namespace for n in image.metadef_namespaces(resource_types="OS::Glance::Image")] == [
        "OS::SDK::Test"
    ]
    with pytest.raises(exceptions.ForbiddenException):
        image.delete_metadef_namespace(ns)

    image.create_metadef_object(
        ns, name="CPU", properties={"cores": {"title": "Cores", "type": "integer"}}
    )
    image.update_metadef_object("CPU", ns, name="vCPU", description="renamed")
    assert [o.name for o in image.metadef_objects(ns)] == ["vCPU"]
    image.create_metadef_property(
        ns, name="bus", title="Bus", type="string", enum=["scsi", "virtio"]
    )
    assert image.get_metadef_property("bus", ns).enum == ["scsi", "virtio"]
    image.add_tag_to_metadef_namespace(ns, "fast")
    image.create_metadef_resource_type_association(ns, name="OS::Nova::Flavor", prefix="sdk:")
    associations = [a.name for a in image.metadef_resource_type_associations(ns)]
    assert associations == ["OS::Glance::Image", "OS::Nova::Flavor"]

    shown = image.get_metadef_namespace("OS::SDK::Test")
    assert (shown.display_name, shown.visibility, shown.is_protected) == ("SDK", "public", True)
    assert image.get_metadef_namespace_schema().name == "namespace"
    image.update_metadef_namespace(ns, visibility="public", is_protected=False)
    image.delete_metadef_resource_type_association("OS::Nova::Flavor", ns)
    image.delete_all_metadef_objects(ns)
    image.delete_metadef_namespace(ns)
    with pytest.raises(exceptions.NotFoundException):
        image.get_metadef_namespace("OS::SDK::Test")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openstack_image_metadef_commands(live_cloud: LiveCloud, tmp_path: Path) -> None:
    clouds = clouds_yaml(tmp_path, live_cloud, "admin")

    def run(*args: str) -> Any:
        return cli(clouds, "admin", "image", "metadef", *args)

    listed = run("resource", "type", "list", "-f", "json")
    assert "OS::Nova::Server" in [rt["Name"] for rt in listed]
    created = run(
        "namespace",
        "create",
        "--public",
        "--protected",
        "--display-name",
        "CLI",
        "OS::CLI::Test",
        "-f",
        "json",
    )
    assert created["namespace"] == "OS::CLI::Test"
    run(
        "namespace",
        "set",
        "--description",
        "from the CLI",
        "--public",
        "--protected",
        "--display-name",
        "CLI",
        "OS::CLI::Test",
    )
    shown = run("namespace", "show", "OS::CLI::Test", "-f", "json")
    assert (shown["description"], shown["visibility"]) == ("from the CLI", "public")
    assert "OS::CLI::Test" in [n["namespace"] for n in run("namespace", "list", "-f", "json")]

    run("object", "create", "--namespace", "OS::CLI::Test", "Disk", "-f", "json")
    assert [o["name"] for o in run("object", "list", "OS::CLI::Test", "-f", "json")] == ["Disk"]
    run(
        "property",
        "create",
        "--name",
        "size",
        "--title",
        "Size",
        "--type",
        "integer",
        "--schema",
        '{"minimum": 1}',
        "OS::CLI::Test",
        "-f",
        "json",
    )
    size = run("property", "show", "OS::CLI::Test", "size", "-f", "json")
    assert (size["title"], size["minimum"]) == ("Size", 1)
    run(
        "resource",
        "type",
        "association",
        "create",
        "OS::CLI::Test",
        "OS::Cinder::Volume",
        "-f",
        "json",
    )
    associated = run("resource", "type", "association", "list", "OS::CLI::Test", "-f", "json")
    assert [a["Name"] for a in associated] == ["OS::Cinder::Volume"]

    refused = cli(
        clouds, "admin", "image", "metadef", "namespace", "delete", "OS::CLI::Test", ok=False
    )
    assert refused.returncode != 0
    run("namespace", "set", "--unprotected", "OS::CLI::Test")
    run("namespace", "delete", "OS::CLI::Test")
    assert "OS::CLI::Test" not in [n["namespace"] for n in run("namespace", "list", "-f", "json")]
