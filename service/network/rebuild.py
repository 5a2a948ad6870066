"""How a rebuild gets the network read model without replaying it event by event: the
rows of networks, subnets, ports and floating IPs, and the addresses they hold, are
each owned by one stream (`network-`, `subnet-`, `port-`, `floatingip-<id>`) and folded
from it; the usage counters are sums over the log. Each gives the rows the inline
projection (service/network/projection.py) writes; tests/integration/projections
compare the two.
"""

from collections.abc import Iterable

from events.types import RecordedEvent
from projections.bulk import FoldedTable, Statements
from projections.rows import Row, set_fields
from service.network import events as ev

JSON_COLUMNS = ("allocation_pools", "dns_nameservers", "host_routes", "fixed_ips")


def _stamped(recorded: RecordedEvent, created: bool = False) -> Row:
    at = recorded.recorded_at
    stamp = {"updated_at": at, "revision_number": recorded.version}
    return ({"created_at": at} | stamp) if created else stamp


def network(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_networks' row of a `network-` stream."""
    match recorded.event:
        case ev.NetworkCreated() as e:
            return (
                {"id": e.network_id}
                | set_fields(e, exclude={"network_id"})
                | _stamped(recorded, created=True)
            )
        case ev.NetworkUpdated() as e if row is not None:
            return row | set_fields(e, exclude={"network_id"}) | _stamped(recorded)
        case ev.NetworkDeleted():
            return None
    return row


def subnet(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_subnets' row of a `subnet-` stream."""
    match recorded.event:
        case ev.SubnetCreated() as e:
            return (
                {"id": e.subnet_id}
                | set_fields(e, exclude={"subnet_id"})
                | _stamped(recorded, created=True)
            )
        case ev.SubnetUpdated() as e if row is not None:
            return row | set_fields(e, exclude={"subnet_id"}) | _stamped(recorded)
        case ev.SubnetDeleted():
            return None
    return row


def port(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_ports' row of a `port-` stream."""
    match recorded.event:
        case ev.PortCreated() as e:
            fields = set_fields(e, exclude={"port_id"})
            return {"id": e.port_id} | fields | _groups(fields) | _stamped(recorded, created=True)
        case ev.PortUpdated() as e if row is not None:
            fields = set_fields(e, exclude={"port_id"})
            return row | fields | _groups(fields) | _stamped(recorded)
        case ev.PortDeleted():
            return None
    return row


def _groups(fields: Row) -> Row:
    """The security groups column as the table takes it (a list), if they are set."""
    return (
        {"security_groups": list(fields["security_groups"])} if "security_groups" in fields else {}
    )


def floating_ip(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_floating_ips' row of a `floatingip-` stream."""
    match recorded.event:
        case ev.FloatingIpCreated() as e:
            fields = set_fields(e, exclude={"floating_ip_id", "subnet_id"})
            return {"id": e.floating_ip_id} | fields | _stamped(recorded, created=True)
        case ev.FloatingIpAssociated() as e if row is not None:
            changes = {"port_id": e.port_id, "fixed_ip_address": e.fixed_ip_address}
            return row | changes | _stamped(recorded)
        case ev.FloatingIpUpdated() as e if row is not None:
            return row | {"description": e.description} | _stamped(recorded)
        case ev.FloatingIpDeleted():
            return None
    return row


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
    FoldedTable("rm_networks", network, frozenset({"network"})),
    FoldedTable("rm_subnets", subnet, frozenset({"subnet"}), JSON_COLUMNS),
    FoldedTable("rm_ports", port, frozenset({"port"}), JSON_COLUMNS),
    FoldedTable("rm_floating_ips", floating_ip, frozenset({"floatingip"})),
    FoldedTable("rm_ip_allocations", allocations, frozenset({"port", "floatingip"}), (),
                _allocations_of),
)  # fmt: skip
"""Folded for a rebuild only: the inline projection keeps these rows with SQL of its own."""

_COUNTED: dict[str, tuple[str, int]] = {
    cls.type_name(): (resource, sign)
    for resource, created, deleted in (
        ("network", ev.NetworkCreated, ev.NetworkDeleted),
        ("subnet", ev.SubnetCreated, ev.SubnetDeleted),
        ("port", ev.PortCreated, ev.PortDeleted),
        ("floatingip", ev.FloatingIpCreated, ev.FloatingIpDeleted),
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
