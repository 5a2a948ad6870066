"""IP address management (IPv4): a subnet's allocation pools, and choosing a free address.

Choosing only proposes: the address is taken when the port's event is appended, and
the allocation read model's primary key (subnet, address) refuses a second taker
(service/network/projection.py), so two ports never get one address. A racing loser
chooses again. Candidates are drawn at random from the pools so that many concurrent
creates on one subnet rarely propose the same address.
"""

import ipaddress
import itertools
import secrets
from collections.abc import Iterator
from typing import Any

from service.errors import BadRequest, Conflict
from service.network.directory import Subnet
from service.network.events import AllocationPool

Address = ipaddress.IPv4Address
Net = ipaddress.IPv4Network

_CANDIDATES = 16
"""Random addresses checked at once before falling back to a scan of the pools."""


class AddressesExhausted(Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {network_id}.")


def hosts(network: Net) -> tuple[Address, Address]:
    """The first and last address a host may use (IPv4 leaves out network and broadcast)."""
    if network.version == 4 and network.prefixlen < 31:
        return network.network_address + 1, network.broadcast_address - 1
    return network.network_address, network.broadcast_address


def default_pools(network: Net, gateway: Address | None) -> tuple[AllocationPool, ...]:
    """Every host address but the gateway's, as Neutron pools them."""
    first, last = hosts(network)
    if gateway is None or not first <= gateway <= last:
        ranges = [(first, last)]
    else:
        ranges = [(first, gateway - 1), (gateway + 1, last)]
    return tuple(AllocationPool(str(a), str(b)) for a, b in ranges if a <= b)


def check_pools(network: Net, gateway: Address | None, pools: tuple[AllocationPool, ...]) -> None:
    """BadRequest unless every pool lies in the subnet, pools do not overlap, and none
    holds the gateway."""
    spans = []
    for pool in pools:
        try:
            start, end = ipaddress.IPv4Address(pool.start), ipaddress.IPv4Address(pool.end)
        except ValueError:
            raise BadRequest(f"Invalid allocation pool {pool.start}-{pool.end}.") from None
        if start not in network or end not in network or start > end:
            raise BadRequest(
                f"The allocation pool {pool.start}-{pool.end} spans beyond the subnet cidr "
                f"{network}."
            )
        if gateway is not None and start <= gateway <= end:
            raise BadRequest(
                f"Gateway ip {gateway} conflicts with allocation pool {pool.start}-{pool.end}."
            )
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start <= end:
            raise BadRequest("Found overlapping allocation pools.")


def _spans(subnet: Subnet) -> list[tuple[int, int]]:
    return [
        (int(ipaddress.ip_address(p.start)), int(ipaddress.ip_address(p.end)))
        for p in subnet.allocation_pools
    ]


def contains(subnet: Subnet, address: str) -> bool:
    """Whether `address` is a host address of the subnet."""
    try:
        value = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    first, last = hosts(ipaddress.IPv4Network(subnet.cidr))
    return first <= value <= last


def _addresses(spans: list[tuple[int, int]]) -> Iterator[int]:
    for start, end in spans:
        yield from range(start, end + 1)


def _random_candidates(spans: list[tuple[int, int]]) -> list[int]:
    size = sum(end - start + 1 for start, end in spans)
    found = []
    for _ in range(min(_CANDIDATES, size)):
        index = secrets.randbelow(size)
        for start, end in spans:
            if index <= end - start:
                found.append(start + index)
                break
            index -= end - start + 1
    return found


async def taken(db: Any, subnet_id: str, addresses: list[str]) -> set[str]:
    """Which of `addresses` are already allocated in the subnet."""
    rows = await db.fetch(
        "SELECT host(ip_address) AS ip FROM rm_ip_allocations"
        " WHERE subnet_id = $1 AND ip_address = ANY($2::inet[])",
        subnet_id,
        addresses,
    )
    return {r["ip"] for r in rows}


# Per IPv4 subnet of the network, in the subnets' order: one of `$2` random addresses per
# pool that no port or floating IP holds (NULL when all of them are held).
_FREE = (
    "SELECT s.id, (SELECT host(c.address) FROM (SELECT (pool->>'start')::inet +"
    " floor(random() * ((pool->>'end')::inet - (pool->>'start')::inet + 1))::bigint AS address"
    " FROM jsonb_array_elements(s.allocation_pools) AS pool, generate_series(1, $2)) AS c"
    " WHERE NOT EXISTS (SELECT 1 FROM rm_ip_allocations a WHERE a.subnet_id = s.id"
    " AND a.ip_address = c.address) LIMIT 1) AS free FROM rm_subnets s"
    " WHERE s.network_id = $1 AND s.ip_version = 4 ORDER BY s.created_at, s.id"
)


async def proposed(db: Any, network_id: str) -> list[tuple[str, str | None]]:
    """Each IPv4 subnet of the network with a free address drawn at random from its pools
    (None when the draw found none: the subnet may be nearly full, see `choose`), in one
    query, for a port that asks for no address."""
    rows = await db.fetch(_FREE, network_id, _CANDIDATES)
    return [(r["id"], r["free"]) for r in rows]


async def choose(db: Any, subnet: Subnet, avoid: frozenset[str] = frozenset()) -> str | None:
    """A free address of the subnet's pools (not in `avoid`), or None when it is full."""
    spans = _spans(subnet)
    candidates = [
        str(ipaddress.IPv4Address(value)) for value in dict.fromkeys(_random_candidates(spans))
    ]
    used = await taken(db, subnet.id, candidates) | avoid
    free = [c for c in candidates if c not in used]
    if free:
        return free[0]
    rows = await db.fetch(
        "SELECT ip_address FROM rm_ip_allocations WHERE subnet_id = $1", subnet.id
    )
    held = {int(r["ip_address"]) for r in rows} | {int(ipaddress.IPv4Address(a)) for a in avoid}
    left = [value for value in _addresses(spans) if value not in held]
    if not left:
        return None
    return str(ipaddress.IPv4Address(left[secrets.randbelow(len(left))]))
