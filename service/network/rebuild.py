"""How a rebuild gets the network read model without replaying it event by event: the
rows of networks, subnets, ports, floating IPs and routers are each owned by one stream
(`network-`, `subnet-`, `port-`, `floatingip-`, `router-<id>`) and folded from it by the folds the
inline projection writes them with (service/network/fold.py), and so are the addresses
they hold; the usage counters are sums over the log. tests/integration/projections
compare the rebuilt rows with the live ones.
"""

from collections.abc import Iterable

from events.types import RecordedEvent
from projections.bulk import FoldedTable, Statements
from projections.rows import Row
from service.network import events as ev
from service.network import fold


def allocations(held: Row | None, recorded: RecordedEvent) -> Row:
    """The addresses a port's or a floating IP's stream holds, by subnet and address."""
    held = held or {}
    match recorded.event:
        case ev.PortCreated(port_id=holder, fixed_ips=addresses):
            held = _taken(addresses, "port_id", holder)
        case ev.PortUpdated(port_id=holder, fixed_ips=tuple() as addresses):
            held = _taken(addresses, "port_id", holder)
        case ev.FloatingIpCreated() as e:
            address = ev.FixedIp(e.subnet_id, e.floating_ip_address)
            held = _taken([address], "floating_ip_id", e.floating_ip_id)
        case ev.PortDeleted() | ev.FloatingIpDeleted():
            held = {}
    return held


def _taken(addresses: Iterable[ev.FixedIp], column: str, holder: str) -> Row:
    return {
        f"{a.subnet_id} {a.ip_address}": {
            "subnet_id": a.subnet_id,
            "ip_address": a.ip_address,
            column: holder,
        }
        for a in addresses
    }


def _allocations_of(held: Row) -> Iterable[Row]:
    rows: dict[str, Row] = held
    return rows.values()


FOLDS = (
    FoldedTable("rm_networks", fold.network, frozenset({"network"})),
    FoldedTable("rm_subnets", fold.subnet, frozenset({"subnet"}), fold.SUBNET_JSON),
    FoldedTable("rm_ports", fold.port, frozenset({"port"}), fold.PORT_JSON),
    FoldedTable("rm_floating_ips", fold.floating_ip, frozenset({"floatingip"})),
    FoldedTable(
        "rm_ip_allocations", allocations, frozenset({"port", "floatingip"}), (), _allocations_of
    ),
    FoldedTable("rm_routers", fold.router, frozenset({"router"}), fold.ROUTER_JSON),
)
"""The inline projection writes the networks, subnets, ports, floating IPs and routers
from the same folds, and the addresses with SQL of its own."""

_COUNTED: dict[str, tuple[str, int]] = {
    cls.type_name(): (resource, sign)
    for resource, created, deleted in (
        ("network", ev.NetworkCreated, ev.NetworkDeleted),
        ("subnet", ev.SubnetCreated, ev.SubnetDeleted),
        ("port", ev.PortCreated, ev.PortDeleted),
        ("floatingip", ev.FloatingIpCreated, ev.FloatingIpDeleted),
        ("router", ev.RouterCreated, ev.RouterDeleted),
    )
    for cls, sign in ((created, 1), (deleted, -1))
}
_VALUES = ", ".join(f"('{t}', '{r}', {s})" for t, (r, s) in _COUNTED.items())
USAGE = Statements(
    "network_usage",
    "INSERT INTO rm_network_usage (project_id, resource, used)"
    " SELECT e.data->>'project_id', c.resource, sum(c.sign)"
    f" FROM events e JOIN (VALUES {_VALUES}) AS c (type, resource, sign) ON c.type = e.type"
    " WHERE {until} GROUP BY 1, 2",
)
"""A project's usage of each counted resource: its creations less its deletions."""
