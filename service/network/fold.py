"""The network rows each stream owns, as pure folds of its events (projections/rows.py):
rm_networks of `network-<id>`, rm_subnets of `subnet-<id>`, rm_ports of `port-<id>`,
rm_floating_ips of `floatingip-<id>`, rm_routers of `router-<id>`. The network
projection writes its rows from the same created rows and changes; a rebuild folds them
(service/network/rebuild.py), and time travel rebuilds them from the stream alone.

A resource's row goes with its deletion; events for a row that does not exist leave it
absent. JSON columns hold builtins (lists of dicts), as they are stored.
"""

import msgspec

from events.types import Event, RecordedEvent
from projections.rows import Row, set_fields
from service.network import events as ev

SUBNET_JSON = ("allocation_pools", "dns_nameservers", "host_routes")
PORT_JSON = ("fixed_ips",)
ROUTER_JSON = ("routes",)

_KEYS: dict[type[Event], str] = {
    ev.NetworkCreated: "network_id",
    ev.NetworkUpdated: "network_id",
    ev.SubnetCreated: "subnet_id",
    ev.SubnetUpdated: "subnet_id",
    ev.PortCreated: "port_id",
    ev.PortUpdated: "port_id",
    ev.FloatingIpCreated: "floating_ip_id",
    ev.FloatingIpAssociated: "floating_ip_id",
    ev.FloatingIpUpdated: "floating_ip_id",
    ev.RouterCreated: "router_id",
    ev.RouterUpdated: "router_id",
}
"""The field naming the row's resource, in events that make or change a row."""
_NOT_COLUMNS: dict[type[Event], set[str]] = {ev.FloatingIpCreated: {"subnet_id"}}


def resource_id(event: Event) -> str:
    """The id of the row an event makes or changes."""
    return str(getattr(event, _KEYS[type(event)]))


def _stamp(recorded: RecordedEvent) -> Row:
    return {"updated_at": recorded.recorded_at, "revision_number": recorded.version}


def created(recorded: RecordedEvent) -> Row:
    """The row a create event makes: its fields, the resource's id, the stamps."""
    event = recorded.event
    key = _KEYS[type(event)]
    skipped = _NOT_COLUMNS.get(type(event), set())
    row: Row = {
        name: msgspec.to_builtins(getattr(event, name))
        for name in event.__struct_fields__
        if name != key and name not in skipped
    }
    at = {"created_at": recorded.recorded_at}
    return {"id": resource_id(event)} | row | at | _stamp(recorded)


def changes(recorded: RecordedEvent) -> Row:
    """The columns an update event sets (with the stamps)."""
    event = recorded.event
    fields = set_fields(event, exclude={_KEYS[type(event)]})
    return {name: msgspec.to_builtins(value) for name, value in fields.items()} | _stamp(recorded)


def _evolve(
    row: Row | None, recorded: RecordedEvent, made: type[Event], gone: type[Event]
) -> Row | None:
    if isinstance(recorded.event, made):
        return created(recorded)
    if row is None or isinstance(recorded.event, gone):
        return None
    return row | changes(recorded)


def network(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_networks' row after one event of the network's stream."""
    return _evolve(row, recorded, ev.NetworkCreated, ev.NetworkDeleted)


def subnet(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_subnets' row after one event of the subnet's stream."""
    return _evolve(row, recorded, ev.SubnetCreated, ev.SubnetDeleted)


def port(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_ports' row after one event of the port's stream."""
    return _evolve(row, recorded, ev.PortCreated, ev.PortDeleted)


def floating_ip(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_floating_ips' row after one event of the floating IP's stream."""
    return _evolve(row, recorded, ev.FloatingIpCreated, ev.FloatingIpDeleted)


_NO_GATEWAY: Row = {"gateway_network_id": None, "gateway_port_id": None, "enable_snat": True}


def router(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_routers' row after one event of the router's stream: its interface events
    change only its stamps (the interfaces are ports)."""
    match recorded.event:
        case ev.RouterCreated():
            return created(recorded) | {"routes": []} | _NO_GATEWAY
        case ev.RouterDeleted():
            return None
    if row is None:
        return None
    match recorded.event:
        case ev.RouterUpdated():
            return row | changes(recorded)
        case ev.RouterGatewaySet(network_id=None):
            return row | _NO_GATEWAY | _stamp(recorded)
        case ev.RouterGatewaySet(network_id=network_id, port_id=port_id, enable_snat=snat):
            gateway = {"gateway_network_id": network_id, "gateway_port_id": port_id}
            return row | gateway | {"enable_snat": snat} | _stamp(recorded)
    return row | _stamp(recorded)
