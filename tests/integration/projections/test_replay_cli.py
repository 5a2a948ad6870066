"""`kumo replay --until ... --into ...`: every read model as it was, in a scratch schema that
plain SQL can query; refusals of unsafe names and of overwriting."""

import io
from typing import Any

import pytest

from events.postgres import PostgresEventStore
from tests.cli_runner import run_cli_async
from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import Api

settings = identity.settings
admin = identity.admin
client = identity.client
admin_token = identity.admin_token
as_admin = identity.as_admin


@pytest.fixture(autouse=True)
def kumo_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    """The `kumo` command talks to this test's database (and its logging is restored)."""
    monkeypatch.setenv("KUMO_DATABASE_URL", database_url)


async def a_project_renamed(as_admin: Api, store: PostgresEventStore) -> tuple[str, int, Any]:
    """A project created, then changed: its id, and the position and time in between."""
    status, body = await as_admin.call(
        "POST", "projects", {"project": {"name": "forensic", "description": "before"}}
    )
    assert status == 201, body
    project_id = body["project"]["id"]
    position = await store.head_position()
    at = await store.pool.fetchval("SELECT recorded_at FROM events WHERE position = $1", position)
    status, body = await as_admin.call(
        "PATCH", f"projects/{project_id}", {"project": {"description": "after"}}
    )
    assert status == 200, body
    return project_id, position, at


async def count_until(store: PostgresEventStore, position: int) -> int:
    count: int = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE position <= $1", position
    )
    return count


async def description(store: PostgresEventStore, schema: str, project_id: str) -> str:
    text: str = await store.pool.fetchval(
        f"SELECT description FROM {schema}.rm_projects WHERE id = $1", project_id
    )
    return text


async def test_replay_until_a_position_shows_the_state_before_a_later_change(
    as_admin: Api, store: PostgresEventStore
) -> None:
    project_id, position, _ = await a_project_renamed(as_admin, store)

    code, output = await run_cli_async("replay", "--until", str(position), "--into", "back_then")
    assert code == 0, output
    assert await description(store, "back_then", project_id) == "before"
    assert await description(store, "public", project_id) == "after"
    lines = output.splitlines()
    events = await count_until(store, position)
    assert (
        lines[0] == f"Replayed {events} event(s), up to position {position}, into schema back_then:"
    )
    projects = await store.pool.fetchval("SELECT count(*) FROM back_then.rm_projects")
    assert f"  back_then.rm_projects: {projects} row(s)" in lines
    assert "  back_then.rm_servers: 0 row(s)" in lines and "  back_then.rm_streams" in output
    assert lines[-1] == "Query it with plain SQL; remove it with DROP SCHEMA back_then CASCADE."


async def test_replay_until_a_time_and_replacing_an_earlier_replay(
    as_admin: Api, store: PostgresEventStore
) -> None:
    project_id, position, at = await a_project_renamed(as_admin, store)
    head = await store.head_position()
    assert (await run_cli_async("replay", "--until", str(head), "--into", "back_then"))[0] == 0
    assert await description(store, "back_then", project_id) == "after"

    code, output = await run_cli_async("replay", "--until", at.isoformat(), "--into", "back_then")
    assert (code, output) == (
        1, "kumo: schema back_then already exists; choose another name (or pass --replace)\n"
    )  # fmt: skip
    assert await description(store, "back_then", project_id) == "after"

    code, output = await run_cli_async(
        "replay", "--until", at.isoformat(), "--into", "back_then", "--replace"
    )
    assert code == 0, output
    events = await count_until(store, position)
    assert output.startswith(f"Replayed {events} event(s), up to position {position},")
    assert await description(store, "back_then", project_id) == "before"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--until", "5", "--into", "public"), "kumo: --into: 'public' is a schema Kumo or"),
        (("--until", "5", "--into", "x;drop"), "kumo: --into: 'x;drop' is not a plain"),
        (("--until", "5", "--into", "then"), "kumo: --into: 'then' is an SQL key word"),
        (
            ("--until", "yesterday", "--into", "back_then"),
            "kumo: --until 'yesterday' is neither",
        ),
        (
            ("--until", "2026-01-31T12:00:00", "--into", "back_then"),
            "kumo: --until '2026-01-31T12",
        ),
    ],
)
async def test_replay_refuses_unsafe_names_and_unclear_moments(
    store: PostgresEventStore, argv: tuple[str, ...], message: str
) -> None:
    code, output = await run_cli_async("replay", *argv)
    assert code == 1 and output.startswith(message), output
    assert (
        await store.pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = 'back_then'")
        == 0
    )


async def test_replay_refuses_to_replace_a_schema_it_did_not_make(
    store: PostgresEventStore,
) -> None:
    await store.pool.execute("CREATE SCHEMA keep; CREATE TABLE keep.notes (n int)")
    code, output = await run_cli_async("replay", "--until", "1", "--into", "keep", "--replace")
    assert (code, output) == (
        1, "kumo: schema keep exists and is not a Kumo replay; it is not replaced\n"
    )  # fmt: skip
    assert await store.pool.fetchval("SELECT count(*) FROM keep.notes") == 0
