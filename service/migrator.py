"""Numbered plain-SQL migrations from migrations/, applied in order, each once.

Every file runs in its own transaction and is recorded (with a checksum) in
`schema_migrations`. A session advisory lock makes two processes migrating at
once take turns; a file edited after it was applied is refused, since forward-
only migrations are never changed once they land.
"""

import hashlib
import logging
import re
from pathlib import Path

import asyncpg
import msgspec

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK = (4804, 0)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
log = logging.getLogger("kumo.migrate")


class MigrationError(Exception):
    """The migrations folder or the database's record of it is inconsistent."""


class Migration(msgspec.Struct, frozen=True):
    """One numbered SQL file."""

    number: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in order; raises MigrationError on a bad name or a duplicate."""
    migrations: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_case.sql")
        number = int(match.group(1))
        if number in migrations:
            raise MigrationError(f"{path.name}: number {number} is used twice")
        migrations[number] = Migration(number, path.name, path.read_text())
    return [migrations[n] for n in sorted(migrations)]


async def migrate(dsn: str, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; the names of those applied now (none when up to date)."""
    migrations = load_migrations(folder)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1, $2)", *_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {
            row["number"]: row
            for row in await conn.fetch("SELECT number, name, checksum FROM schema_migrations")
        }
        done: list[str] = []
        for migration in migrations:
            record = applied.get(migration.number)
            if record is not None:
                if record["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name, checksum) VALUES ($1, $2, $3)",
                    migration.number,
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra={"migration": migration.name})
            done.append(migration.name)
        return done
    finally:
        await conn.close()
