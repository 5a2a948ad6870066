"""The stock `openstack` CLI against a running Kumo, as its bootstrap admin."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess

OPENSTACK = str(ROOT / ".venv" / "bin" / "openstack")
TIMEOUT = 120
LOG_LINES = 80
Cli = Callable[..., str]


def admin_cli(kumo: KumoProcess, folder: Path) -> Cli:
    """`cli(*args)` runs `openstack --os-cloud kumo *args` as the admin of `kumo` (its
    clouds.yaml written into `folder`) and gives its standard output; a non-zero exit
    or a command still running after TIMEOUT seconds fails the test with the command's
    standard error and the end of Kumo's log."""
    auth = {
        "auth_url": f"{kumo.url}/identity/v3",
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
        command = [OPENSTACK, "--os-cloud", "kumo", *args]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            failure = f"{' '.join(args)} still ran after {TIMEOUT} s: {expired.stderr!r}"
        else:
            if done.returncode == 0:
                return done.stdout
            failure = done.stderr
        lines = kumo.log.read_text(errors="replace").splitlines()[-LOG_LINES:]
        pytest.fail(f"{failure}\n--- the end of Kumo's log:\n" + "\n".join(lines))

    return cli
