"""A small Python client for Kumo's events API (`/events/v1`).

    from service.client import Credentials, EventsClient

    async with EventsClient(Credentials.from_cloud("kumo")) as kumo:
        for event in await kumo.history("server", server_id):
            print(event.position, event.type, event.actor.user_id)
        print(await kumo.at("server", server_id, "2026-01-31T12:00:00Z"))
        print(await kumo.usage(start="2026-01-01T00:00:00Z", end="2026-02-01T00:00:00Z"))
        async for record in kumo.audit(action="delete", outcome="success"):
            print(record["target"]["id"])
        async for event in kumo.stream(types=["ServerActive"], resource_type="server"):
            print(event.resource_id, "is up")  # resumes by itself after a disconnect

Credentials come from a clouds.yaml entry (`Credentials.from_cloud`), the `OS_*`
environment (`Credentials.from_env`), or are given: a password (Keystone v3, scoped to
a project) or a token. The events endpoint is found in the token's catalog (type
`event-stream`) unless `endpoint` is given.
"""

from service.client.credentials import Credentials
from service.client.events import ApiError, EventsClient, Page

__all__ = ["ApiError", "Credentials", "EventsClient", "Page"]
