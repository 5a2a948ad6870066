"""EventsClient: history, time travel, usage, the audit log and the live stream of
Kumo's events API, over one aiohttp session and one token (renewed when it expires)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import msgspec
from yarl import URL

from service.client.credentials import Credentials, Session, authenticate
from service.client.sse import messages
from service.events_api.envelope import EventDoc, rfc3339

log = logging.getLogger("kumo.client")
Json = dict[str, Any]


class ApiError(Exception):
    """The events API answered with an error (its OpenStack fault body's message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Page(msgspec.Struct, frozen=True):
    """Events of the log (oldest first) and the head position they were read up to."""

    events: list[EventDoc]
    head: int


class FellBehind(msgspec.Struct, frozen=True):
    """The stream's final message to a subscriber that read too slowly."""

    message: str
    last_id: int


def _query(**params: object) -> dict[str, str]:
    """Query parameters without the unset ones; lists joined by commas, datetimes in
    RFC 3339."""
    query = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = ",".join(value)
        query[name] = rfc3339(value) if isinstance(value, datetime) else str(value)
    return query


def _filters(
    types: Sequence[str] | None,
    resource_type: str | Sequence[str] | None,
    project_id: str | None,
) -> dict[str, str]:
    """The stream's and the pages' filters as query parameters."""
    return _query(types=types, resource_type=resource_type, project_id=project_id)


class EventsClient:
    """The events API as one caller. Use it as an async context manager (or call
    `close`). Methods raise ApiError for an error answer, PermissionError when the
    credentials are refused."""

    def __init__(self, credentials: Credentials, *, retry_delay: float = 1.0) -> None:
        self.credentials = credentials
        self.retry_delay = retry_delay
        self._http = aiohttp.ClientSession()
        self._session: Session | None = None

    async def __aenter__(self) -> "EventsClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.close()

    async def _auth(self, renew: bool = False) -> Session:
        if self._session is None or renew:
            self._session = await authenticate(self._http, self.credentials)
        return self._session

    async def _open(
        self, path: str, query: dict[str, str], **headers: str
    ) -> aiohttp.ClientResponse:
        """A GET of `path` under the endpoint, authenticated again once on a 401."""
        for renew in (False, True):
            session = await self._auth(renew)
            response = await self._http.get(
                f"{session.endpoint}/{path}",
                params=query,
                headers={"X-Auth-Token": session.token, **headers},
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            )
            if response.status != 401 or renew or self.credentials.password is None:
                break
            response.release()
        if response.status >= 400:
            text = await response.text()
            response.release()
            try:
                fault = msgspec.json.decode(text)["error"]["message"]
            except (msgspec.DecodeError, KeyError, TypeError):
                fault = text
            raise ApiError(response.status, fault)
        return response

    async def _get(self, path: str, query: dict[str, str]) -> Any:
        response = await self._open(path, query)
        async with response:
            return msgspec.json.decode(await response.read())

    async def history(self, resource_type: str, resource_id: str) -> list[EventDoc]:
        """Every event of one resource, oldest first (ApiError 404 if unknown to you)."""
        body = await self._get(f"resources/{resource_type}/{resource_id}/history", {})
        return msgspec.convert(body["events"], list[EventDoc])

    async def at(
        self, resource_type: str, resource_id: str, when: int | str | datetime | None = None
    ) -> Json:
        """The resource as its own API showed it at `when` (a log position, an RFC 3339
        time or an aware datetime; None: now). ApiError 404 if it did not exist then."""
        path = f"resources/{resource_type}/{resource_id}"
        body: Json = await self._get(path, _query(at=when))
        return body

    async def usage(
        self,
        project: str | None = None,
        start: str | datetime | None = None,
        end: str | datetime | None = None,
    ) -> Json:
        """The project's usage (default: the token's) from `start` to `end` (see
        service/events_api/usage.py for what counts)."""
        body = await self._get("usage", _query(project=project, **{"from": start, "to": end}))
        usage: Json = body["usage"]
        return usage

    async def audit(
        self, limit: int | None = None, **filters: str | int | datetime
    ) -> AsyncIterator[Json]:
        """Every audit record matching `filters` (since, until, initiator_user_id,
        initiator_project_id, target_type, target_id, action, outcome, request_id,
        sort_dir), page by page of `limit`."""
        query = _query(limit=limit, **filters)
        while True:
            response = await self._open("audit", query)
            async with response:
                body = msgspec.json.decode(await response.read())
            for record in body["records"]:
                yield record
            following = body.get("links", {}).get("next")
            if not following or not body["records"]:
                return
            query = dict(URL(following).query)

    async def events(
        self,
        *,
        after: int | None = None,
        last: int | None = None,
        types: Sequence[str] | None = None,
        resource_type: str | Sequence[str] | None = None,
        project_id: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """A page of the events you may see now: after a position, or among the `last`
        positions of the log, filtered as `stream` is."""
        query = _query(after=after, last=last, limit=limit)
        body = await self._get("events", query | _filters(types, resource_type, project_id))
        return msgspec.convert(body, Page)

    async def stream(
        self,
        *,
        types: Sequence[str] | None = None,
        after: int | None = None,
        resource_type: str | Sequence[str] | None = None,
        project_id: str | None = None,
    ) -> AsyncIterator[EventDoc]:
        """The events you may see, live, after `after` (None: from now on), forever.

        When the connection drops, or the server drops a subscriber that fell behind,
        it reconnects with `Last-Event-ID` set to the last event received, so no event
        is missed or repeated; it waits `retry_delay` seconds between attempts while the
        server cannot be reached. Raises ApiError for an error answer to a connection."""
        query = _filters(types, resource_type, project_id)
        # "From now on" is from the head as it is now, so that a reconnection before
        # the first event misses nothing either.
        last = after if after is not None else (await self.events(last=0)).head
        while True:
            headers = {"Last-Event-ID": str(last)}
            try:
                response = await self._open("stream", query, **headers)
            except aiohttp.ClientConnectionError as error:
                log.warning("events stream unreachable, retrying", extra={"error": str(error)})
                await asyncio.sleep(self.retry_delay)
                continue
            try:
                async with response:
                    async for message in messages(response):
                        if message.event == "error":
                            last = msgspec.json.decode(message.data, type=FellBehind).last_id
                            break
                        event = msgspec.json.decode(message.data, type=EventDoc)
                        last = event.position
                        yield event
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
                log.warning("events stream cut, resuming", extra={"error": str(error)})
