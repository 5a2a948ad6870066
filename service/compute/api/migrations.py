"""/v2.1/os-migrations (admin): the cloud's migrations as Nova lists them, and
/v2.1/servers/{id}/migrations (in-progress live migrations).

Kumo's only migrations are resizes, which keep a server on its host: each `resize`
instance action is one migration of type `resize`, its id the log position of the
request, its uuid the request's id. Its status follows the actions
(service/compute/projection.py's rm_instance_actions): `migrating` while the host
resizes, `error` if it failed, `finished` while the server waits in VERIFY_RESIZE, then
`confirming`/`reverting` and `confirmed`/`reverted`. Nova's integer flavor ids
(`old_instance_type_id`, `new_instance_type_id`) do not exist in Kumo: null. Kumo does
not live-migrate, so a server's in-progress live migrations are always none.
"""

from typing import Any

from aiohttp import web

from service.compute.api import paging
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import only
from service.compute.api.servers import changes_window, visible_server
from service.compute.policy_rules import authorize
from service.compute.server_view import nova_time
from service.errors import NotFound
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()

MIGRATIONS = """
SELECT a.position, a.server_id, a.request_id, a.project_id, a.user_id, a.start_time,
       a.finish_time, a.result, s.host, e.action AS ending, e.result AS ending_result,
       e.start_time AS ending_start, e.finish_time AS ending_finish
  FROM rm_instance_actions a
  LEFT JOIN rm_servers s ON s.id = a.server_id
  LEFT JOIN LATERAL (
        SELECT c.action, c.result, c.start_time, c.finish_time FROM rm_instance_actions c
         WHERE c.server_id = a.server_id AND c.action IN ('confirmResize', 'revertResize')
           AND c.position > a.position
         ORDER BY c.position LIMIT 1) e ON true
 WHERE a.action = 'resize'
 ORDER BY a.start_time DESC, a.position DESC
"""
"""Every resize with the confirm or revert that ended it, if any: newest first."""

_ENDED = {
    ("confirmResize", None): "confirming",
    ("confirmResize", "Success"): "confirmed",
    ("revertResize", None): "reverting",
    ("revertResize", "Success"): "reverted",
}
_QUERY = frozenset(
    {"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}
)


def _status(row: Any) -> str:
    if row["result"] is None:
        return "migrating"
    if row["result"] != "Success":
        return "error"
    if row["ending"] is None:
        return "finished"
    return _ENDED.get((row["ending"], row["ending_result"]), "error")


def _view(row: Any, version: Microversion) -> dict[str, Any]:
    updated = row["ending_finish"] or row["ending_start"] or row["finish_time"]
    shown: dict[str, Any] = {
        "id": row["position"],
        "status": _status(row),
        "instance_uuid": row["server_id"],
        "source_node": row["host"],
        "source_compute": row["host"],
        "dest_node": row["host"],
        "dest_compute": row["host"],
        "dest_host": None,
        "old_instance_type_id": None,
        "new_instance_type_id": None,
        "created_at": nova_time(row["start_time"]),
        "updated_at": nova_time(updated) if updated else None,
    }
    if version.at_least("2.23"):
        shown["migration_type"] = "resize"
    if version.at_least("2.59"):
        shown["uuid"] = _uuid(row)
    if version.at_least("2.80"):
        shown["user_id"] = row["user_id"]
        shown["project_id"] = row["project_id"]
    return shown


def _uuid(row: Any) -> str:
    return str(row["request_id"]).removeprefix("req-")


def _wanted(row: Any, query: Any, version: Microversion) -> bool:
    """Whether the row passes the query's filters (those of `version`)."""
    host = row["host"]
    checks = (
        ("status", _status(row)),
        ("instance_uuid", row["server_id"]),
        ("migration_type", "resize"),
        ("source_compute", host),
        ("host", host),
    )
    if any(name in query and query[name] != value for name, value in checks):
        return False
    if version.at_least("2.80"):
        owners = (("user_id", row["user_id"]), ("project_id", row["project_id"]))
        return not any(name in query and query[name] != value for name, value in owners)
    return True


@ROUTES.get("/v2.1/os-migrations")
async def list_migrations(request: web.Request) -> web.Response:
    """Newest first; filters `status`, `host`, `instance_uuid`, `source_compute`,
    `migration_type`; from 2.59 in pages (`limit`, `marker`: a uuid) changed since
    `changes-since` (before `changes-before` from 2.66), from 2.80 also by `user_id`
    and `project_id`."""
    authorize(request, "os_compute_api:os-migrations:index")
    version = version_of(request)
    rows = [
        r for r in await store(request).pool.fetch(MIGRATIONS) if _wanted(r, request.query, version)
    ]
    if not version.at_least("2.59"):
        return json_response({"migrations": [_view(r, version) for r in rows]})
    allowed = _QUERY | {"limit", "marker", "changes-since"}
    if version.at_least("2.66"):
        allowed |= {"changes-before"}
    if version.at_least("2.80"):
        allowed |= {"user_id", "project_id"}
    only(request.query, allowed)
    since, before = changes_window(request)
    rows = [r for r in rows if _changed_within(r, since, before)]
    shown = paging.page(request, rows, _uuid)
    body: dict[str, Any] = {"migrations": [_view(r, version) for r in shown]}
    links = paging.next_link(request, shown, _uuid)
    return json_response(body | ({"migrations_links": links} if links else {}))


def _changed_within(row: Any, since: Any, before: Any) -> bool:
    updated = row["ending_finish"] or row["ending_start"] or row["finish_time"] or row["start_time"]
    return (since is None or updated >= since) and (before is None or updated <= before)


@ROUTES.get("/v2.1/servers/{server_id}/migrations")
async def server_migrations(request: web.Request) -> web.Response:
    """The server's in-progress live migrations (2.23): Kumo makes none."""
    authorize(request, "os_compute_api:servers:migrations:index")
    if not version_of(request).at_least("2.23"):
        raise NotFound("The resource could not be found.")
    await visible_server(request, request.match_info["server_id"])
    return json_response({"migrations": []})
