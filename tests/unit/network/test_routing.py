"""Routers as an nftables table: bridges joined by a router route to each other, one with
a gateway goes out (with source NAT if asked), every other bridge of the cloud is kept
apart; nothing unchecked reaches nft."""

import pytest

from service.network.routing import HostRoutes, RouterPath, removal, ruleset

NAME = "kumo-rt-test"


def test_a_router_joins_its_bridges_and_leaves_the_others_apart() -> None:
    routes = HostRoutes(
        bridges=("kb-a", "kb-b", "kb-c"),
        routers=(RouterPath(router_id="r", bridges=("kb-a", "kb-b")),),
    )
    script = ruleset(NAME, routes)
    joined = '"kb-a" . "kb-a", "kb-a" . "kb-b", "kb-b" . "kb-a", "kb-b" . "kb-b", "kb-c" . "kb-c"'
    assert f"elements = {{ {joined} }}" in script
    assert 'elements = { "kb-a", "kb-b", "kb-c" }' in script
    assert "iifname @bridges drop" in script and "oifname @bridges drop" in script
    assert "snat to" not in script
    assert script.startswith(f"add table ip {NAME}\ndelete table ip {NAME}\n")


def test_a_gateway_opens_the_way_out_with_source_nat_when_enabled() -> None:
    out = RouterPath(
        router_id="r",
        bridges=("kb-a",),
        outward=True,
        snat=(("10.1.0.0/24", "203.0.113.5"),),
    )
    script = ruleset(NAME, HostRoutes(bridges=("kb-a",), routers=(out,)))
    assert 'set outward {\n    type ifname\n    elements = { "kb-a" }' in script
    assert 'iifname @outward oifname != "kb-*" accept' in script
    assert 'ip saddr 10.1.0.0/24 oifname != "kb-*" snat to 203.0.113.5' in script
    assert "priority srcnat + 10" in script  # after a floating IP's own source NAT


@pytest.mark.parametrize(
    "path",
    [
        RouterPath(router_id="r", bridges=('kb-a"; flush ruleset',)),
        RouterPath(router_id="r", bridges=("eth0",)),
        RouterPath(router_id="r", bridges=("kb-a",), outward=True, snat=(("10.1.0.0/24", "x"),)),
    ],
)
def test_names_and_addresses_are_checked(path: RouterPath) -> None:
    with pytest.raises(ValueError):
        ruleset(NAME, HostRoutes(bridges=("kb-a",), routers=(path,)))


def test_removal_deletes_a_missing_table_too() -> None:
    assert removal(NAME) == f"add table ip {NAME}\ndelete table ip {NAME}\n"
