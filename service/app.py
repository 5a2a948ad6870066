"""The Kumo web application: one root app, one sub-app per API at its DevStack prefix.

A service adds its routes where its sub-app is built below (e.g. `app.add_routes(
compute_routes)` in `compute_app`), before the sub-app is mounted: aiohttp freezes a
sub-app's router when it is added to the root.
"""

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager

from aiohttp import web

from events.clock import IdSource, RandomIds
from events.postgres import PostgresEventStore
from service import dashboard
from service.audit.middleware import audit_middleware
from service.compute.api import ROUTES as compute_routes
from service.compute.api.microversion import microversion_middleware
from service.compute.api.servers import RENDERED
from service.compute.hypervisor import Hypervisor, HypervisorUnavailable
from service.compute.libvirt import LibvirtDriver
from service.compute.server_view import RenderedCache
from service.compute.worker import COMPUTE_HOST, ComputeHost, compute_worker, libvirt_uri
from service.config import Settings
from service.events_api import ROUTES as events_routes
from service.http import versions
from service.http.access_log import access_log_middleware
from service.http.api import (
    API,
    COMPUTE,
    DASHBOARD,
    EVENTS,
    IDENTITY,
    IMAGE,
    NETWORK,
    OBJECT,
    S3,
    Api,
)
from service.http.authentication import authentication_middleware
from service.http.fault import error_middleware
from service.http.health import healthz
from service.http.keys import IDS, SETTINGS, STORE
from service.http.recording import OBSERVERS, Observer
from service.http.request_id import echo_request_id, request_id_middleware
from service.identity.api import ROUTES as identity_routes
from service.identity.runtime import IDENTITY_RUNTIME, Identity, identity_context
from service.image.api import ROUTES as image_routes
from service.image.importer import image_importer
from service.image.stores import IMAGE_STORES, image_stores_context
from service.image.stores import configured as configured_stores
from service.network.api import ROUTES as network_routes
from service.objects.api import ROUTES as object_routes
from service.objects.api.common import swift_headers
from service.objects.expiry import expiry_reaper
from service.objects.policy import STORAGE_POLICIES, storage_policies_context
from service.objects.policy import configured as configured_policies
from service.objects.s3.api import ROUTES as s3_routes
from service.objects.s3.api import s3_headers
from service.objects.s3.auth import s3_authentication
from service.storage.configured import OBJECTS, backend_for, objects_context

log = logging.getLogger("kumo.app")

RouteDefs = Iterable[web.AbstractRouteDef]


def api_app(api: Api) -> web.Application:
    """An empty sub-app for `api`; its faults are rendered in the API's style."""
    app = web.Application()
    app[API] = api
    return app


def identity_app() -> web.Application:
    app = api_app(IDENTITY)
    for path in ("", "/"):
        app.router.add_get(path, versions.identity_versions)
    for path in ("/v3", "/v3/"):
        app.router.add_get(path, versions.identity_version)
    app.add_routes(identity_routes)
    return app


def compute_app() -> web.Application:
    app = api_app(COMPUTE)
    app.middlewares.append(microversion_middleware)
    for path in ("", "/"):
        app.router.add_get(path, versions.compute_versions)
    for path in ("/v2.1", "/v2.1/"):
        app.router.add_get(path, versions.compute_version)
    for path in ("/v2", "/v2/"):
        app.router.add_get(path, versions.compute_v20_version)
    app.add_routes(compute_routes)
    app[RENDERED] = RenderedCache()
    return app


def image_app() -> web.Application:
    app = api_app(IMAGE)
    for path in ("", "/", "/versions"):
        app.router.add_get(path, versions.image_versions)
    app.add_routes(image_routes)
    return app


def object_app() -> web.Application:
    app = api_app(OBJECT)
    app.add_routes(object_routes)
    app.on_response_prepare.append(swift_headers)
    return app


def s3_app() -> web.Application:
    """The S3-compatible API over the object storage, signed with EC2 credentials."""
    app = api_app(S3)
    app.middlewares.append(s3_authentication)
    app.add_routes(s3_routes)
    app.on_response_prepare.append(s3_headers)
    return app


def network_app() -> web.Application:
    app = api_app(NETWORK)
    for path in ("", "/"):
        app.router.add_get(path, versions.network_versions)
    app.add_routes(network_routes)
    return app


