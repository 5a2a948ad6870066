"""The account: `/v1/AUTH_<project>` HEAD, GET (container listing) and POST (metadata,
account quota, temp URL keys); POST or DELETE `?bulk-delete` is in bulk.py, PUT
`?extract-archive` in extract.py."""

from aiohttp import web

from service.errors import BadRequest, error_for_status
from service.objects import acl
from service.objects import directory as rm
from service.objects.api import bulk, extract
from service.objects.api.common import (
    auth,
    db,
    denied,
    header_case,
    now,
    policies,
    record,
    require_owner,
    usage_headers,
)
from service.objects.events import AccountMetadataUpdated
from service.objects.headers import check_limits, metadata_change
from service.objects.listing import collect, listing_query, render
from service.objects.naming import account_stream

routes = web.RouteTableDef()
ACCOUNT = "/v1/AUTH_{project_id}"
QUOTAS = ("x-account-meta-quota-bytes", "x-account-quota-bytes", "x-account-quota-count")
"""Swift's account_quotas: the legacy metadata form and the newer bytes and count."""


def _headers(account: rm.Account, request: web.Request) -> dict[str, str]:
    headers = usage_headers(
        "Account", account.object_count, account.bytes_used, account.created_at or now(request)
    )
    headers["X-Account-Container-Count"] = str(account.container_count)
    headers.update(policies(request).account_headers(account.usage))
    headers.update({header_case(k): v for k, v in account.metadata.items()})
    return headers


@routes.head(ACCOUNT)
@routes.head(ACCOUNT + "/")
async def head_account(request: web.Request) -> web.Response:
    project_id = require_owner(request)
    account = await rm.account(db(request), project_id)
    return web.Response(status=204, headers=_headers(account, request))


@routes.get(ACCOUNT, allow_head=False)
@routes.get(ACCOUNT + "/", allow_head=False)
async def list_containers(request: web.Request) -> web.Response:
    project_id = require_owner(request)
    query = listing_query(request)
    account = await rm.account(db(request), project_id)

    async def fetch(page: rm.Page, limit: int) -> list[rm.CountedContainer]:
        return await rm.containers_page(db(request), project_id, page, limit)

    entries = await collect(fetch, query)
    return render(
        entries,
        query,
        root="account",
        name=f"AUTH_{project_id}",
        headers=_headers(account, request),
    )


@routes.put(ACCOUNT)
@routes.put(ACCOUNT + "/")
@routes.delete(ACCOUNT)
@routes.delete(ACCOUNT + "/")
async def bulk_operation(request: web.Request) -> web.StreamResponse:
    """PUT `?extract-archive` (extract.py) and DELETE `?bulk-delete` (bulk.py); else 405,
    as Swift without account management: the identity service makes and removes
    accounts."""
    if request.method == "PUT" and "extract-archive" in request.query:
        return await extract.extract(request, "")
    if request.method == "DELETE" and "bulk-delete" in request.query:
        return await bulk.bulk_delete(request)
    raise error_for_status(405, "The method is not allowed for this account.")


@routes.post(ACCOUNT)
@routes.post(ACCOUNT + "/")
async def update_account(request: web.Request) -> web.Response:
    """Metadata; only a ResellerAdmin may set or remove the account quotas (403)."""
    if "bulk-delete" in request.query:
        return await bulk.bulk_delete(request)
    project_id = require_owner(request)
    change = metadata_change(request.headers, "account", QUOTAS[1:])
    for quota in QUOTAS:
        if quota not in change.set and quota not in change.removed:
            continue
        if not acl.is_reseller(auth(request)):
            raise denied(request)
        if quota in change.set and not change.set[quota].isdigit():
            raise BadRequest(f"Invalid quota: {header_case(quota)} must be an integer.")
    account = await rm.account(db(request), project_id)
    check_limits(change.applied_to(account.metadata), "account")
    if change.set or change.removed:
        event = AccountMetadataUpdated(
            project_id=project_id, set=change.set, removed=change.removed
        )
        await record(request, account_stream(project_id), [event])
    return web.Response(status=204)
