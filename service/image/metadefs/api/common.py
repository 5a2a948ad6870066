"""What every metadefs handler shares: the caller's view of the path's namespace, policy,
and recording events against the version of the namespace the decision was made on."""

from collections.abc import Callable, Iterable, Sequence

from aiohttp import web

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import caller
from service.errors import Conflict, Forbidden, NotFound
from service.http.recording import record_streams, store
from service.image.api.common import enforce
from service.image.metadefs import seed
from service.image.metadefs.directory import (
    Item,
    Namespace,
    resource_type_exists,
    visible_namespace,
)
from service.image.metadefs.events import MetadefResourceTypeCreated


def stream(namespace_id: str) -> str:
    return f"metadef-{namespace_id}"


async def seen(request: web.Request, name: str) -> Namespace:
    """The namespace called `name` as the caller sees it now; NotFound (404) if it may not
    see it, as if it did not exist."""
    found = await visible_namespace(store(request).pool, caller(request), name)
    if found is None:
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    return found


async def must_see(request: web.Request, action: str) -> Namespace:
    """The path's namespace once `action` is allowed on it: NotFound (404) if the caller may
    not see it, Forbidden (403) if it sees it but may not act."""
    found = await seen(request, request.match_info["namespace"])
    enforce(caller(request), f"image:{action}", found.target())
    return found


def refuse_if_protected(ns: Namespace, what: str) -> None:
    """Forbidden (403) when `ns` is protected: nothing of it may be deleted."""
    if ns.protected:
        raise Forbidden(f"{what} is protected and cannot be deleted (namespace={ns.namespace}).")


def find(items: Iterable[Item], name: str, what: str, ns: Namespace) -> Item:
    """The item of `items` called `name`; NotFound (404) naming `what` otherwise."""
    for item in items:
        if item["name"] == name:
            return item
    raise not_found(what, name, ns)


def not_found(what: str, name: str, ns: Namespace) -> NotFound:
    """Glance's error for a member of a namespace that it does not hold."""
    return NotFound(
        f"The metadata definition {what} with name={name} was not found in"
        f" namespace={ns.namespace}."
    )


def the(ns: Namespace, request: web.Request, what: str) -> Item:
    """The namespace's `what` (object or tag) the path names; NotFound (404) otherwise."""
    return find(getattr(ns, f"{what}s"), request.match_info["name"], what, ns)


async def delete_one(
    request: web.Request, action: str, what: str, deleted: Callable[..., Event]
) -> web.Response:
    """Delete the path's `what` (object or tag) of the path's namespace by the event type
    `deleted`: 204, or 404 if there is none, 403 while the namespace is protected."""
    ns = await must_see(request, action)
    name = the(ns, request, what)["name"]
    refuse_if_protected(ns, f"Metadata definition {what} {name}")
    await record(request, ns, [deleted(namespace_id=ns.id, name=name)])
    return web.Response(status=204)


async def current(request: web.Request, namespace: str, what: str, name: str) -> Item:
    """The namespace's `what` (object or tag) called `name` as it is now (after an append)."""
    ns = await seen(request, namespace)
    return find(getattr(ns, f"{what}s"), name, what, ns)


def refuse_duplicate(items: Iterable[Item], name: str, what: str, ns: Namespace) -> None:
    """Conflict (409) when `items` (of `ns`) hold one called `name` already."""
    if any(item["name"] == name for item in items):
        raise Conflict(duplicate(what, name, ns))


def duplicate(what: str, name: str, ns: Namespace | str) -> str:
    """Glance's message for a second member of a namespace with one name."""
    namespace = ns if isinstance(ns, str) else ns.namespace
    return f"A metadata definition {what} with name={name} already exists in namespace={namespace}."


async def resource_types_created(request: web.Request, names: Iterable[str]) -> list[StreamAppend]:
    """The creation of those resource types of `names` that do not exist yet (an association
    names a resource type into being, as in Glance)."""
    pool = store(request).pool
    return [
        StreamAppend(seed.stream(name), [MetadefResourceTypeCreated(name=name)], NO_STREAM)
        for name in dict.fromkeys(names)
        if not await resource_type_exists(pool, name)
    ]


async def record(
    request: web.Request,
    ns: Namespace,
    events: Sequence[Event],
    *,
    also: Sequence[StreamAppend] = (),
    conflict: str = "",
) -> None:
    """Append the namespace's events, if any (and `also` with them) for this request,
    expecting the namespace at the version read; Conflict (409) if it changed meanwhile,
    or with `conflict` when the events would make a second namespace of one name."""
    if events:
        appends = [*also, StreamAppend(stream(ns.id), events, ns.version)]
        await record_streams(request, appends, conflict=conflict)
