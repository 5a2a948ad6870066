"""The `kumo` command line: bring the cloud up, migrate, rebuild read models, tail the log."""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime

import aiohttp
import msgspec
import uvloop

from events.chain import ChainReport, verify_chain
from events.postgres import PostgresEventStore, close_pool, create_pool
from projections.runner import SchemaExists, rebuild, replay_into, scratch_name
from projections.verify import ModelNotSettled, Verification, verify_models
from service.client import ApiError, Credentials, EventsClient
from service.client.credentials import ConfigError as ClientConfigError
from service.compute.flavor_bootstrap import ensure_default_flavors
from service.config import ConfigError, Settings, load_settings
from service.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError
from service.errors import BadRequest
from service.events_api.envelope import EventDoc
from service.events_api.moment import parse_moment
from service.identity.bootstrap import bootstrap
from service.identity.clouds_yaml import write_cloud_entry
from service.identity.fernet_keys import KeyRepository
from service.identity.limits import register_defaults
from service.image import quota as image_quota
from service.image.metadefs.seed import ensure_resource_types
from service.logs import configure_logging
from service.migrator import MigrationError, migrate
from service.read_models import catalog, kumo_store


def say(message: str) -> None:
    """A plain line for the person at the terminal (logs go to stderr as JSON)."""
    print(message, flush=True)


@contextlib.contextmanager
def database(settings: Settings, *, keep_running: bool = False) -> Iterator[str]:
    """The database URL: the configured one, or the embedded cluster's (started if needed,
    stopped afterwards unless it was already running or `keep_running`)."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = EmbeddedPostgres(settings.data_dir / "postgres", settings.postgres_port)
    was_running = cluster.running()
    if not was_running:
        say(f"Starting the embedded PostgreSQL in {cluster.root} (port {settings.postgres_port})")
    url = cluster.start("kumo")
    try:
        yield url
    finally:
        if not was_running and not keep_running:
            cluster.stop()


async def _migrate(url: str) -> None:
    applied = await migrate(url)
    say(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied else
        "The database schema is up to date.")  # fmt: skip


async def _bootstrap(settings: Settings, url: str) -> None:
    """Create the initial identity if missing, and the `kumo` entry of clouds.yaml."""
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        store = kumo_store(pool)
        done = await bootstrap(store, settings)
        await ensure_default_flavors(store)
        await ensure_resource_types(store)
        await register_defaults(store, image_quota.SERVICE_TYPE, image_quota.DEFAULTS)
    finally:
        await close_pool(pool)
    where = write_cloud_entry(settings, done.admin_password)
    if done.password_generated:
        say(f"Created the admin user; its password is {done.admin_password}")
        saved = settings.data_dir / "admin-password"
        say(f"  (saved in {saved}; set KUMO_ADMIN_PASSWORD to choose another)")
    say(f"The cloud `kumo` is in {where}: try `openstack --os-cloud kumo token issue`")


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    from service.server import serve

    with database(settings) as url:
        asyncio.run(_migrate(url))
        asyncio.run(_bootstrap(settings, url))
        base = settings.base_url
        say(f"Kumo is up at {base}")
        for service, path in (
            ("identity", "/identity/v3"), ("compute", "/compute/v2.1"), ("image", "/image/v2"),
            ("object-store", "/object/v1"), ("s3", "/s3"), ("events", "/events/v1"),
            ("dashboard", "/dashboard"),
        ):  # fmt: skip
            say(f"  {service:<13} {base}{path}")
        say("Press Ctrl-C to stop.")
        uvloop.run(serve(settings, url))
        say("Kumo stopped.")


def cmd_http_worker(settings: Settings, args: argparse.Namespace) -> None:
    """`kumo http-worker`: serve the APIs beside `kumo up`, which starts it (KUMO_WORKERS)."""
    from service.http_workers import tell_primary_ready
    from service.server import HTTP_WORKER_APP, serve

    if not settings.database_url:
        raise ConfigError("kumo http-worker needs KUMO_DATABASE_URL (kumo up sets it)")
    worker = serve(
        settings,
        settings.database_url,
        on_ready=tell_primary_ready,
        app_factory=HTTP_WORKER_APP,
        primary=False,
    )
    uvloop.run(worker)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    """`kumo worker`: only a compute host, on the configured database (registered on start)."""
    import service.compute.api  # noqa: F401 - first, as the app imports it (import cycle)
    from service.compute.worker import run_worker

    overrides = {"host_name": args.host, "libvirt_uri": args.libvirt_uri}
    if args.zone is not None:
        overrides["availability_zone"] = args.zone
    settings = msgspec.structs.replace(settings, **overrides)

    async def run(url: str) -> None:
        pool = await create_pool(url)
        try:
            await run_worker(
                settings,
                kumo_store(pool),
                url,
                on_ready=lambda name: say(f"Compute host {name} is up on {args.libvirt_uri}"),
            )
        finally:
            await close_pool(pool)

    with database(settings) as url:
        uvloop.run(run(url))
        say("Compute host stopped.")


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as url:
        asyncio.run(_migrate(url))


def cmd_bootstrap(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as url:
        asyncio.run(_migrate(url))
        asyncio.run(_bootstrap(settings, url))


def cmd_rotate_keys(settings: Settings, args: argparse.Namespace) -> None:
    repository = KeyRepository(settings.data_dir / "fernet-keys")
    repository.ensure()
    primary = repository.rotate()
    say(f"Rotated the token keys in {repository.path}: key {primary} is now primary.")


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> None:
    models = catalog()
    names = sorted(models) if args.all else [args.name]
    unknown = [n for n in names if n not in models]
    if unknown or not names:
        raise SystemExit(
            f"kumo: no read model named {unknown[0] if unknown else '(none given)'}; "
            f"known: {', '.join(sorted(models))} (or --all)"
        )

    with database(settings) as url:
        # Models have tables of their own, so they rebuild side by side: one process per
        # core (forked: the imports are shared), as decoding and folding events is
        # CPU-bound Python, each with its share of the models on connections of their
        # own, so that the database's work overlaps the decoding.
        shares = [names[i :: os.cpu_count() or 1] for i in range(os.cpu_count() or 1)]
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=len(shares), mp_context=fork) as workers:
            for done in as_completed([workers.submit(_rebuild, url, s) for s in shares if s]):
                for line in done.result():
                    say(line)


def _rebuild(url: str, names: list[str]) -> list[str]:
    """Rebuild read models side by side, a connection each; the lines that report them."""

    async def one(store: PostgresEventStore, name: str) -> str:
        model, began = catalog()[name], time.perf_counter()
        applied = await rebuild(store, model.projection, inline=model.inline)
        tables = ", ".join(model.projection.tables)
        seconds = time.perf_counter() - began
        return f"Rebuilt {name}: {applied} event(s) replayed into {tables} in {seconds:.1f}s"

    async def run() -> list[str]:
        pool = await create_pool(url, min_size=1, max_size=len(names))
        try:
            return await asyncio.gather(*(one(PostgresEventStore(pool), n) for n in names))
        finally:
            await close_pool(pool)

    return asyncio.run(run())


def cmd_verify(settings: Settings, args: argparse.Namespace) -> None:
    """`kumo verify`: read models against the log; `--chain`: the log's hash chain."""

    async def run(url: str) -> bool:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            if args.chain:
                async with pool.acquire() as conn:
                    return report_chain(await verify_chain(conn, progress=chain_progress))
            return report_models(await verify_models(pool, list(catalog().values())))
        except ModelNotSettled as error:
            raise SystemExit(f"kumo: {error}") from None
        finally:
            await close_pool(pool)

    with database(settings) as url:
        intact = asyncio.run(run(url))
    if not intact:
        raise SystemExit(1)


