"""Who the client is: Keystone v3 credentials from clouds.yaml, the `OS_*` environment
or arguments, and the token and events endpoint they are exchanged for."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import yaml

EVENTS_TYPE = "event-stream"
"""The catalog type of Kumo's events API."""


class ConfigError(Exception):
    """The credentials cannot be found or are incomplete."""


class Credentials(msgspec.Struct, frozen=True):
    """A Keystone v3 password (scoped to a project by id or name) or a token, and where
    to use it. `endpoint` skips the catalog lookup."""

    auth_url: str | None = None
    username: str | None = None
    user_id: str | None = None
    password: str | None = None
    user_domain_name: str = "Default"
    project_name: str | None = None
    project_id: str | None = None
    project_domain_name: str = "Default"
    token: str | None = None
    endpoint: str | None = None
    interface: str = "public"

    @classmethod
    def from_cloud(cls, name: str = "kumo", path: Path | None = None) -> "Credentials":
        """The cloud `name` of clouds.yaml (OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
        ~/.config/openstack/, /etc/openstack/, the first that exists). Raises ConfigError
        when there is no such file or cloud."""
        for candidate in [path] if path else _clouds_files():
            if candidate is not None and candidate.exists():
                clouds = (yaml.safe_load(candidate.read_text()) or {}).get("clouds", {})
                if name in clouds:
                    return cls._from_cloud_entry(clouds[name])
        raise ConfigError(f"No cloud named {name!r} in any clouds.yaml.")

    @classmethod
    def _from_cloud_entry(cls, cloud: Mapping[str, Any]) -> "Credentials":
        auth = dict(cloud.get("auth", {}))
        known = set(cls.__struct_fields__)
        fields = {k: v for k, v in auth.items() if k in known}
        if "interface" in cloud:
            fields["interface"] = cloud["interface"]
        return cls(**fields)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Credentials":
        """The `OS_*` variables (`OS_CLOUD` names a clouds.yaml entry instead)."""
        env = os.environ if environ is None else environ
        if env.get("OS_CLOUD"):
            return cls.from_cloud(env["OS_CLOUD"])
        fields = {
            name: env[f"OS_{name.upper()}"]
            for name in cls.__struct_fields__
            if env.get(f"OS_{name.upper()}")
        }
        if not fields.get("auth_url") and not fields.get("endpoint"):
            raise ConfigError("Set OS_AUTH_URL (and a user or token), or OS_CLOUD.")
        return cls(**fields)

    @classmethod
    def find(cls, cloud: str = "kumo") -> "Credentials":
        """The `OS_*` environment when it names a cloud or an auth URL, else `cloud` of
        clouds.yaml."""
        if os.environ.get("OS_CLOUD") or os.environ.get("OS_AUTH_URL"):
            return cls.from_env()
        return cls.from_cloud(cloud)


def _clouds_files() -> list[Path]:
    given = os.environ.get("OS_CLIENT_CONFIG_FILE")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    found = [Path("clouds.yaml"), config / "openstack" / "clouds.yaml"]
    return [Path(given)] if given else [*found, Path("/etc/openstack/clouds.yaml")]


class Session(msgspec.Struct, frozen=True):
    """A token and the events API's root URL (`.../events/v1`)."""

    token: str
    endpoint: str


def _auth_body(credentials: Credentials) -> dict[str, Any]:
    if credentials.token is not None:
        identity: dict[str, Any] = {"methods": ["token"], "token": {"id": credentials.token}}
    else:
        user: dict[str, Any] = {"password": credentials.password}
        if credentials.user_id:
            user["id"] = credentials.user_id
        else:
            user |= {"name": credentials.username, "domain": {"name": credentials.user_domain_name}}
        identity = {"methods": ["password"], "password": {"user": user}}
    body: dict[str, Any] = {"identity": identity}
    if credentials.project_id:
        body["scope"] = {"project": {"id": credentials.project_id}}
    elif credentials.project_name:
        domain = {"name": credentials.project_domain_name}
        body["scope"] = {"project": {"name": credentials.project_name, "domain": domain}}
    return {"auth": body}


def _endpoint(catalog: list[dict[str, Any]], interface: str) -> str:
    for service in catalog:
        if service.get("type") == EVENTS_TYPE:
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == interface:
                    return str(endpoint["url"]).rstrip("/")
    raise ConfigError(f"The catalog has no {interface} {EVENTS_TYPE} endpoint.")


async def authenticate(http: aiohttp.ClientSession, credentials: Credentials) -> Session:
    """A token for `credentials` and the events endpoint. A token with an endpoint is
    used as it is; anything else asks Keystone (POST /v3/auth/tokens). Raises
    ConfigError when there is nothing to authenticate with, PermissionError when
    Keystone refuses."""
    if credentials.token is not None and credentials.endpoint is not None:
        return Session(credentials.token, credentials.endpoint.rstrip("/"))
    if credentials.auth_url is None:
        raise ConfigError("No auth_url to authenticate with.")
    url = credentials.auth_url.rstrip("/")
    url = url if url.endswith("/v3") else f"{url}/v3"
    async with http.post(f"{url}/auth/tokens", json=_auth_body(credentials)) as response:
        if response.status != 201:
            raise PermissionError(f"Keystone refused: {response.status} {await response.text()}")
        token = response.headers["X-Subject-Token"]
        catalog = (await response.json()).get("token", {}).get("catalog", [])
    endpoint = credentials.endpoint or _endpoint(catalog, credentials.interface)
    return Session(token, endpoint.rstrip("/"))
