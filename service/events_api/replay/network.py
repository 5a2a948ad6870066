"""Networks, subnets, ports, floating IPs, routers and security groups as they were: their streams
folded by service/network/fold.py (security groups by service/compute/rebuild.py),
rendered by the network API's views (the bodies of Neutron's GET, to a non-admin)."""

from collections.abc import Sequence

import msgspec

from events.types import RecordedEvent
from projections.rows import fold
from service.compute import rebuild as compute_rows
from service.compute.directory import SecurityGroup, SecurityGroupRule
from service.events_api.envelope import Json
from service.events_api.replay.scene import Scene
from service.network import fold as rows
from service.network.api import floating_ips, networks, ports, routers, security_groups, subnets
from service.network.directory import FloatingIp, Network, Port, Router, Subnet


async def network(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"network": ...}` with the subnets it had then, oldest first."""
    row = fold(rows.network, events)
    if row is None:
        return None
    where = "type = 'SubnetCreated' AND data->>'network_id' = $1"
    found = await scene.related_rows(rows.subnet, where, row["id"])
    held = [s["id"] for s in sorted(found, key=lambda s: (s["created_at"], s["id"]))]
    return {"network": networks.view(msgspec.convert(row, Network), held)}


async def subnet(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"subnet": ...}`."""
    row = fold(rows.subnet, events)
    return None if row is None else {"subnet": subnets.view(msgspec.convert(row, Subnet))}


async def port(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"port": ...}` without the admin-only binding attributes."""
    row = fold(rows.port, events)
    if row is None:
        return None
    return {"port": ports.view(msgspec.convert(row, Port), admin=False)}


async def floating_ip(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"floatingip": ...}`."""
    row = fold(rows.floating_ip, events)
    if row is None:
        return None
    return {"floatingip": floating_ips.view(msgspec.convert(row, FloatingIp))}


async def router(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"router": ...}` with its gateway's addresses as its gateway port had them then."""
    row = fold(rows.router, events)
    if row is None:
        return None
    shown = msgspec.convert(row, Router)
    gateway = None
    if shown.gateway_port_id is not None:
        where = "type = 'PortCreated' AND data->>'port_id' = $1"
        found = await scene.related_rows(rows.port, where, shown.gateway_port_id)
        gateway = msgspec.convert(found[0], Port) if found else None
    return {"router": routers.view(shown, gateway)}


async def security_group(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"security_group": ...}` with its rules (by id, as the read model lists them),
    folded as a rebuild folds the group's rows (service/compute/rebuild.py)."""
    row = fold(compute_rows.security_group, events)
    if row is None:
        return None
    group = msgspec.convert(row, SecurityGroup)
    held = fold(compute_rows.security_group_rules, events) or {}
    rules = [msgspec.convert(held[rule_id], SecurityGroupRule) for rule_id in sorted(held)]
    return {"security_group": security_groups.view(group, rules)}
