"""The dashboard's network pages in a real browser against a real `kumo up`: a member
makes a network with its subnet, a security group and its rules, launches an instance
on them, joins the network with a router to an external network an admin made, gives the
instance a floating IP from it, and removes it all again; another project's member sees
none of it; bad input shows the API's message."""

import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Cloud, Person, call, log_in, screenshot

pytestmark = pytest.mark.browser

ACTIVE_WITHIN = 60_000  # ms: the server is built by the compute reactor on test:///default
PUBLIC_CIDR = "203.0.113.0/24"


@pytest.fixture(scope="module")
def nina(cloud: Cloud) -> Person:
    return cloud.person("nina")


@pytest.fixture(scope="module")
def omar(cloud: Cloud) -> Person:
    return cloud.person("omar")


def _token(cloud: Cloud, person: Person) -> str:
    return cloud.token(person.name, person.password, person.project_name)


def _neutron(cloud: Cloud, token: str, method: str, path: str, body: object = None) -> dict:
    reply = call(f"{cloud.url}/network/v2.0/{path}", method, body, token)
    assert reply.status in (200, 201, 204), reply.body
    return reply.body or {}


@pytest.fixture(scope="module")
def public(cloud: Cloud) -> str:
    """An external network with a subnet, made by an admin: the floating IPs' pool."""
    network = {"network": {"name": "public", "router:external": True}}
    made = _neutron(cloud, cloud.admin_token, "POST", "networks", network)["network"]
    subnet = {"network_id": made["id"], "cidr": PUBLIC_CIDR, "name": "public-v4"}
    _neutron(cloud, cloud.admin_token, "POST", "subnets", {"subnet": subnet})
    return str(made["id"])


@pytest.fixture(scope="module")
def image(cloud: Cloud, nina: Person, qcow2: Path) -> str:
    """Nina's image to boot from, uploaded through the image API."""
    token = _token(cloud, nina)
    body = {"name": "tiny", "disk_format": "qcow2", "container_format": "bare"}
    image_id = str(call(f"{cloud.url}/image/v2/images", "POST", body, token).body["id"])
    url = f"{cloud.url}/image/v2/images/{image_id}/file"
    headers = {"X-Auth-Token": token, "Content-Type": "application/octet-stream"}
    request = urllib.request.Request(url, qcow2.read_bytes(), headers, method="PUT")
    with urllib.request.urlopen(request) as response:
        assert response.status == 204
    return image_id


def nav(page: Page, name: str) -> None:
    page.locator("#nav").get_by_role("link", name=name, exact=True).click()


def confirm(page: Page, text: str) -> None:
    expect(page.get_by_role("dialog")).to_contain_text(text)
    page.get_by_role("button", name="Confirm").click()


def no_loading(page: Page) -> None:
    expect(page.locator("main .empty", has_text="Loading")).to_have_count(0)


def cell_text(row: Locator, column: int) -> str:
    return row.locator("td").nth(column).inner_text().strip()


