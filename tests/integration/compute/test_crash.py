"""Crash safety (marked `vm`): `kill -9` the process while it creates a real guest,
start it again, and the server ends ACTIVE or ERROR — never stuck in BUILD — and after
its deletion libvirt holds nothing of it."""

import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.conftest import ROOT
from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, own_database
from tools.build_test_guest import build as build_guest

pytestmark = pytest.mark.vm


def call(
    url: str,
    method: str,
    token: str | None,
    body: Any = None,
    data: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any, Any]:
    payload = (
        data if data is not None else (json.dumps(body).encode() if body is not None else None)
    )
    request = urllib.request.Request(url, data=payload, method=method)
    request.add_header("Content-Type", content_type)
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw.strip() else None), response.headers
    except urllib.error.HTTPError as error:
        return error.code, None, error.headers


def admin_token(kumo: KumoProcess) -> str:
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    _, _, headers = call(f"{kumo.url}/identity/v3/auth/tokens", "POST", None, auth)
    return str(headers["X-Subject-Token"])


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="vm-crash-", dir=ROOT / ".kumo"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def status(kumo: KumoProcess, token: str, server_id: str) -> str | None:
    code, body, _ = call(f"{kumo.url}/compute/v2.1/servers/{server_id}", "GET", token)
    return None if code == 404 else str(body["server"]["status"])


def test_a_killed_create_ends_active_or_error_and_leaves_nothing(
    server_url: str, template_url: str, data_dir: Path
) -> None:
    disk = build_guest().disk.read_bytes()
    with own_database(server_url) as database_url:
        first = KumoProcess(database_url, data_dir, data_dir)
        first.env["KUMO_LIBVIRT_URI"] = "qemu:///system"
        first.start()
        try:
            token = admin_token(first)
            code, image, _ = call(
                f"{first.url}/image/v2/images",
                "POST",
                token,
                {"name": "tiny", "disk_format": "qcow2", "container_format": "bare"},
            )
            assert code == 201
            code, _, _ = call(
                f"{first.url}/image/v2/images/{image['id']}/file",
                "PUT",
                token,
                data=disk,
                content_type="application/octet-stream",
            )
            assert code == 204
            code, created, _ = call(
                f"{first.url}/compute/v2.1/servers",
                "POST",
                token,
                {"server": {"name": "crash", "imageRef": image["id"], "flavorRef": "1"}},
            )
            assert code == 202
            server_id = created["server"]["id"]
        finally:
            assert first.process is not None
            first.process.kill()  # kill -9, mid-create
            first.process.wait(timeout=10)

        second = KumoProcess(database_url, data_dir, data_dir)
        second.env["KUMO_LIBVIRT_URI"] = "qemu:///system"
        second.start()
        try:
            token = admin_token(second)
            deadline = time.monotonic() + 90
            while (state := status(second, token, server_id)) == "BUILD":
                assert time.monotonic() < deadline, "the server stayed in BUILD"
                time.sleep(0.5)
            assert state in ("ACTIVE", "ERROR")
            assert call(f"{second.url}/compute/v2.1/servers/{server_id}", "DELETE", token)[0] == 204
            deadline = time.monotonic() + 60
            while status(second, token, server_id) is not None:
                assert time.monotonic() < deadline, "the server was not deleted"
                time.sleep(0.5)
        finally:
            second.stop()
    conn = libvirt.open("qemu:///system")
    try:
        assert server_id not in {d.UUIDString() for d in conn.listAllDomains()}
    finally:
        conn.close()
    assert not (data_dir / "compute" / "instances" / server_id).exists()
