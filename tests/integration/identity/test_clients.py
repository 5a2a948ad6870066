"""The real OpenStack clients against a real `kumo up`: keystoneauth1 sessions,
openstacksdk's `conn.identity`, and the `openstack` CLI as a subprocess. Sync tests,
since the libraries block."""

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml
from keystoneauth1 import session
from keystoneauth1.identity import v3

from tests.conftest import ROOT
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    KumoProcess,
    LiveCloud,
    own_database,
)

# openstacksdk warns about its own deprecations (InfluxDB support, _compute_attributes)
# on every connection and resource; they are its business, not Kumo's
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")

SERVICE_TYPES = ("identity", "compute", "image", "object-store", "network", "event-stream")
OPENSTACK = str(ROOT / ".venv" / "bin" / "openstack")


def admin_session(cloud: LiveCloud) -> session.Session:
    auth = v3.Password(
        auth_url=cloud.auth_url, username="admin", password=cloud.admin_password,
        project_name="admin", user_domain_id="default", project_domain_id="default",
    )  # fmt: skip
    return session.Session(auth=auth)


def test_keystoneauth_session_token_project_and_endpoints(live_cloud: LiveCloud) -> None:
    sess = admin_session(live_cloud)
    token = sess.get_token()
    project_id = sess.get_project_id()
    assert token and project_id
    assert sess.get_user_id()
    for service_type in SERVICE_TYPES:
        for interface in ("public", "internal", "admin"):
            url = sess.get_endpoint(
                service_type=service_type, interface=interface, region_name="RegionOne"
            )
            assert url is not None and url.startswith(live_cloud.url), (service_type, url)
    assert sess.get_endpoint(service_type="identity", interface="public") == live_cloud.auth_url
    swift = sess.get_endpoint(service_type="object-store", interface="public")
    assert swift == f"{live_cloud.url}/object/v1/AUTH_{project_id}"
    # version discovery, as keystoneauth negotiates it
    discovered = sess.get_endpoint(service_type="identity", interface="public", version=(3, 0))
    assert discovered is not None and discovered.rstrip("/") == live_cloud.auth_url
    response = sess.get(f"{live_cloud.auth_url}/auth/tokens", headers={"X-Subject-Token": token})
    assert response.status_code == 200
    assert response.json()["token"]["project"]["id"] == project_id


def test_keystoneauth_wrong_password_raises_unauthorized(live_cloud: LiveCloud) -> None:
    from keystoneauth1 import exceptions

    auth = v3.Password(
        auth_url=live_cloud.auth_url, username="admin", password="wrong",
        project_name="admin", user_domain_id="default", project_domain_id="default",
    )  # fmt: skip
    with pytest.raises(exceptions.Unauthorized):
        session.Session(auth=auth).get_token()


def connect(cloud: LiveCloud, username: str, password: str, project: str) -> Any:
    """An openstacksdk connection from explicit arguments (no clouds.yaml, no OS_ env)."""
    return openstack.connect(
        auth_url=cloud.auth_url, username=username, password=password, project_name=project,
        user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
        load_yaml_config=False, load_envvars=False,
    )  # fmt: skip


def test_openstacksdk_identity_project_user_and_role_assignment(live_cloud: LiveCloud) -> None:
    conn = connect(live_cloud, "admin", ADMIN_PASSWORD, "admin")
    project = conn.identity.create_project(name="sdk-project", domain_id="default")
    user = conn.identity.create_user(
        name="sdk-user", password="sdk-pw-1", default_project_id=project.id, domain_id="default"
    )
    role = conn.identity.find_role("member")
    assert role is not None
    conn.identity.assign_project_role_to_user(project, user, role)
    assert conn.identity.validate_user_has_project_role(project, user, role)
    assert project.id in {p.id for p in conn.identity.projects()}
    assert user.id in {u.id for u in conn.identity.users(name="sdk-user")}
    assignments = list(conn.identity.role_assignments(user_id=user.id, scope_project_id=project.id))
    assert [(a.user["id"], a.role["id"], a.scope["project"]["id"]) for a in assignments] == [
        (user.id, role.id, project.id)
    ]
    mine = connect(live_cloud, "sdk-user", "sdk-pw-1", "sdk-project")
    assert mine.current_project_id == project.id
    assert mine.identity.get_user(user.id).name == "sdk-user"
    assert [p.id for p in mine.identity.user_projects(user.id)] == [project.id]
    conn.identity.unassign_project_role_from_user(project, user, role)
    assert not conn.identity.validate_user_has_project_role(project, user, role)
    conn.identity.delete_user(user)
    conn.identity.delete_project(project)
    assert conn.identity.find_project("sdk-project") is None


