"""The stock `openstack` CLI against a running Kumo, as its bootstrap admin."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.integration.identity.conftest import ADMIN_PASSWORD

OPENSTACK = str(ROOT / ".venv" / "bin" / "openstack")
Cli = Callable[..., str]


def admin_cli(url: str, folder: Path) -> Cli:
    """`cli(*args)` runs `openstack --os-cloud kumo *args` as the admin of the Kumo at
    `url` (its clouds.yaml written into `folder`) and gives its standard output; a
    non-zero exit fails the test with the command's standard error."""
    auth = {
        "auth_url": f"{url}/identity/v3",
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    config = folder / "clouds.yaml"
    config.write_text(
        yaml.safe_dump({"clouds": {"kumo": {"auth": auth, "region_name": "RegionOne"}}})
    )
    env = {"OS_CLIENT_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [OPENSTACK, "--os-cloud", "kumo", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return cli
