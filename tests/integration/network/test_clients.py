"""Networks, subnets, ports, security groups, floating IPs (through a router) and quotas
through openstacksdk and the `openstack` CLI against a real `kumo up`. Sync tests, since the
libraries block."""

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest

from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, own_database
from tests.integration.openstack_cli import Cli, admin_cli

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


@pytest.fixture(scope="module")
def kumo(server_url: str, template_url: str) -> Iterator[KumoProcess]:
    with tempfile.TemporaryDirectory() as folder, own_database(server_url) as database_url:
        process = KumoProcess(database_url, Path(folder), Path(folder))
        process.start()
        try:
            yield process
        finally:
            process.stop()


def _connect(
    kumo: KumoProcess, user: str, password: str, project: str
) -> openstack.connection.Connection:
    return openstack.connect(
        auth_url=f"{kumo.url}/identity/v3",
        username=user,
        password=password,
        project_name=project,
        user_domain_id="default",
        project_domain_id="default",
        region_name="RegionOne",
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.fixture(scope="module")
def cloud(kumo: KumoProcess) -> openstack.connection.Connection:
    return _connect(kumo, "admin", ADMIN_PASSWORD, "admin")


@pytest.fixture(scope="module")
def member(
    kumo: KumoProcess, cloud: openstack.connection.Connection
) -> openstack.connection.Connection:
    """A member of a project of its own."""
    project = cloud.identity.create_project(name="demo", domain_id="default")
    user = cloud.identity.create_user(name="demo", password="demo-pw-1", domain_id="default")
    role = cloud.identity.find_role("member")
    cloud.identity.assign_project_role_to_user(project, user, role)
    return _connect(kumo, "demo", "demo-pw-1", "demo")


@pytest.fixture(scope="module")
def cli(kumo: KumoProcess, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return admin_cli(kumo, tmp_path_factory.mktemp("os"))


def test_openstacksdk_network_flow(
    cloud: openstack.connection.Connection, member: openstack.connection.Connection
) -> None:
    net = member.network.create_network(name="sdk-net")
    subnet = member.network.create_subnet(
        network_id=net.id,
        cidr="10.20.0.0/24",
        ip_version=4,
        name="sdk-subnet",
        allocation_pools=[{"start": "10.20.0.10", "end": "10.20.0.20"}],
    )
    assert subnet.gateway_ip == "10.20.0.1"
    port = member.network.create_port(network_id=net.id, name="sdk-port")
    address = port.fixed_ips[0]["ip_address"]
    assert address.startswith("10.20.0.") and 10 <= int(address.rsplit(".", 1)[1]) <= 20
    assert [p.id for p in member.network.ports(network_id=net.id)] == [port.id]
    assert member.network.find_network("sdk-net").id == net.id
    assert member.network.get_subnet(subnet.id).cidr == "10.20.0.0/24"
    member.network.update_port(port, name="renamed")
    assert member.network.get_port(port.id).name == "renamed"
    group = member.network.create_security_group(name="sdk-sg", description="ssh")
    rule = member.network.create_security_group_rule(
        security_group_id=group.id,
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="0.0.0.0/0",
        ethertype="IPv4",
    )
    assert rule.port_range_min == 22
    assert {g.name for g in member.network.security_groups()} == {"default", "sdk-sg"}
    public = cloud.network.create_network(name="public", is_router_external=True)
    cloud.network.create_subnet(network_id=public.id, cidr="198.51.100.0/24", ip_version=4)
    fip = member.network.create_ip(floating_network_id=public.id)
    with pytest.raises(openstack.exceptions.NotFoundException, match="is not reachable from"):
        member.network.update_ip(fip, port_id=port.id)
    router = member.network.create_router(
        name="sdk-router", external_gateway_info={"network_id": public.id}
    )
    member.network.add_interface_to_router(router, subnet_id=subnet.id)
    member.network.update_ip(fip, port_id=port.id)
    linked = member.network.get_ip(fip.id)
    assert (linked.fixed_ip_address, linked.router_id) == (address, router.id)
    with pytest.raises(openstack.exceptions.ConflictException, match="required by one or"):
        member.network.remove_interface_from_router(router, subnet_id=subnet.id)
    with pytest.raises(openstack.exceptions.ConflictException, match="required by one or"):
        member.network.update_router(router, external_gateway_info={})
    member.network.update_ip(fip, port_id=None)
    member.network.delete_ip(fip)
    member.network.remove_interface_from_router(router, subnet_id=subnet.id)
    member.network.delete_router(router)
    quota = cloud.network.get_quota(member.current_project_id)
    assert quota.networks == 100
    cloud.network.update_quota(quota, networks=1)
    with pytest.raises(openstack.exceptions.ConflictException):
        member.network.create_network(name="one-too-many")
    member.network.delete_security_group_rule(rule)
    member.network.delete_security_group(group)
    member.network.delete_port(port)
    member.network.delete_subnet(subnet)
    member.network.delete_network(net)
    assert list(member.network.networks(name="sdk-net")) == []
    assert [n.name for n in member.network.networks()] == ["public"]


def test_openstack_cli_network_flow(cli: Cli) -> None:
    net = json.loads(cli("network", "create", "-f", "json", "cli-net"))
    assert net["status"] == "ACTIVE"
    cli(
        "subnet",
        "create",
        "--network",
        "cli-net",
        "--subnet-range",
        "10.30.0.0/24",
        "--dns-nameserver",
        "10.30.0.53",
        "cli-subnet",
    )
    shown = json.loads(cli("subnet", "show", "-f", "json", "cli-subnet"))
    assert shown["cidr"] == "10.30.0.0/24" and shown["dns_nameservers"] == ["10.30.0.53"]
    port = json.loads(
        cli(
            "port",
            "create",
            "--network",
            "cli-net",
            "--fixed-ip",
            "subnet=cli-subnet,ip-address=10.30.0.42",
            "-f",
            "json",
            "cli-port",
        )
    )
    assert port["fixed_ips"][0]["ip_address"] == "10.30.0.42"
    listed = json.loads(cli("port", "list", "--network", "cli-net", "-f", "json"))
    assert [p["Name"] for p in listed] == ["cli-port"]
    cli("security", "group", "create", "cli-sg")
    cli("security", "group", "rule", "create", "--protocol", "icmp", "--ingress", "cli-sg")
    rules = json.loads(cli("security", "group", "rule", "list", "cli-sg", "-f", "json"))
    assert sorted(r["IP Protocol"] or "any" for r in rules) == ["any", "any", "icmp"]
    cli("network", "create", "--external", "cli-public")
    cli(
        "subnet",
        "create",
        "--network",
        "cli-public",
        "--subnet-range",
        "192.0.2.0/24",
        "--no-dhcp",
        "cli-public-subnet",
    )
    cli("router", "create", "cli-router")
    cli("router", "set", "--external-gateway", "cli-public", "cli-router")
    cli("router", "add", "subnet", "cli-router", "cli-subnet")
    router = json.loads(cli("router", "show", "-f", "json", "cli-router"))
    fip = json.loads(cli("floating", "ip", "create", "-f", "json", "cli-public"))
    cli("floating", "ip", "set", "--port", "cli-port", fip["floating_ip_address"])
    fips = json.loads(cli("floating", "ip", "list", "-f", "json"))
    assert [(f["Floating IP Address"], f["Fixed IP Address"]) for f in fips] == [
        (fip["floating_ip_address"], "10.30.0.42")
    ]
    shown = json.loads(cli("floating", "ip", "show", "-f", "json", fip["floating_ip_address"]))
    assert shown["router_id"] == router["id"]
    cli("floating", "ip", "unset", "--port", fip["floating_ip_address"])
    cli("floating", "ip", "delete", fip["floating_ip_address"])
    cli("router", "remove", "subnet", "cli-router", "cli-subnet")
    cli("router", "delete", "cli-router")
    quota = json.loads(cli("quota", "show", "--network", "-f", "json"))
    assert isinstance(quota, (dict, list))
    cli("port", "delete", "cli-port")
    cli("subnet", "delete", "cli-subnet")
    cli("network", "delete", "cli-net")
    cli("security", "group", "delete", "cli-sg")
    assert "cli-net" not in cli("network", "list", "-f", "value", "-c", "Name")
