"""Settings from environment variables, over an optional TOML file, over defaults.

| variable | meaning | default |
|---|---|---|
| KUMO_CONFIG | path of a TOML file with the keys below in lower case | none |
| KUMO_DATABASE_URL | Postgres URL; unset means the embedded cluster | embedded |
| KUMO_LISTEN | host:port the API listens on | 127.0.0.1:8080 |
| KUMO_PUBLIC_URL | base URL put in the catalog and links | http://<listen> |
| KUMO_DATA_DIR | folder for the embedded cluster, keys and local objects | <project>/.kumo |
| KUMO_ADMIN_PASSWORD | the `admin` user's password | generated once, saved in the data folder |
| KUMO_LOG_LEVEL | DEBUG, INFO, WARNING or ERROR | INFO |
| KUMO_POSTGRES_PORT | port of the embedded cluster | 54328 |
| KUMO_REGION | the region every endpoint is in | RegionOne |
| KUMO_TOKEN_EXPIRATION | token lifetime in seconds | 3600 |
| KUMO_PASSWORD_HASH_ROUNDS | bcrypt cost of password hashes | 12 |
| KUMO_LOCKOUT_FAILURE_ATTEMPTS | failed logins in a row that lock a user | off |
| KUMO_LOCKOUT_DURATION | seconds a lockout lasts | 1800 |
| KUMO_UNIQUE_LAST_PASSWORD_COUNT | passwords a user may not reuse (0/1: off) | 1 |
| KUMO_MINIMUM_PASSWORD_AGE | days before a user may change a password again | 0 |
| KUMO_PASSWORD_EXPIRES_DAYS | days a password stays valid | never expires |
| KUMO_PASSWORD_REGEX / KUMO_PASSWORD_REGEX_DESCRIPTION | what a password must match | none |
| KUMO_OBJECT_BACKEND | `local` (files under the data folder) or `s3` | local |
| KUMO_S3_BUCKET, KUMO_S3_ENDPOINT_URL | the S3 bucket and endpoint, for `s3` | none |
| KUMO_S3_ACCESS_KEY_ID, KUMO_S3_SECRET_ACCESS_KEY | S3 credentials | boto's chain |
| KUMO_S3_REGION | the S3 region | us-east-1 |
| KUMO_IMAGE_STORES | more image stores (`id=local[:folder]`, `id=s3:bucket`; see below) | none |
| KUMO_IMAGE_DEFAULT_STORE | the store uploads and imports go to unless they name one | default |
| KUMO_OBJECT_POLICIES | more storage policies (`name=local[:folder]`, `name=s3:bucket`) | none |
| KUMO_OBJECT_DEFAULT_POLICY | the policy of containers made without X-Storage-Policy | Policy-0 |
| KUMO_IMAGE_IMPORT_PORTS | ports web-download imports may fetch from (empty: any) | 80,443 |
| KUMO_IMAGE_IMPORT_LOCAL_HOSTS | whether they may fetch from loopback/private addresses | false |
| KUMO_IMAGE_FORMAT_ENFORCEMENT | refuse images whose bytes are not their disk_format | false |
| KUMO_CROSS_DOMAIN_POLICY | what /object/crossdomain.xml allows | any domain |
| KUMO_LIBVIRT_URI | this host's hypervisor | qemu:///system with libvirtd, else test:///default |
| KUMO_HOST_NAME | this compute host's name | the machine's hostname |
| KUMO_TRUSTED_PROXIES | proxy addresses (comma-separated) whose X-Forwarded-For counts | none |
| KUMO_AVAILABILITY_ZONE | this compute host's availability zone | nova |
| KUMO_CPU_ALLOCATION_RATIO | this host's vCPU overcommit (Nova's initial ratio) | 16.0 |
| KUMO_RAM_ALLOCATION_RATIO | this host's RAM overcommit | 1.5 |
| KUMO_DISK_ALLOCATION_RATIO | this host's disk overcommit | 1.0 |
| KUMO_FORCE_CONFIG_DRIVE | config drives for all new servers (true), those asking (false) | below |

KUMO_FORCE_CONFIG_DRIVE unset gives a config drive to the servers that ask for one or carry
a key pair or user data: Kumo has no metadata service, so that is how those reach a guest.

Image stores (Glance's multiple stores, service/image/stores.py): besides `default`, Kumo's
object backend, the TOML file may declare `[image_stores.<id>]` tables with `type` (local
or s3), `path` (local; default <data folder>/stores/<id>) or `bucket` (s3), and
`description`; KUMO_IMAGE_STORES declares them in short, e.g. `fast=local,cold=s3:cold-images`,
or as a JSON object of those tables.

Swift storage policies (service/objects/policy.py) are declared the same way: besides
`Policy-0`, on Kumo's object backend, `[object_policies.<name>]` tables of `type`, `path`
(local; default <data folder>/policies/<name>) or `bucket`, or KUMO_OBJECT_POLICIES in
short, e.g. `gold=local,cold=s3:cold-objects`.
"""

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from service.objects.events import POLICY_0