def events_app() -> web.Application:
    app = api_app(EVENTS)
    for path in ("", "/"):
        app.router.add_get(path, versions.events_versions)
    for path in ("/v1", "/v1/"):
        app.router.add_get(path, versions.events_version)
    app.add_routes(events_routes)
    return app


def dashboard_app() -> web.Application:
    app = api_app(DASHBOARD)
    dashboard.install(app)
    return app


SUB_APPS = (
    identity_app,
    compute_app,
    image_app,
    object_app,
    s3_app,
    network_app,
    events_app,
    dashboard_app,
)


async def compute_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: this process's compute host, for as long as the app runs."""
    async with _attached(app, compute_worker(app[SETTINGS], app[STORE], app[IMAGE_STORES])):
        yield


async def console_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx of a process without the compute host (an HTTP worker): a connection of
    its own to this host's hypervisor, through which it reads guests' console logs. If
    the hypervisor cannot be reached, it serves without (console output is then 409)."""
    driver = LibvirtDriver(libvirt_uri(app[SETTINGS]))
    try:
        await driver.connect()
    except HypervisorUnavailable as error:
        log.warning("no console logs here: %s", error, extra={"uri": driver.uri})
        yield
        return
    async with _attached(app, driver):
        yield


@contextlib.asynccontextmanager
async def _attached(
    app: web.Application, opening: AbstractAsyncContextManager[Hypervisor]
) -> AsyncIterator[None]:
    """The app's COMPUTE_HOST.hypervisor is the one `opening` gives, while it is open."""
    async with opening as hypervisor:
        app[COMPUTE_HOST].hypervisor = hypervisor
        try:
            yield
        finally:
            app[COMPUTE_HOST].hypervisor = None


def create_app(
    settings: Settings,
    store: PostgresEventStore,
    *,
    ids: IdSource | None = None,
    extra_routes: Mapping[str, RouteDefs] | None = None,
    compute: bool = False,
    console: bool = False,
    reapers: bool = True,
) -> web.Application:
    """The root application serving every API, `/healthz`, and the shared middlewares.

    `ids` makes request ids (random by default); `extra_routes` maps an API name
    ("compute", ...) to routes added to its sub-app, for tests and experiments.
    `compute` runs this process's compute host while the app runs (see
    service/compute/worker.py); without it, `console` still reads guests' console logs on
    this host (an HTTP worker's, service/http_workers.py). `reapers` reaps expired objects
    and orphaned blobs, and carries out image imports, while the app runs (one process of
    a cloud does; HTTP workers do not). Raises ValueError for an API name that does not exist.
    """
    extra = dict(extra_routes or {})
    app = web.Application(
        # A body is stored as sent: Swift keeps an object's Content-Encoding as metadata
        # and never decodes the bytes (aiohttp would inflate a deflate or gzip body).
        handler_args={"auto_decompress": False},
        middlewares=[
            request_id_middleware,
            access_log_middleware,
            audit_middleware,
            error_middleware,
            authentication_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[STORE] = store
    app[IDENTITY_RUNTIME] = Identity(settings, store)
    observers: list[Observer] = [app[IDENTITY_RUNTIME].observe]
    app[OBSERVERS] = observers
    app.cleanup_ctx.append(identity_context)
    app[OBJECTS] = backend_for(settings)
    app.cleanup_ctx.append(objects_context)
    app[IMAGE_STORES] = configured_stores(settings, app[OBJECTS])
    app.cleanup_ctx.append(image_stores_context)
    app[STORAGE_POLICIES] = configured_policies(settings, app[OBJECTS])
    app.cleanup_ctx.append(storage_policies_context)
    if reapers:
        app.cleanup_ctx.append(expiry_reaper)
        app.cleanup_ctx.append(image_importer)
    app[COMPUTE_HOST] = ComputeHost()
    if compute:
        app.cleanup_ctx.append(compute_context)
    elif console:
        app.cleanup_ctx.append(console_context)
    app[IDS] = ids or RandomIds()
    app.on_response_prepare.append(echo_request_id)
    app.router.add_get("/healthz", healthz)
    for build in SUB_APPS:
        sub = build()
        api = sub[API]
        sub.add_routes(extra.pop(api.name, ()))
        app.add_subapp(api.prefix, sub)
    if extra:
        raise ValueError(f"no API named {', '.join(sorted(extra))}")
    return app