def test_a_member_networks_an_instance(
    page: Page, cloud: Cloud, nina: Person, image: str, public: str
) -> None:
    base = cloud.url
    log_in(page, base, nina.name, nina.password)
    expect(page.get_by_role("meter", name="Networks")).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_role("meter", name="Floating IPs")).to_be_visible()

    # A network with its first subnet, in one form; the external pool is listed too.
    nav(page, "Networks")
    expect(page.get_by_role("heading", name="Networks")).to_be_visible()
    expect(page.locator("tr", has_text="public")).to_contain_text(PUBLIC_CIDR)
    page.get_by_role("button", name="Create network").click()
    create = page.locator("#create-form")
    create.get_by_label("Network name").fill("app-net")
    create.get_by_role("button", name="Create", exact=True).click()
    expect(create.locator(".field-error[data-for=cidr]")).to_have_text(re.compile("CIDR"))
    expect(create.get_by_label("CIDR")).to_be_focused()
    create.get_by_label("CIDR").fill("192.168.50.0/24")
    create.get_by_label("DNS servers").fill("192.168.50.2\n9.9.9.9")
    create.get_by_role("button", name="Create", exact=True).click()
    row = page.locator("tr", has_text="app-net")
    expect(row).to_contain_text("192.168.50.0/24")
    expect(row.locator(".pill")).to_have_text("ACTIVE")
    expect(page.locator("#flash")).to_have_text("Network app-net created.")
    screenshot(page, "networks")

    # Its page: subnets (one added and deleted again) and ports.
    row.get_by_role("link", name="app-net").click()
    expect(page.get_by_role("heading", name="app-net")).to_be_visible()
    subnets = page.locator("#subnets")
    expect(subnets).to_contain_text("192.168.50.0/24")
    expect(subnets).to_contain_text("192.168.50.2, 9.9.9.9")
    network_id = page.locator("#network").get_attribute("data-id")
    assert network_id
    add = page.locator("#subnet-form")
    add.get_by_label("Subnet name").fill("extra")
    add.get_by_label("CIDR").fill("192.168.51.0/24")
    add.get_by_label("DHCP").uncheck()
    add.get_by_role("button", name="Add subnet").click()
    expect(subnets.locator("tr", has_text="extra")).to_contain_text("192.168.51.0/24")
    shown = _neutron(cloud, _token(cloud, nina), "GET", f"subnets?network_id={network_id}")
    assert {(s["cidr"], s["enable_dhcp"]) for s in shown["subnets"]} == {
        ("192.168.50.0/24", True),
        ("192.168.51.0/24", False),
    }
    page.get_by_role("button", name="Delete subnet 192.168.51.0/24").click()
    confirm(page, "Delete subnet extra 192.168.51.0/24?")
    expect(subnets.locator("tr", has_text="extra")).to_have_count(0)
    expect(page.locator("#ports")).to_contain_text("No ports on this network.")

    # Security groups: the default group's rules; a group of its own with an ICMP rule
    # added and removed again.
    nav(page, "Security groups")
    page.get_by_role("link", name="Manage rules of default").click()
    rules = page.locator("#rules")
    expect(rules.locator("tr", has_text="Egress")).to_have_count(2)
    expect(rules.locator("tr", has_text="Ingress").first).to_contain_text("default")
    screenshot(page, "secgroup-default")
    nav(page, "Security groups")
    group_form = page.locator("#create-form")
    group_form.get_by_label("Name").fill("pingable")
    group_form.get_by_label("Description").fill("ICMP from anywhere")
    group_form.get_by_role("button", name="Create").click()
    expect(page.locator("tr", has_text="pingable")).to_contain_text("ICMP from anywhere")
    screenshot(page, "secgroups")
    page.get_by_role("link", name="pingable", exact=True).click()
    expect(page.get_by_role("heading", name="pingable")).to_be_visible()
    page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#rule-form")
    rule.get_by_label("Protocol").select_option("icmp")
    expect(rule.get_by_label("From port")).to_be_hidden()
    rule.get_by_label("ICMP type").fill("8")
    rule.get_by_role("button", name="Add", exact=True).click()
    icmp = rules.locator("tbody tr", has_text="ICMP")
    expect(icmp).to_contain_text("type 8")
    expect(icmp).to_contain_text("0.0.0.0/0")
    group_id = page.locator("#group").get_attribute("data-id")
    group = _neutron(cloud, _token(cloud, nina), "GET", f"security-groups/{group_id}")
    added = [r for r in group["security_group"]["security_group_rules"] if r["protocol"]]
    assert [(r["direction"], r["protocol"], r["port_range_min"]) for r in added] == [
        ("ingress", "icmp", 8)
    ]
    screenshot(page, "secgroup")
    page.get_by_role("button", name="Delete rule ingress IPv4 ICMP type 8").click()
    confirm(page, "Delete the rule ingress IPv4 ICMP type 8?")
    expect(icmp).to_have_count(0)
    page.get_by_role("button", name="Add rule").click()
    rule.get_by_label("Protocol").select_option("icmp")
    rule.get_by_role("button", name="Add", exact=True).click()
    expect(icmp).to_contain_text("Any type")

    # An instance on the new network with the new group: its address on its page.
    nav(page, "Instances")
    page.get_by_role("button", name="Launch instance").click()
    launch = page.locator("#launch-form")
    launch.get_by_label("Name").fill("net-vm")
    launch.get_by_label("Image").select_option(label="tiny")
    launch.get_by_label("Flavor").select_option(index=1)
    networks = launch.locator("#network-choices")
    expect(networks.get_by_role("checkbox", name="Default network")).to_be_checked()
    networks.get_by_role("checkbox", name="Default network").uncheck()
    launch.get_by_role("button", name="Launch", exact=True).click()
    expect(launch.locator(".field-error[data-for=networks]")).to_have_text(
        "Choose at least one network."
    )
    networks.get_by_role("checkbox", name="app-net (192.168.50.0/24)").check()
    groups = launch.locator("#group-choices")
    expect(groups.get_by_role("checkbox", name="default", exact=True)).to_be_checked()
    groups.get_by_role("checkbox", name="default", exact=True).uncheck()
    groups.get_by_role("checkbox", name="pingable", exact=True).check()
    screenshot(page, "launch-network")
    launch.get_by_role("button", name="Launch", exact=True).click()
    row = page.locator("tr", has_text="net-vm")
    expect(row.locator(".pill")).to_have_text("ACTIVE", timeout=ACTIVE_WITHIN)
    expect(row).to_contain_text("192.168.50.")
    row.get_by_role("link", name="net-vm").click()
    server_id = page.locator("#server-id").get_attribute("data-id")
    addresses = page.locator("#addresses")
    fixed = addresses.locator("tr", has_text="Fixed")
    expect(fixed).to_contain_text("app-net")
    expect(fixed).to_contain_text(re.compile(r"192\.168\.50\.\d+"))
    expect(fixed).to_contain_text(re.compile(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}"))
    expect(page.locator("#facts")).to_contain_text("pingable")
    fixed_address = re.search(r"192\.168\.50\.\d+", fixed.inner_text())
    assert fixed_address
    server = call(f"{base}/compute/v2.1/servers/{server_id}", token=_token(cloud, nina)).body
    assert [a["addr"] for a in server["server"]["addresses"]["app-net"]] == [fixed_address[0]]

    # A router joining app-net to the outside: a gateway on the public network and an
    # interface on app-net's subnet (its gateway address), which floating IPs need.
    nav(page, "Routers")
    expect(page.get_by_text("No routers yet.")).to_be_visible()
    router_form = page.locator("#create-form")
    router_form.get_by_label("Name").fill("edge")
    router_form.get_by_label("External network").select_option(label="public")
    router_form.get_by_role("button", name="Create").click()
    router_row = page.locator("#routers tbody tr", has_text="edge")
    expect(router_row.locator("td").nth(1)).to_contain_text(re.compile(r"public 203\.0\.113\."))
    page.get_by_role("button", name="Add interface edge").click()
    subnet_choice = page.locator("#interface-form").get_by_label("Subnet")
    expect(subnet_choice.locator("option")).to_have_text([re.compile("192.168.50.0/24")])
    page.locator("#interface-form").get_by_role("button", name="Add interface").click()
    expect(router_row.locator("td").nth(2)).to_contain_text("192.168.50.1")
    token = _token(cloud, nina)
    [router] = _neutron(cloud, token, "GET", "routers")["routers"]
    assert router["external_gateway_info"]["network_id"] == public
    joined = _neutron(cloud, token, "GET", f"ports?device_id={router['id']}")["ports"]
    assert [ip["ip_address"] for p in joined for ip in p["fixed_ips"]].count("192.168.50.1") == 1
    screenshot(page, "routers")

    # A floating IP from the external network, associated with the instance's address
    # through the router, seen on the instance's page, disassociated and released.
    nav(page, "Floating IPs")
    expect(page.get_by_text("No floating IPs.")).to_be_visible()
    allocate = page.locator("#allocate-form")
    allocate.get_by_label("Pool").select_option(label="public")
    allocate.get_by_role("button", name="Allocate").click()
    fip_row = page.locator("#fips tbody tr")
    expect(fip_row).to_have_count(1)
    address = cell_text(fip_row, 0)
    assert address.startswith("203.0.113."), address
    page.get_by_role("button", name=f"Associate {address}").click()
    target = page.locator("#associate-form").get_by_label("Instance and address")
    expect(target.locator("option")).to_have_text([f"net-vm: {fixed_address[0]}"])
    page.locator("#associate-form").get_by_role("button", name="Associate").click()
    expect(fip_row).to_contain_text("net-vm")
    expect(fip_row).to_contain_text(fixed_address[0])
    expect(fip_row.locator(".pill")).to_have_text("ACTIVE")
    screenshot(page, "floatingips")
    fip_row.get_by_role("link", name="net-vm").click()
    floating = addresses.locator("tr", has_text="Floating")
    expect(floating).to_contain_text(address)
    screenshot(page, "instance-addresses")
    nav(page, "Floating IPs")
    page.get_by_role("button", name=f"Disassociate {address}").click()
    confirm(page, f"Disassociate floating IP {address} from {fixed_address[0]}?")
    expect(page.get_by_role("button", name=f"Associate {address}")).to_be_visible()
    expect(fip_row.locator("td").nth(2)).to_have_text("—")
    page.goto(f"{base}/dashboard/instances/{server_id}")
    expect(addresses.locator("tr", has_text="Fixed")).to_have_count(1)
    expect(addresses.locator("tr", has_text="Floating")).to_have_count(0)

    # The router taken apart again once no floating IP uses it.
    nav(page, "Routers")
    router_row.get_by_role("button", name=re.compile("^Remove interface .* of edge$")).click()
    confirm(page, "Remove the interface of router edge on")
    expect(router_row.locator("td").nth(2)).to_have_text("—")
    page.get_by_role("button", name="Clear gateway edge").click()
    confirm(page, "Clear the gateway of router edge?")
    expect(router_row.locator("td").nth(1)).to_have_text("—")
    page.get_by_role("button", name="Delete edge").click()
    confirm(page, "Delete router edge?")
    expect(page.get_by_text("No routers yet.")).to_be_visible()

    # The overview counts what the project holds of the network quotas.
    nav(page, "Overview")
    expect(page.get_by_role("meter", name="Networks")).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_role("meter", name="Ports")).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_role("meter", name="Floating IPs")).to_have_attribute("aria-valuenow", "1")
    screenshot(page, "overview-network")

    # Phone width: the new pages laid out for it.
    page.set_viewport_size(PHONE)
    for path, name in (
        ("networks", "networks"),
        (f"networks/{network_id}", "network"),
        ("security-groups", "secgroups"),
        (f"security-groups/{group_id}", "secgroup"),
        ("floating-ips", "floatingips"),
        ("routers", "routers"),
    ):
        page.goto(f"{base}/dashboard/{path}")
        no_loading(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)

    # Deleting: a network with a port in use is refused with the API's message; the
    # rest goes once the instance has.
    nav(page, "Floating IPs")
    page.get_by_role("button", name=f"Release {address}").click()
    confirm(page, f"Release floating IP {address}?")
    expect(page.get_by_text("No floating IPs.")).to_be_visible()
    nav(page, "Networks")
    page.get_by_role("button", name="Delete app-net").click()
    confirm(page, "Delete network app-net?")
    expect(page.locator("#flash")).to_contain_text("ports still in use on the network")
    expect(page.locator("tr", has_text="app-net")).to_be_visible()
    nav(page, "Instances")
    row = page.locator("tr", has_text="net-vm")
    row.locator("summary", has_text="More").click()
    page.get_by_role("button", name="Delete net-vm").click()
    confirm(page, "Delete instance net-vm?")
    expect(row).to_have_count(0, timeout=ACTIVE_WITHIN)
    nav(page, "Security groups")
    page.get_by_role("button", name="Delete pingable").click()
    confirm(page, "Delete security group pingable?")
    expect(page.locator("tr", has_text="pingable")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete default")).to_have_count(0)
    nav(page, "Networks")
    page.get_by_role("button", name="Delete app-net").click()
    confirm(page, "Delete network app-net?")
    expect(page.locator("tr", has_text="app-net")).to_have_count(0)
    left = _neutron(cloud, _token(cloud, nina), "GET", "networks")["networks"]
    assert [n["name"] for n in left] == ["public"]


@pytest.fixture(scope="module")
def nina_things(cloud: Cloud, nina: Person, public: str) -> dict[str, str]:
    """Nina's network, subnet, security group and floating IP, made through the API."""
    token = _token(cloud, nina)
    network = _neutron(cloud, token, "POST", "networks", {"network": {"name": "nina-private"}})
    network_id = network["network"]["id"]
    subnet = {"network_id": network_id, "cidr": "172.31.7.0/24"}
    _neutron(cloud, token, "POST", "subnets", {"subnet": subnet})
    group = {"security_group": {"name": "nina-web"}}
    group_id = _neutron(cloud, token, "POST", "security-groups", group)["security_group"]["id"]
    fip = {"floatingip": {"floating_network_id": public}}
    address = _neutron(cloud, token, "POST", "floatingips", fip)["floatingip"]
    return {
        "network": network_id,
        "group": group_id,
        "address": address["floating_ip_address"],
    }


def test_another_projects_member_sees_none_of_it(
    page: Page, cloud: Cloud, nina_things: dict[str, str], omar: Person
) -> None:
    base = cloud.url
    log_in(page, base, omar.name, omar.password)
    expect(page.get_by_role("meter", name="Networks")).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_role("meter", name="Floating IPs")).to_have_attribute("aria-valuenow", "0")
    nav(page, "Networks")
    expect(page.locator("tr", has_text="public")).to_be_visible()
    expect(page.locator("#networks")).not_to_contain_text("nina-private")
    expect(page.locator("#networks")).not_to_contain_text("172.31.7.0/24")
    expect(page.get_by_role("button", name="Delete public")).to_have_count(0)
    nav(page, "Security groups")
    expect(page.locator("tr", has_text="default")).to_be_visible()
    expect(page.locator("#groups")).not_to_contain_text("nina-web")
    nav(page, "Floating IPs")
    expect(page.get_by_text("No floating IPs.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(nina_things["address"])

    # Nina's resources by their addresses: the API's own answers, as messages.
    page.goto(f"{base}/dashboard/networks/{nina_things['network']}")
    expect(page.locator("#flash")).to_contain_text(f"Network {nina_things['network']}")
    expect(page.locator("#flash")).to_contain_text("could not be found")
    page.goto(f"{base}/dashboard/security-groups/{nina_things['group']}")
    expect(page.locator("#flash")).to_contain_text("does not exist")
    expect(page.get_by_role("button", name="Add rule")).to_be_hidden()

    # By keyboard: the create form opens with its first field focused, Escape closes it.
    page.goto(f"{base}/dashboard/networks")
    page.get_by_role("button", name="Create network").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Create network")).to_be_visible()
    expect(page.get_by_label("Network name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Create network")).to_be_hidden()


def test_bad_input_shows_the_apis_message(page: Page, cloud: Cloud, omar: Person) -> None:
    base = cloud.url
    log_in(page, base, omar.name, omar.password)
    page.goto(f"{base}/dashboard/networks")
    page.get_by_role("button", name="Create network").click()
    create = page.locator("#create-form")
    create.get_by_label("Network name").fill("bad-net")
    create.get_by_label("CIDR").fill("10.1.2.300/24")
    create.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#create-error")).to_have_text(
        "Invalid input for cidr. Reason: '10.1.2.300/24' is not a valid IP subnet."
    )
    screenshot(page, "networks-bad-cidr")
    # One form, one network: the network made for the refused subnet is gone again.
    token = _token(cloud, omar)
    mine = _neutron(cloud, token, "GET", f"networks?project_id={omar.project_id}")
    assert mine["networks"] == []

    create.get_by_label("CIDR").fill("10.1.2.0/24")
    create.locator("input[name=gateway_ip]").fill("10.9.9.1")
    create.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#create-error")).to_contain_text("Gateway is not valid on subnet")
    create.locator("input[name=gateway_ip]").fill("")
    create.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("tr", has_text="bad-net")).to_contain_text("10.1.2.0/24")

    # A second subnet overlapping the first: Neutron's 400, in its words.
    page.get_by_role("link", name="bad-net").click()
    add = page.locator("#subnet-form")
    add.get_by_label("CIDR").fill("10.1.2.128/25")
    add.get_by_role("button", name="Add subnet").click()
    expect(page.locator("#subnet-error")).to_contain_text("overlaps with")

    # A rule whose port range runs backwards.
    page.goto(f"{base}/dashboard/security-groups")
    page.get_by_role("link", name="Manage rules of default").click()
    page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#rule-form")
    rule.get_by_label("Protocol").select_option("tcp")
    rule.get_by_label("From port").fill("90")
    rule.get_by_label("To port").fill("80")
    rule.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#rule-error")).to_have_text(
        "For TCP/UDP protocols, port_range_min must be <= port_range_max"
    )

    # Mended, and from a remote group instead of a CIDR: SSH from the group's members.
    rule.get_by_label("From port").fill("22")
    rule.get_by_label("To port").fill("")
    rule.locator("select[name=remote]").select_option("group")
    expect(rule.locator("input[name=remote_ip_prefix]")).to_be_hidden()
    rule.get_by_label("Remote group").select_option(label="default")
    rule.get_by_role("button", name="Add", exact=True).click()
    ssh = page.locator("#rules tbody tr", has_text="TCP")
    expect(ssh).to_contain_text("22")
    expect(ssh.get_by_role("link", name="default")).to_be_visible()