PROJECT_DIR = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


class BackendSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An object backend besides Kumo's own (KUMO_OBJECT_BACKEND): a `local` folder
    (`path`; each kind of declaration has a default folder) or an `s3` bucket at
    KUMO_S3_ENDPOINT_URL with the KUMO_S3_* credentials."""

    type: str
    path: Path | None = None
    bucket: str | None = None


class ImageStoreSettings(BackendSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One image store besides `default` (Kumo's object backend); a local one's folder is
    <data folder>/stores/<id> unless `path` says otherwise."""

    description: str | None = None


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything Kumo reads from its environment."""

    database_url: str | None = None
    listen: str = "127.0.0.1:8080"
    public_url: str | None = None
    data_dir: Path = PROJECT_DIR / ".kumo"
    admin_password: str | None = None
    log_level: str = "INFO"
    postgres_port: int = 54328
    region: str = "RegionOne"
    token_expiration: int = 3600
    password_hash_rounds: int = 12
    lockout_failure_attempts: int | None = None
    lockout_duration: int | None = 1800
    unique_last_password_count: int = 1
    minimum_password_age: int = 0
    password_expires_days: int | None = None
    password_regex: str | None = None
    password_regex_description: str | None = None
    object_backend: str = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    image_stores: dict[str, ImageStoreSettings] = {}
    """The image stores besides `default`, by id (service/image/stores.py)."""
    image_default_store: str = "default"
    object_policies: dict[str, BackendSettings] = {}
    """The Swift storage policies besides Policy-0, by name (service/objects/policy.py)."""
    object_default_policy: str = POLICY_0
    """The storage policy of containers created without X-Storage-Policy."""
    image_import_ports: str = "80,443"
    """The ports web-download imports may fetch from (comma-separated; empty: any), as
    Glance's allowed_ports."""
    image_import_local_hosts: bool = False
    """Whether web-download imports may fetch from loopback, private and link-local
    addresses (off: an import cannot be made to read the cloud's own network)."""
    image_format_enforcement: bool = False
    """Whether an image's bytes must be its disk_format (and safe to open) to activate it,
    as Glance's require_image_format_match (off: Tempest's interop tests need any bytes)."""
    cross_domain_policy: str = '<allow-access-from domain="*" secure="false" />'
    """The body of /object/crossdomain.xml's policy, as Swift's crossdomain middleware;
    its default lets pages of any site use the object API from Flash or Silverlight."""
    libvirt_uri: str | None = None
    host_name: str | None = None
    availability_zone: str = "nova"
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    force_config_drive: bool | None = None
    """Nova's force_config_drive: true gives every new server a config drive, false only
    those that ask; unset, those that ask or carry a key pair or user data, which with no
    metadata service reach a guest only on a config drive (config_drive.required)."""
    trusted_proxies: str = ""
    workers: int = 1
    """Processes serving the HTTP APIs on one port: `kumo up` itself and workers - 1 more
    (service/http_workers.py). From the environment, one per core unless KUMO_WORKERS
    says otherwise, as OpenStack's API services size their workers."""

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        """The URL clients reach Kumo at, without a trailing slash."""
        return (self.public_url or f"http://{self.listen}").rstrip("/")

    @property
    def trusted_proxy_addresses(self) -> frozenset[str]:
        """The addresses KUMO_TRUSTED_PROXIES lists."""
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())


