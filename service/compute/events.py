"""Compute events. Streams: `flavor-<id>`, `keypair-<id>`, `server-<id>` (the server's
whole life: request, scheduling, result of every action, observed power changes),
`quota-<project id>` (limits, and every claim and release of instances, cores and RAM,
appended with the server event under optimistic concurrency so races are exact),
`quotaclass-<name>` (a quota class's limits),
`secgroup-<id>`, `servergroup-<id>`, `host-<name>` (compute hosts and what they offer)
and `aggregate-<number>` (host aggregates).

An action on a server is a `ServerActionRequested` (which sets the task state Nova
shows) followed by `ServerActionSucceeded` or `ServerActionFailed`, written by the host's
reactor; the request id in the requested event's metadata is the instance action id.
"""

from datetime import datetime
from typing import Any, ClassVar

from msgspec import UNSET, Struct, UnsetType

from events.types import Event


class FlavorCreated(Event, frozen=True):
    flavor_id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


class FlavorUpdated(Event, frozen=True):
    flavor_id: str
    description: str | None | UnsetType = UNSET


class FlavorDeleted(Event, frozen=True):
    flavor_id: str


class FlavorExtraSpecsSet(Event, frozen=True):
    flavor_id: str
    specs: dict[str, str]


class FlavorExtraSpecDeleted(Event, frozen=True):
    flavor_id: str
    key: str


class FlavorAccessAdded(Event, frozen=True):
    flavor_id: str
    project_id: str


class FlavorAccessRemoved(Event, frozen=True):
    flavor_id: str
    project_id: str


class KeypairCreated(Event, frozen=True):
    keypair_id: str
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    type: str = "ssh"


class KeypairDeleted(Event, frozen=True):
    keypair_id: str
    user_id: str
    name: str


class FlavorSnapshot(Struct, frozen=True):
    """The flavor as it was when a server was created or resized (Nova embeds it)."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = {}


class ServerCreateRequested(Event, frozen=True):
    """A server was asked for. With a key pair, its public key and type are copied in
    (as Nova copies key_data into the instance): the server keeps them if the pair goes."""

    secret_fields: ClassVar[tuple[str, ...]] = ("user_data", "admin_password")

    server_id: str
    project_id: str
    user_id: str
    name: str
    flavor: FlavorSnapshot
    image_id: str
    availability_zone: str
    reservation_id: str
    launch_index: int = 0
    key_name: str | None = None
    public_key: str | None = None
    key_type: str = "ssh"
    user_data: str | None = None
    admin_password: str | None = None
    metadata: dict[str, str] = {}
    config_drive: bool = False
    security_groups: tuple[str, ...] = ("default",)
    server_group_id: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    access_ipv4: str = ""
    access_ipv6: str = ""
    hostname: str = ""
    disk_config: str = "MANUAL"


class ServerScheduled(Event, frozen=True):
    server_id: str
    host: str
    node: str


class ServerActive(Event, frozen=True):
    """The server's first boot finished: ACTIVE, running."""

    server_id: str
    host: str
    launched_at: datetime


class ServerFailed(Event, frozen=True):
    """Creating the server failed: ERROR with a fault saying what went wrong."""

    server_id: str
    message: str
    code: int = 500
    details: str = ""


class ServerUpdated(Event, frozen=True):
    server_id: str
    name: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    access_ipv4: str | UnsetType = UNSET
    access_ipv6: str | UnsetType = UNSET
    disk_config: str | UnsetType = UNSET


class ServerDeleteRequested(Event, frozen=True):
    server_id: str


class ServerDeleted(Event, frozen=True):
    """The server's domain, disks and config drive are gone."""

    server_id: str


class ServerActionRequested(Event, frozen=True):
    """An action on a server was accepted (`task_state` is what Nova then shows); a
    rebuild from 2.57 may give the server new `user_data` (None: none), and from 2.54 a
    key pair: `key_name` in its params with the pair's `public_key` and `key_type`
    copied in (all None: no key pair)."""

    secret_fields: ClassVar[tuple[str, ...]] = ("user_data",)

    server_id: str
    action: str
    task_state: str | None = None
    params: dict[str, Any] = {}
    user_data: str | None | UnsetType = UNSET


class ServerActionSucceeded(Event, frozen=True):
    """The host finished an action; `changes` are attributes it changed (image_id,
    flavor, ...)."""

    server_id: str
    action: str
    vm_state: str
    power_state: int
    changes: dict[str, Any] = {}


class ServerActionFailed(Event, frozen=True):
    """The host could not finish an action; the server keeps its previous state."""

    server_id: str
    action: str
    message: str


