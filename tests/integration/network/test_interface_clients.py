"""os-interface through openstacksdk and `openstack server add|remove port|network`
against a real `kumo up` whose compute host runs on libvirt's test driver. Sync tests,
since the libraries block."""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openstack
import pytest

from tests.integration.compute.test_clients import cloud, image_id, kumo
from tests.integration.identity.conftest import KumoProcess
from tests.integration.openstack_cli import admin_cli

__all__ = ["cloud", "image_id", "kumo"]
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")
Connection = openstack.connection.Connection


def _until(done: Callable[[], Any], within: float = 30) -> Any:
    """What `done()` returns once truthy (the host acts after the API answers)."""
    deadline = time.monotonic() + within
    while not (found := done()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def _lan(cloud: Connection, name: str, cidr: str) -> Any:
    net = cloud.network.create_network(name=name)
    cloud.network.create_subnet(network_id=net.id, cidr=cidr, ip_version=4)
    return net


def test_openstacksdk_attaches_lists_and_detaches(cloud: Connection, image_id: str) -> None:
    flavor = cloud.compute.find_flavor("m1.nano")
    server = cloud.compute.create_server(
        name="sdk-if", image_id=image_id, flavor_id=flavor.id, networks="auto"
    )
    server = cloud.compute.wait_for_server(server, status="ACTIVE", wait=30)
    net = _lan(cloud, "sdk-lan", "172.18.0.0/24")
    made = cloud.compute.create_server_interface(
        server, net_id=net.id, fixed_ips=[{"ip_address": "172.18.0.7"}]
    )
    assert made.net_id == net.id and made.fixed_ips[0]["ip_address"] == "172.18.0.7"
    port = cloud.network.create_port(network_id=net.id, name="given")
    cloud.compute.create_server_interface(server, port_id=port.id)
    attached = {i.port_id for i in cloud.compute.server_interfaces(server)}
    assert attached >= {made.port_id, port.id} and len(attached) == 3
    shown = cloud.compute.get_server_interface(port.id, server=server)
    assert shown.mac_addr == port.mac_address and shown.port_state == "ACTIVE"
    addresses = cloud.compute.get_server(server.id).addresses["sdk-lan"]
    assert {a["addr"] for a in addresses} == {"172.18.0.7", port.fixed_ips[0]["ip_address"]}
    cloud.compute.delete_server_interface(made.port_id, server=server)
    cloud.compute.delete_server_interface(port.id, server=server)
    _until(lambda: "sdk-lan" not in cloud.compute.get_server(server.id).addresses)
    assert cloud.network.find_port(made.port_id) is None
    assert cloud.network.get_port(port.id).device_id == ""
    with pytest.raises(openstack.exceptions.NotFoundException):
        cloud.compute.delete_server_interface(port.id, server=server, ignore_missing=False)
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=30)


def test_openstack_cli_adds_and_removes_ports_and_networks(
    kumo: KumoProcess, cloud: Connection, image_id: str, tmp_path: Path
) -> None:
    cli = admin_cli(kumo, tmp_path)

    def addresses() -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(cli("server", "show", "-f", "json", "cli-if"))
        return shown["addresses"]

    cli("server", "create", "--flavor", "m1.nano", "--image", image_id, "--wait", "cli-if")
    _lan(cloud, "cli-lan", "172.19.0.0/24")
    _lan(cloud, "cli-other", "172.20.0.0/24")
    port = json.loads(cli("port", "create", "--network", "cli-lan", "-f", "json", "cli-port"))
    cli("server", "add", "port", "cli-if", "cli-port")
    cli("server", "add", "network", "cli-if", "cli-other")
    _until(lambda: {"cli-lan", "cli-other"} <= set(addresses()))
    assert addresses()["cli-lan"] == [port["fixed_ips"][0]["ip_address"]]
    cli("server", "remove", "port", "cli-if", "cli-port")
    cli("server", "remove", "network", "cli-if", "cli-other")
    _until(lambda: not {"cli-lan", "cli-other"} & set(addresses()))
    kept = json.loads(cli("port", "show", "-f", "json", "cli-port"))
    assert kept["device_id"] == "" and kept["status"] == "DOWN"
    cli("server", "delete", "--wait", "cli-if")