def _decode_path(type_: type, value: Any) -> Any:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {type_} from config")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default: the process's) and the file KUMO_CONFIG names.

    Raises ConfigError saying which setting is wrong.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {"workers": os.cpu_count() or 1}
    config_file = environ.get("KUMO_CONFIG")
    if config_file:
        try:
            values.update(tomllib.loads(Path(config_file).read_text()))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"KUMO_CONFIG={config_file}: {error}") from None
    for field in Settings.__struct_fields__:
        value = environ.get(f"KUMO_{field.upper()}")
        if value:
            values[field] = _backends(value, field) if field in _DECLARED else value
    try:
        settings = msgspec.convert(values, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as error:
        raise ConfigError(f"bad setting: {error}") from None
    if ":" not in settings.listen or not settings.listen.rsplit(":", 1)[1].isdigit():
        raise ConfigError(f"KUMO_LISTEN must be host:port, not {settings.listen!r}")
    if settings.object_backend not in {"local", "s3"}:
        raise ConfigError("KUMO_OBJECT_BACKEND must be local or s3")
    if settings.object_backend == "s3" and not settings.s3_bucket:
        raise ConfigError("KUMO_OBJECT_BACKEND=s3 needs KUMO_S3_BUCKET")
    _check_image_stores(settings)
    _check_object_policies(settings)
    if settings.workers < 1:
        raise ConfigError(f"KUMO_WORKERS must be 1 or more, not {settings.workers}")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("KUMO_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    return settings


_STORE_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_POLICY_NAME = re.compile(r"[A-Za-z0-9-]{1,255}")
_RESERVED_POLICY_NAME = re.compile(r"policy-[0-9]+", re.IGNORECASE)
STORES_FOLDER, POLICIES_FOLDER = "stores", "policies"
"""The folders under the data folder of local image stores and storage policies."""
_DECLARED = {"image_stores", "object_policies"}
"""The settings that declare object backends by name (BackendSettings tables)."""


def _backends(value: str, field: str) -> Any:
    """A KUMO_IMAGE_STORES or KUMO_OBJECT_POLICIES value's `name=local[:folder]` and
    `name=s3:bucket` items as TOML tables, or its JSON object of the tables themselves."""
    if value.lstrip().startswith("{"):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError as error:
            raise ConfigError(f"KUMO_{field.upper()}: {error}") from None
    declared: dict[str, dict[str, str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, where = item.partition("=")
        kind, _, place = where.strip().partition(":")
        table = {"type": kind}
        if place:
            table["bucket" if kind == "s3" else "path"] = place
        declared[name.strip()] = table
    return declared


def backend_folder(settings: Settings, declared: BackendSettings, kind: str, name: str) -> Path:
    """The folder of a `local` declared backend: its `path`, else <data folder>/<kind>/<name>."""
    return declared.path or settings.data_dir / kind / name


def _check_backends(
    settings: Settings, declared: Mapping[str, BackendSettings], what: str, folder: str
) -> None:
    """ConfigError unless each of the `declared` backends (`what`: the variable and the
    noun naming one) is well formed and keeps its bytes apart from the others' and from
    Kumo's object backend (a local one's default folder is <data folder>/<folder>/<name>)."""
    noun = what.rsplit(" ", 1)[1]
    builtin = ("s3", settings.s3_bucket) if settings.object_backend == "s3" else None
    places = {builtin or ("local", settings.data_dir / "objects")}
    for name, backend in declared.items():
        if backend.type not in {"local", "s3"}:
            raise ConfigError(f"{what} {name!r}: the type must be local or s3")
        if backend.type == "s3" and not backend.bucket:
            raise ConfigError(f"{what} {name!r}: an s3 {noun} needs a bucket")
        place = (
            ("s3", backend.bucket)
            if backend.type == "s3"
            else ("local", backend_folder(settings, backend, folder, name))
        )
        if place in places:
            raise ConfigError(f"{what} {name!r}: another {noun} keeps its bytes there")
        places.add(place)


def _check_image_stores(settings: Settings) -> None:
    """ConfigError unless the image stores have good ids and places (_check_backends)
    and the default store is one of them."""
    what = "KUMO_IMAGE_STORES: store"
    for store_id in settings.image_stores:
        if store_id == "default" or store_id.startswith("os_glance_"):
            raise ConfigError(f"{what} {store_id!r}: the id is reserved")
        if not _STORE_ID.fullmatch(store_id):
            raise ConfigError(f"{what} {store_id!r}: ids are letters, digits, - and _")
    _check_backends(settings, settings.image_stores, what, STORES_FOLDER)
    if settings.image_default_store not in {"default", *settings.image_stores}:
        raise ConfigError(f"KUMO_IMAGE_DEFAULT_STORE: no store {settings.image_default_store!r}")


def _check_object_policies(settings: Settings) -> None:
    """ConfigError unless the storage policies have names Swift allows (letters, digits
    and -, unique regardless of case, `Policy-<n>` reserved), good places
    (_check_backends), and the default policy is one of them."""
    what = "KUMO_OBJECT_POLICIES: policy"
    seen = {POLICY_0.lower()}
    for name in settings.object_policies:
        if not _POLICY_NAME.fullmatch(name):
            raise ConfigError(f"{what} {name!r}: names are letters, digits and -")
        if name.lower() in seen or _RESERVED_POLICY_NAME.fullmatch(name):
            raise ConfigError(f"{what} {name!r}: the name is taken or reserved")
        seen.add(name.lower())
    _check_backends(settings, settings.object_policies, what, POLICIES_FOLDER)
    if settings.object_default_policy not in {POLICY_0, *settings.object_policies}:
        raise ConfigError(
            f"KUMO_OBJECT_DEFAULT_POLICY: no policy {settings.object_default_policy!r}"
        )


def store_path(settings: Settings, store_id: str) -> Path:
    """The folder of a `local` image store."""
    return backend_folder(settings, settings.image_stores[store_id], STORES_FOLDER, store_id)
