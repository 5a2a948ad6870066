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
