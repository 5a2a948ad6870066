"""Per-project image limits set the OpenStack way, with the `openstack` CLI against a real
`kumo up`: the image service's registered defaults that `kumo up` registers, a project's
own limit (`openstack limit create`), and the image API refusing what goes over it."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.image import quota
from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import LiveCloud
from tests.integration.identity.test_clients import OPENSTACK

live_cloud = identity.live_cloud  # used by name


def clouds_yaml(tmp_path: Path, cloud: LiveCloud, *projects: str) -> Path:
    """A clouds.yaml with the admin scoped to each of `projects` (the cloud's name)."""
    entries = {
        project: {
            "auth": {
                "auth_url": cloud.auth_url,
                "username": "admin",
                "password": cloud.admin_password,
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": "RegionOne",
            "identity_api_version": 3,
        }
        for project in projects
    }
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": entries}))
    return path


def openstack(clouds: Path, cloud: str, *args: str, ok: bool = True) -> Any:
    """`openstack --os-cloud <cloud> <args>`: its JSON output when `ok`, else the result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    result = subprocess.run(
        [OPENSTACK, "--os-cloud", cloud, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    if not ok:
        return result
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openstack_limit_create_caps_a_projects_images(
    live_cloud: LiveCloud, tmp_path: Path
) -> None:
    clouds = clouds_yaml(tmp_path, live_cloud, "admin", "capped")
    registered = openstack(
        clouds, "admin", "registered", "limit", "list", "--service", "glance", "-f", "json"
    )
    defaults = {r["Resource Name"]: r["Default Limit"] for r in registered}
    assert defaults == quota.DEFAULTS

    project = openstack(clouds, "admin", "project", "create", "capped", "-f", "json")
    openstack(clouds, "admin", "role", "add", "--user", "admin", "--project", "capped", "admin")
    create = ["limit", "create", "--project", "capped", "--service", "glance"]
    limit = openstack(
        clouds, "admin", *create, "--resource-limit", "1", "image_count_total", "-f", "json"
    )
    assert (limit["project_id"], limit["resource_limit"]) == (project["id"], 1)
    listed = openstack(clouds, "admin", "limit", "list", "--project", "capped", "-f", "json")
    assert [x["ID"] for x in listed] == [limit["id"]]

    openstack(clouds, "capped", "image", "create", "first", "-f", "json")
    refused = openstack(clouds, "capped", "image", "create", "second", ok=False)
    assert refused.returncode != 0
    assert "413" in refused.stderr, refused.stderr
    openstack(clouds, "admin", "image", "create", "admins-own", "-f", "json")  # the default

    raised = openstack(
        clouds, "admin", "limit", "set", "--resource-limit", "2", limit["id"], "-f", "json"
    )
    assert raised["resource_limit"] == 2
    openstack(clouds, "capped", "image", "create", "second", "-f", "json")
    openstack(clouds, "admin", "limit", "delete", limit["id"])
    assert openstack(clouds, "admin", "limit", "list", "--project", "capped", "-f", "json") == []
