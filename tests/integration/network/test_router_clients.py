"""Routers through openstacksdk and the `openstack router ...` commands against a real
`kumo up`. Sync tests, since the libraries block."""

import json

import openstack
import pytest

from tests.integration.identity.conftest import KumoProcess
from tests.integration.network.test_clients import cloud, kumo, member
from tests.integration.openstack_cli import Cli, admin_cli

__all__ = ["cloud", "kumo", "member"]
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")
Connection = openstack.connection.Connection


def test_openstacksdk_router_flow(cloud: Connection, member: Connection) -> None:
    public = cloud.network.create_network(name="sdk-public", is_router_external=True)
    cloud.network.create_subnet(network_id=public.id, cidr="198.51.100.0/28", ip_version=4)
    net = member.network.create_network(name="sdk-inside")
    subnet = member.network.create_subnet(network_id=net.id, cidr="10.40.0.0/24", ip_version=4)
    router = member.network.create_router(
        name="sdk-router", external_gateway_info={"network_id": public.id}
    )
    assert router.external_gateway_info["network_id"] == public.id
    assert router.external_gateway_info["enable_snat"] is True
    member.network.add_interface_to_router(router, subnet_id=subnet.id)
    [port] = member.network.ports(device_id=router.id)
    assert port.device_owner == "network:router_interface"
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.40.0.1"}]
    assert member.network.find_router("sdk-router").id == router.id
    with pytest.raises(openstack.exceptions.ConflictException):
        member.network.delete_router(router)
    member.network.update_router(router, name="sdk-renamed")
    assert member.network.get_router(router.id).name == "sdk-renamed"
    member.network.remove_interface_from_router(router, subnet_id=subnet.id)
    member.network.update_router(router, external_gateway_info={})
    assert member.network.get_router(router.id).external_gateway_info is None
    member.network.delete_router(router)
    assert list(member.network.routers()) == []
    member.network.delete_subnet(subnet)
    member.network.delete_network(net)


@pytest.fixture(scope="module")
def cli(kumo: KumoProcess, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return admin_cli(kumo, tmp_path_factory.mktemp("os-router"))


def test_openstack_cli_router_flow(cli: Cli) -> None:
    cli("network", "create", "--external", "cli-router-public")
    cli(
        "subnet",
        "create",
        "--network",
        "cli-router-public",
        "--subnet-range",
        "192.0.2.0/28",
        "--no-dhcp",
        "cli-router-public-subnet",
    )
    cli("network", "create", "cli-router-net")
    cli(
        "subnet",
        "create",
        "--network",
        "cli-router-net",
        "--subnet-range",
        "10.50.0.0/24",
        "cli-router-subnet",
    )
    created = json.loads(cli("router", "create", "-f", "json", "cli-router"))
    assert created["status"] == "ACTIVE"
    cli("router", "set", "--external-gateway", "cli-router-public", "cli-router")
    cli("router", "add", "subnet", "cli-router", "cli-router-subnet")
    cli("router", "set", "--route", "destination=172.16.0.0/24,gateway=10.50.0.9", "cli-router")
    shown = json.loads(cli("router", "show", "-f", "json", "cli-router"))
    assert shown["external_gateway_info"]["network_id"]
    assert shown["routes"] == [{"destination": "172.16.0.0/24", "nexthop": "10.50.0.9"}]
    [interface] = shown["interfaces_info"]
    assert interface["ip_address"] == "10.50.0.1"
    listed = json.loads(cli("router", "list", "-f", "json"))
    assert [r["Name"] for r in listed] == ["cli-router"]
    cli("router", "unset", "--route", "destination=172.16.0.0/24,gateway=10.50.0.9", "cli-router")
    cli("router", "remove", "subnet", "cli-router", "cli-router-subnet")
    cli("port", "create", "--network", "cli-router-net", "cli-router-port")
    cli("router", "add", "port", "cli-router", "cli-router-port")
    port = json.loads(cli("port", "show", "-f", "json", "cli-router-port"))
    assert port["device_owner"] == "network:router_interface"
    cli("router", "remove", "port", "cli-router", "cli-router-port")
    cli("router", "unset", "--external-gateway", "cli-router")
    cli("router", "delete", "cli-router")
    assert "cli-router" not in cli("router", "list", "-f", "value", "-c", "Name")
