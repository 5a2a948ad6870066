"""Typed keys for what the root application and each request carry."""

from aiohttp import web

from events.clock import IdSource
from events.postgres import PostgresEventStore
from service.config import Settings

SETTINGS = web.AppKey("settings", Settings)
"""The settings Kumo runs with; read it as `request.config_dict[SETTINGS]`."""

STORE = web.AppKey("store", PostgresEventStore)
"""The event store; read it as `request.config_dict[STORE]`."""

IDS = web.AppKey("ids", IdSource)
"""Where request ids come from."""

REQUEST_ID = web.RequestKey("request_id", str)
"""The request's `req-<uuid>` id, set by the request-id middleware."""

AUDIT_ACTION = web.RequestKey("audit_action", str)
"""What a handler knows the call did more precisely than its method and route say, as a
qualifier of the CADF action (`update/os-stop` for a server's stop action); the audit
record carries it."""
