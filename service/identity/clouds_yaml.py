"""The `kumo` entry of ~/.config/openstack/clouds.yaml, merged into what is there."""

import os
from pathlib import Path
from typing import Any

import yaml

from service.config import Settings

CLOUD = "kumo"


def clouds_yaml_path() -> Path:
    """Where the OpenStack clients look first for clouds.yaml (OS_CLIENT_CONFIG_FILE wins)."""
    given = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if given:
        return Path(given)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "openstack" / "clouds.yaml"


def write_cloud_entry(settings: Settings, password: str, path: Path | None = None) -> Path:
    """Add or replace the `kumo` cloud (admin on the admin project); other clouds are kept.

    The file is written atomically with mode 0600, since it holds a password.
    """
    path = path or clouds_yaml_path()
    document: dict[str, Any] = {}
    if path.exists():
        document = yaml.safe_load(path.read_text()) or {}
    document.setdefault("clouds", {})[CLOUD] = {
        "auth": {
            "auth_url": f"{settings.base_url}/identity/v3",
            "username": "admin",
            "password": password,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": settings.region,
        "identity_api_version": 3,
        "interface": "public",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(yaml.safe_dump(document, sort_keys=False))
    os.replace(temporary, path)
    return path
