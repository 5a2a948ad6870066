"""A project-local Postgres cluster, for `kumo up` and the tests when no URL is given.

initdb into a data folder, start on its own port on loopback (and a Unix socket in the
folder, which its URL names) with a generated password, stop with the service. As root,
the server runs as the `postgres` system user, since Postgres refuses to run as root.
"""

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import msgspec

_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/bin")
_MAX_SOCKET_PATH = 108
"""Bytes in a Unix socket's path, its final NUL included (Linux's sun_path)."""


class EmbeddedPostgresError(Exception):
    """The embedded cluster could not be set up or started; the message says what to do."""


class ClusterInfo(msgspec.Struct, frozen=True):
    """What is saved beside the cluster so a second run reuses it."""

    port: int
    user: str
    password: str


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl, newest major version first."""
    candidates: list[Path] = []
    for pattern in _SEARCH:
        root = Path("/")
        candidates += sorted(root.glob(pattern.lstrip("/")), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found: "
        "install them with `apt-get install postgresql`, or set KUMO_DATABASE_URL"
    )


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A TCP port on loopback that nothing uses right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedPostgres:
    """One cluster under `root` (data in root/data, settings in root/cluster.json)."""

    def __init__(self, root: Path, port: int, *, durable: bool = True) -> None:
        self.bin = find_bin_dir()
        self._owner = "postgres" if os.geteuid() == 0 else None
        self.root = self._reachable(root.resolve())
        self.port = port
        self.durable = durable
        self.data = self.root / "data"
        self.info_file = self.root / "cluster.json"
        self.log_file = self.root / "postgres.log"

    def _reachable(self, root: Path) -> Path:
        """`root`, or a folder under /var/lib/kumo when the server's user cannot reach it."""
        if self._owner is None:
            return root
        parent = root.parent
        parent.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(self._as_owner(["test", "-x", str(parent)]), capture_output=True)
        if probe.returncode == 0:
            return root
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
        return Path("/var/lib/kumo/clusters") / f"{root.name}-{digest}"

    def url(self, database: str = "kumo") -> str:
        """The URL of `database`, through the cluster's Unix socket: a round trip there
        costs the client and the server less CPU than over TCP on loopback (about 12 µs
        together). 127.0.0.1 when the socket's path is too long for a Unix socket."""
        info = self._info()
        credentials = f"{info.user}:{info.password}"
        if len(str(self.root / f".s.PGSQL.{info.port}")) < _MAX_SOCKET_PATH:
            folder = quote(str(self.root), safe="/")
            return f"postgresql://{credentials}@/{database}?host={folder}&port={info.port}"
        return f"postgresql://{credentials}@127.0.0.1:{info.port}/{database}"

    def start(self, database: str = "kumo") -> str:
        """Create the cluster if needed, start it if stopped; the URL of `database`."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        if not self.running():
            self._claim_port()
            self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                "-l", str(self.log_file), "-o", self._server_options(),
            )  # fmt: skip
        self._ensure_database(database)
        return self.url(database)

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected)."""
        if self.running():
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        status = subprocess.run(
            self._as_owner([str(self.bin / "pg_ctl"), "status", "-D", str(self.data)]),
            capture_output=True,
        )
        return status.returncode == 0

    def _claim_port(self) -> None:
        """Move the stopped cluster to a free port if another program took its own."""
        info = self._info()
        if port_is_free(info.port):
            return
        moved = msgspec.structs.replace(info, port=free_port())
        self.info_file.write_bytes(msgspec.json.encode(moved))

    def _info(self) -> ClusterInfo:
        return msgspec.json.decode(self.info_file.read_bytes(), type=ClusterInfo)

    def _server_options(self) -> str:
        options = [
            f"-p {self._info().port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
            # A single node that nothing replicates from: a table emptied or created in a
            # transaction (a read model's rebuild, an index built on it) is then synced to
            # disk at commit instead of also being written to the WAL (README: the
            # embedded database).
            "-c wal_level=minimal",
            "-c max_wal_senders=0",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(options)

    def _initdb(self) -> None:
        info = ClusterInfo(port=self.port, user="kumo", password=secrets.token_urlsafe(24))
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(mode=0o700)
        password_file = self.root / "initdb-password"
        password_file.write_text(info.password)
        try:
            if self._owner is not None:
                account = pwd.getpwnam(self._owner)
                for path in (self.root, self.data, password_file):
                    os.chown(path, account.pw_uid, account.pw_gid)
                os.chmod(password_file, 0o600)
            self._run(
                "initdb", "-D", str(self.data), "-U", info.user, "--auth=scram-sha-256",
                f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)
        self.info_file.write_bytes(msgspec.json.encode(info))
        os.chmod(self.info_file, 0o600)

    def _ensure_database(self, database: str) -> None:
        info = self._info()
        env = {**os.environ, "PGPASSWORD": info.password}
        exists = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(info.port), "-U", info.user,
             "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            subprocess.run(
                [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(info.port),
                 "-U", info.user, database],
                env=env, check=True,
            )  # fmt: skip

    def _as_owner(self, argv: list[str]) -> list[str]:
        if self._owner is None:
            return argv
        return ["runuser", "-u", self._owner, "--", *argv]

    def _run(self, tool: str, *args: str) -> None:
        argv = self._as_owner([str(self.bin / tool), *args])
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{tool} failed after {time.monotonic() - started:.1f}s: "
                f"{(result.stderr or result.stdout).strip()} (log: {self.log_file})"
            )