def chain_progress(done: int, total: int) -> None:
    say(f"  checked {done:,} of {total:,} events")


def report_chain(report: ChainReport) -> bool:
    """Print what a chain check found; whether the chain is intact."""
    if report.intact:
        say(f"{report.events} events, chain intact ({report.streams} streams)")
        return True
    first, *others = report.first_breaks
    say(f"The hash chain is broken. First event that does not match: {first.describe()}")
    say(f"{report.broken} of {report.events} events do not match.")
    for later in others:
        say(f"  also: {later.describe()}")
    return False


def report_models(verification: Verification) -> bool:
    """Print each table whose rows are not as the log makes them; whether all match."""
    for table in verification.tables:
        if table.differing:
            say(
                f"{table.table} ({table.model}): {table.differing} row(s) do not match the log"
                f" ({table.live_rows} live rows, {table.rebuilt_rows} from the log)"
            )
            for difference in table.differences:
                say(f"  {difference.describe()}")
            if table.differing > len(table.differences):
                say(f"  ... and {table.differing - len(table.differences)} more")
    if verification.clean:
        say(f"all {verification.models} read models match the log")
        return True
    wrong = [t for t in verification.tables if t.differing]
    say(f"{sum(t.differing for t in wrong)} row(s) in {len(wrong)} table(s) do not match the log")
    return False