class ServerPowerObserved(Event, frozen=True):
    """The hypervisor reported a power change Kumo did not ask for (a guest that shut
    itself down), or reconciliation found the log and the hypervisor disagreeing."""

    server_id: str
    vm_state: str
    power_state: int
    reason: str


class ServerStateReset(Event, frozen=True):
    """An admin set the server's state by hand (os-resetState): `vm_state`, and no task
    in progress. The hypervisor is not asked; the next observed change wins."""

    server_id: str
    vm_state: str


class ServerLocked(Event, frozen=True):
    server_id: str
    locked_by: str  # "owner" | "admin"
    reason: str | None = None


class ServerUnlocked(Event, frozen=True):
    server_id: str


class ServerMetadataSet(Event, frozen=True):
    """Metadata items set; with `replace`, the whole metadata becomes `items`."""

    server_id: str
    items: dict[str, str]
    replace: bool = False


class ServerMetadataItemDeleted(Event, frozen=True):
    server_id: str
    key: str


class ServerTagsSet(Event, frozen=True):
    server_id: str
    tags: tuple[str, ...]


class ServerSecurityGroupAdded(Event, frozen=True):
    server_id: str
    name: str


class ServerSecurityGroupRemoved(Event, frozen=True):
    server_id: str
    name: str


class QuotaLimitsSet(Event, frozen=True):
    project_id: str
    limits: dict[str, int]


class QuotaLimitsDeleted(Event, frozen=True):
    """The limits an admin set for these resources of the project are gone: it has the
    defaults again."""

    project_id: str
    resources: tuple[str, ...]


class QuotaClassLimitsSet(Event, frozen=True):
    """Limits of a quota class; those of the `default` class are every project's
    defaults."""

    quota_class: str
    limits: dict[str, int]


class ResourcesClaimed(Event, frozen=True):
    """A server's share of the project's quota, taken when it is requested or resized."""

    project_id: str
    server_id: str
    instances: int
    cores: int
    ram: int


class ResourcesReleased(Event, frozen=True):
    project_id: str
    server_id: str
    instances: int
    cores: int
    ram: int


class SecurityGroupCreated(Event, frozen=True):
    group_id: str
    project_id: str
    name: str
    description: str = ""


class SecurityGroupUpdated(Event, frozen=True):
    group_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class SecurityGroupDeleted(Event, frozen=True):
    group_id: str


class SecurityGroupRuleAdded(Event, frozen=True):
    group_id: str
    rule_id: str
    direction: str = "ingress"
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


class SecurityGroupRuleRemoved(Event, frozen=True):
    group_id: str
    rule_id: str


class ServerGroupCreated(Event, frozen=True):
    group_id: str
    project_id: str
    user_id: str
    name: str
    policy: str
    rules: dict[str, int] = {}
    """From 2.64: for anti-affinity, `max_server_per_host` (1 if not given)."""


class ServerGroupDeleted(Event, frozen=True):
    group_id: str


class ServerGroupMemberAdded(Event, frozen=True):
    """A server joined the group on the host the scheduler chose for it; appended with
    the server's placement at the group stream's version the scheduler read, so racing
    placements in one group take turns."""

    group_id: str
    member: str
    host: str


class HostRegistered(Event, frozen=True):
    """A compute host joined (or rejoined with new figures). The scheduler lets its
    servers take up to its totals times the allocation ratios (Nova's initial ones)."""

    host: str
    uri: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str = "nova"
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    booted_at: datetime | None = None
    """When the host's machine last booted (None: unknown), whence its uptime."""


class AggregateCreated(Event, frozen=True):
    """A host aggregate (admin): a named group of hosts with metadata. A zone it names is
    its hosts' own: a host joins only an aggregate of its zone (their worker sets it)."""

    aggregate_id: int
    uuid: str
    name: str
    availability_zone: str | None = None


class AggregateUpdated(Event, frozen=True):
    aggregate_id: int
    name: str | UnsetType = UNSET
    availability_zone: str | None | UnsetType = UNSET


class AggregateMetadataSet(Event, frozen=True):
    """Metadata items set; an item set to None is removed."""

    aggregate_id: int
    items: dict[str, str | None]


class AggregateHostAdded(Event, frozen=True):
    aggregate_id: int
    host: str


class AggregateHostRemoved(Event, frozen=True):
    aggregate_id: int
    host: str


class AggregateDeleted(Event, frozen=True):
    aggregate_id: int


class HostStatusChanged(Event, frozen=True):
    host: str
    enabled: bool
    reason: str | None = None