# --- the openstack CLI ----------------------------------------------------------------


def cli(clouds: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `openstack` CLI with only `clouds` as its configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    result = subprocess.run(
        [OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def clouds_yaml(tmp_path: Path, cloud: LiveCloud) -> Path:
    """A clouds.yaml with the admin and the user the CLI test makes."""

    def entry(username: str, password: str, project: str) -> dict[str, Any]:
        auth = {"auth_url": cloud.auth_url, "username": username, "password": password,
                "project_name": project, "user_domain_name": "Default",
                "project_domain_name": "Default"}  # fmt: skip
        return {"auth": auth, "region_name": "RegionOne", "identity_api_version": 3}

    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {
        "admin": entry("admin", cloud.admin_password, "admin"),
        "user": entry("cli-user", "cli-pw-1", "cli-project"),
    }}))  # fmt: skip
    return path


def test_openstack_cli_create_grant_issue_revoke(tmp_path: Path, live_cloud: LiveCloud) -> None:
    clouds = clouds_yaml(tmp_path, live_cloud)

    def as_admin(*args: str) -> Any:
        return json.loads(cli(clouds, "--os-cloud", "admin", *args, "-f", "json").stdout)

    project = as_admin("project", "create", "cli-project")
    user = as_admin("user", "create", "--password", "cli-pw-1", "--project", "cli-project",
                    "cli-user")  # fmt: skip
    assert project["name"] == "cli-project" and user["name"] == "cli-user"
    cli(clouds, "--os-cloud", "admin", "role", "add", "--user", "cli-user",
        "--project", "cli-project", "member")  # fmt: skip
    token = json.loads(cli(clouds, "--os-cloud", "user", "token", "issue", "-f", "json").stdout)
    assert token["project_id"] == project["id"] and token["user_id"] == user["id"]

    with_token = ("--os-auth-type", "token", "--os-token", token["id"],
                  "--os-auth-url", live_cloud.auth_url, "--os-project-id", project["id"],
                  "project", "show", project["id"])  # fmt: skip
    shown = cli(clouds, *with_token, "-f", "value", "-c", "name")
    assert shown.stdout.strip() == "cli-project"
    cli(clouds, "--os-cloud", "admin", "token", "revoke", token["id"])
    # rescoping a revoked token: Keystone's answer is 404 "Could not find token"
    refused = cli(clouds, *with_token, ok=False)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "Could not find token" in refused.stderr and "404" in refused.stderr, refused.stderr


# --- tokens survive a restart ----------------------------------------------------------


def http(url: str, method: str = "GET", body: Any = None, **headers: str) -> tuple[int, Any]:
    """A JSON request with urllib: the status and the decoded body (or headers when the
    body is empty)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **headers})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else dict(response.headers))
    except urllib.error.HTTPError as error:
        return error.code, None


def test_a_token_stays_valid_across_a_server_restart(
    server_url: str, template_url: str, tmp_path: Path
) -> None:
    data_dir, config_dir = tmp_path / "data", tmp_path / "os"
    data_dir.mkdir()
    config_dir.mkdir()
    with own_database(server_url) as database_url:
        first = KumoProcess(database_url, data_dir, config_dir)
        first.start()
        try:
            auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}  # fmt: skip
            request = urllib.request.Request(
                f"{first.url}/identity/v3/auth/tokens", data=json.dumps(auth).encode(),
                method="POST", headers={"Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
                token = response.headers["X-Subject-Token"]
        finally:
            first.stop()
        assert any((data_dir / "fernet-keys").iterdir())

        second = KumoProcess(database_url, data_dir, config_dir)
        second.start()
        try:
            status, body = http(f"{second.url}/identity/v3/auth/tokens",
                                **{"X-Auth-Token": token, "X-Subject-Token": token})  # fmt: skip
            assert status == 200
            assert body["token"]["user"]["name"] == "admin"
            identity = next(s for s in body["token"]["catalog"] if s["type"] == "identity")
            assert {e["url"] for e in identity["endpoints"]} == {f"{second.url}/identity/v3"}
        finally:
            second.stop()
