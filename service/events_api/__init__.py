"""Kumo's events API (`/events/v1`): history, time travel and the live stream, read from
the event log under one authorisation rule (access.py)."""

from aiohttp import web

from service.events_api import resources, sse
from service.events_api.audit import routes as audit_routes
from service.events_api.usage import routes as usage_routes

ROUTES: list[web.AbstractRouteDef] = [*resources.routes, *sse.routes]
ROUTES += audit_routes
ROUTES += usage_routes
