"""The first five minutes: the default domain, the roles, an admin, and the catalog.

Idempotent: what exists is kept (an existing admin keeps its password), what is
missing is created, and endpoints are pointed at the URL Kumo serves on now.
"""

import secrets
from pathlib import Path

import msgspec

from events.clock import IdSource, RandomIds
from events.postgres import PostgresEventStore
from events.store import ANY, NO_STREAM, ExpectedVersion, StreamAppend
from events.types import SYSTEM, Event, Metadata
from service.config import Settings
from service.identity import events as ev
from service.identity.directory import (
    DEFAULT_DOMAIN_ID,
    Domain,
    Endpoint,
    Project,
    Region,
    Role,
    Service,
    User,
    by_name,
    get,
    select,
)
from service.identity.passwords import hash_password
from service.identity.services import SERVICES

ROLES = ("admin", "manager", "member", "reader", "service", "ResellerAdmin")
IMPLIED = (("admin", "manager"), ("manager", "member"), ("member", "reader"))
"""Keystone's bootstrap since 2024.2; a cloud bootstrapped before keeps its admin → member."""
INTERFACES = ("public", "internal", "admin")
ADMIN = "admin"


class Bootstrapped(msgspec.Struct, frozen=True):
    """What bootstrap found or made; `password_generated` when the admin password is new."""

    admin_user_id: str
    admin_project_id: str
    admin_password: str
    password_generated: bool
    created: int


def admin_password(settings: Settings) -> tuple[str, bool]:
    """KUMO_ADMIN_PASSWORD, or the one saved in the data folder, or a new one saved there;
    and whether it was just generated."""
    if settings.admin_password:
        return settings.admin_password, False
    saved = Path(settings.data_dir) / "admin-password"
    if saved.exists():
        return saved.read_text().strip(), False
    password = secrets.token_urlsafe(18)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.touch(mode=0o600)
    saved.write_text(password + "\n")
    return password, True


class _Plan:
    """The events bootstrap will append, by stream, in one atomic append."""

    def __init__(self) -> None:
        self.streams: dict[str, tuple[ExpectedVersion, list[Event]]] = {}

    def add(self, stream: str, *events: Event, new: bool = False) -> None:
        """Plan `events` on `stream`; `new` streams must not exist yet."""
        self.streams.setdefault(stream, (NO_STREAM if new else ANY, []))[1].extend(events)

    def appends(self) -> list[StreamAppend]:
        return [StreamAppend(s, events, expected) for s, (expected, events) in self.streams.items()]


async def bootstrap(
    store: PostgresEventStore, settings: Settings, *, ids: IdSource | None = None
) -> Bootstrapped:
    """Create whatever of the initial identity is missing; see the module docstring."""
    ids = ids or RandomIds()
    pool = store.pool
    plan = _Plan()
    add = plan.add

    if await get(pool, Domain, DEFAULT_DOMAIN_ID) is None:
        add("domain-default", ev.DomainCreated(domain_id=DEFAULT_DOMAIN_ID, name="Default",
            description="The default domain"), new=True)  # fmt: skip
    roles = {r.name: r.id for r in await select(pool, Role, "domain_id IS NULL")}
    for name in ROLES:
        if name not in roles:
            roles[name] = ids.new_id().hex
            add(f"role-{roles[name]}", ev.RoleCreated(role_id=roles[name], name=name), new=True)
    implied = {tuple(r) for r in await pool.fetch("SELECT * FROM rm_implied_roles")}
    for prior, implies in IMPLIED:
        if (roles[prior], roles[implies]) not in implied:
            add(f"role-{roles[prior]}", ev.RoleImplied(
                prior_role_id=roles[prior], implied_role_id=roles[implies]))  # fmt: skip

    project = await by_name(pool, Project, ADMIN, DEFAULT_DOMAIN_ID)
    project_id = project.id if project else ids.new_id().hex
    if project is None:
        add(f"project-{project_id}", ev.ProjectCreated(
            project_id=project_id, name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
            description="Bootstrap project for initializing the cloud."), new=True)  # fmt: skip
    password, generated = admin_password(settings)
    user = await by_name(pool, User, ADMIN, DEFAULT_DOMAIN_ID)
    user_id = user.id if user else ids.new_id().hex
    if user is None:
        add(f"user-{user_id}", ev.UserCreated(
            user_id=user_id, name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
            default_project_id=project_id,
            password_hash=await hash_password(password, settings.password_hash_rounds)),
            new=True)  # fmt: skip
    granted = {
        (r["target_type"], r["target_id"], r["role_id"])
        for r in await pool.fetch(
            "SELECT target_type, target_id, role_id FROM rm_role_assignments"
            " WHERE actor_type = 'user' AND actor_id = $1", user_id)
    }  # fmt: skip
    grants = [
        ev.RoleGranted(role_id=roles[ADMIN], actor_type="user", actor_id=user_id,
                       target_type=target, target_id=target_id)
        for target, target_id in (("project", project_id), ("system", "all"))
        if (target, target_id, roles[ADMIN]) not in granted
    ]  # fmt: skip
    if grants:
        add(f"user-{user_id}", *grants)
    await _catalog(store, settings, ids, plan)
    appends = plan.appends()
    if appends:
        metadata = Metadata(actor=SYSTEM, request_id="kumo-bootstrap")
        await store.append_streams(appends, metadata=metadata)
    return Bootstrapped(user_id, project_id, password, generated, len(appends))


async def _catalog(
    store: PostgresEventStore, settings: Settings, ids: IdSource, plan: _Plan
) -> None:
    """Region, services and endpoints at the URL Kumo serves on."""
    pool = store.pool
    add = plan.add
    if await get(pool, Region, settings.region) is None:
        add(f"region-{settings.region}", ev.RegionCreated(region_id=settings.region), new=True)
    services = {s.type: s for s in await select(pool, Service)}
    endpoints = await select(pool, Endpoint)
    for type_, name, path in SERVICES:
        service = services.get(type_)
        service_id = service.id if service else ids.new_id().hex
        if service is None:
            add(f"service-{service_id}", ev.ServiceCreated(
                service_id=service_id, type=type_, name=name), new=True)  # fmt: skip
        url = settings.base_url + path
        for interface in INTERFACES:
            found = [
                e for e in endpoints if e.service_id == service_id and e.interface == interface
            ]
            if not found:
                endpoint_id = ids.new_id().hex
                add(f"endpoint-{endpoint_id}", ev.EndpointCreated(
                    endpoint_id=endpoint_id, service_id=service_id, interface=interface,
                    url=url, region_id=settings.region), new=True)  # fmt: skip
            elif found[0].url != url or found[0].region_id != settings.region:
                add(f"endpoint-{found[0].id}", ev.EndpointUpdated(
                    endpoint_id=found[0].id, url=url, region_id=settings.region))  # fmt: skip