def cmd_replay(settings: Settings, args: argparse.Namespace) -> None:
    """`kumo replay`: every read model as of a past moment, in a scratch schema."""
    try:
        moment = parse_moment(args.until)
        schema = scratch_name(args.into)
    except BadRequest:
        raise SystemExit(
            f"kumo: --until {args.until!r} is neither a log position nor an RFC 3339 time"
            " with an offset (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    except ValueError as error:
        raise SystemExit(f"kumo: --into: {error}") from None

    async def run(url: str) -> None:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            store = PostgresEventStore(pool)
            until = moment.position
            if until is None:
                assert moment.time is not None
                until = await store.position_at(moment.time)
            projections = [m.projection for m in catalog().values()]
            done = await replay_into(store, projections, schema, until, replace=args.replace)
        except SchemaExists as error:
            hint = "" if args.replace else " (or pass --replace)"
            raise SystemExit(f"kumo: {error}{hint}") from None
        except ValueError as error:
            raise SystemExit(f"kumo: --into: {error}") from None
        finally:
            await close_pool(pool)
        say(f"Replayed {done.events} event(s), up to position {until}, into schema {schema}:")
        for table, rows in done.rows.items():
            say(f"  {schema}.{table}: {rows} row(s)")
        say(f"Query it with plain SQL; remove it with DROP SCHEMA {schema} CASCADE.")

    with database(settings) as url:
        asyncio.run(run(url))


def describe(event: EventDoc) -> str:
    """One human-readable line for an event."""
    who = event.actor.user_id or "-"
    if event.actor.project_id:
        who += f"@{event.actor.project_id}"
    data = msgspec.json.encode(event.data).decode()
    request = event.request_id or "-"
    return (
        f"#{event.position:<8} {datetime.fromisoformat(event.time):%Y-%m-%d %H:%M:%S} "
        f"{event.resource_type}-{event.resource_id}@{event.version} {event.type} by {who}"
        f" ({request}) {data}"
    )


def cmd_tail(settings: Settings, args: argparse.Namespace) -> None:
    """`kumo events tail`: through the events API of the running cloud, as the `kumo`
    cloud of clouds.yaml (or the OS_* environment) sees it."""

    async def run() -> None:
        types, categories = args.type or None, args.category or None
        async with EventsClient(Credentials.find()) as kumo:
            last = args.last if args.after is None else None
            page = await kumo.events(
                after=args.after, last=last, types=types, resource_type=categories, limit=args.last
            )
            for event in page.events:
                say(describe(event))
            if not args.follow:
                return
            after = page.events[-1].position if page.events else page.head
            async for event in kumo.stream(types=types, after=after, resource_type=categories):
                say(describe(event))

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except (ClientConfigError, ApiError, PermissionError, aiohttp.ClientError) as error:
        print(f"kumo: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kumo", description="Kumo, an OpenStack-compatible cloud.")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="migrate and serve the cloud in the foreground").set_defaults(
        run=cmd_up
    )
    commands.add_parser(
        "http-worker", help="serve the APIs beside `kumo up` (it starts KUMO_WORKERS - 1 of them)"
    ).set_defaults(run=cmd_http_worker)
    worker = commands.add_parser("worker", help="run only a compute host, registered on start")
    worker.add_argument("--host", required=True, help="the compute host's name")
    worker.add_argument("--libvirt-uri", required=True, help="its hypervisor, e.g. qemu:///system")
    worker.add_argument("--zone", help="its availability zone (default: KUMO_AVAILABILITY_ZONE)")
    worker.set_defaults(run=cmd_worker)
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(
        run=cmd_migrate
    )
    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="action", required=True
    )
    rebuild_cmd = projections.add_parser("rebuild", help="empty a read model and replay the log")
    rebuild_cmd.add_argument("name", nargs="?", help="the read model (see --all)")
    rebuild_cmd.add_argument("--all", action="store_true", help="rebuild every read model")
    rebuild_cmd.set_defaults(run=cmd_rebuild)
    verify = commands.add_parser(
        "verify", help="check every read model against the log (exit 1 on any difference)"
    )
    verify.add_argument("--chain", action="store_true", help="check the log's hash chain instead")
    verify.set_defaults(run=cmd_verify)
    replay = commands.add_parser(
        "replay", help="every read model as it was at a past moment, in a scratch schema"
    )
    replay.add_argument(
        "--until", required=True, help="a log position, or an RFC 3339 time with an offset"
    )
    replay.add_argument("--into", required=True, help="the schema to create (not public)")
    replay.add_argument(
        "--replace", action="store_true", help="replace that schema if an earlier replay made it"
    )
    replay.set_defaults(run=cmd_replay)
    admin = commands.add_parser("admin", help="administration").add_subparsers(
        dest="action", required=True
    )
    admin.add_parser(
        "bootstrap", help="create the default domain, roles, admin and catalog if missing"
    ).set_defaults(run=cmd_bootstrap)
    keys = commands.add_parser("keys", help="token encryption keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser("rotate", help="promote the staged key, add a new one").set_defaults(
        run=cmd_rotate_keys
    )
    events = commands.add_parser("events", help="the event log").add_subparsers(
        dest="action", required=True
    )
    tail = events.add_parser("tail", help="print the latest events, and follow new ones")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    tail.add_argument("-n", "--last", type=int, default=20, help="how many past events (20)")
    tail.add_argument("--after", type=int, help="start after this position instead")
    tail.add_argument("--type", action="append", help="only this event type (repeatable)")
    tail.add_argument("--category", action="append", help="only this stream category")
    tail.set_defaults(run=cmd_tail)
    return top


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        args.run(settings, args)
    except (ConfigError, EmbeddedPostgresError, MigrationError) as error:
        print(f"kumo: {error}", file=sys.stderr)
        raise SystemExit(1) from None
