"""Kumo's events API (`/events/v1`): history, time travel, the live stream, pages of the
log, the audit log and usage, read from the event log under one authorisation rule
(access.py)."""

from aiohttp import web

from service.events_api import log, resources, sse
from service.events_api.audit import routes as audit_routes
from service.events_api.usage import routes as usage_routes

ROUTES: list[web.AbstractRouteDef] = [*resources.routes, *sse.routes, *log.routes]
ROUTES += audit_routes
ROUTES += usage_routes
