"""Browser fixtures: a real `kumo up` on test:///default, people in projects of their own
(made through the identity API), and Debian's Chromium driven by Playwright.

Screenshots of each page are kept under .kumo/screenshots/ (the path is printed)."""

import json
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import ROOT
from tests.integration.identity.conftest import ADMIN_PASSWORD, KumoProcess, own_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".kumo" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class Reply(msgspec.Struct):
    status: int
    headers: dict[str, str]
    body: Any


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> Reply:
    """One JSON call to a Kumo API with urllib; API errors are returned, not raised."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["X-Auth-Token"] = token
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    return Reply(status, got, json.loads(raw) if raw.strip() else None)


class Person(msgspec.Struct):
    """A user with the member role on a project of its own."""

    name: str
    password: str
    user_id: str
    project_id: str
    project_name: str


class Cloud(msgspec.Struct):
    url: str
    admin_token: str

    def token(self, name: str, password: str, project: str) -> str:
        """A token of `name`'s scoped to the project named `project`."""
        user = {"name": name, "domain": {"name": "Default"}, "password": password}
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
        reply = call(f"{self.url}/identity/v3/auth/tokens", "POST", {"auth": auth})
        assert reply.status == 201, reply.body
        return reply.headers["X-Subject-Token"]

    def admin(self, method: str, path: str, body: Any = None) -> Reply:
        return call(f"{self.url}/identity/v3/{path}", method, body, self.admin_token)

    def person(self, name: str) -> Person:
        project = self.admin("POST", "projects", {"project": {"name": f"p-{name}"}})
        assert project.status == 201, project.body
        password = f"pw-{name}-1"
        user = self.admin("POST", "users", {"user": {"name": name, "password": password}})
        assert user.status == 201, user.body
        role = self.admin("GET", "roles?name=member").body["roles"][0]["id"]
        project_id, user_id = project.body["project"]["id"], user.body["user"]["id"]
        granted = self.admin("PUT", f"projects/{project_id}/users/{user_id}/roles/{role}")
        assert granted.status == 204
        return Person(name, password, user_id, project_id, f"p-{name}")


@pytest.fixture(scope="module")
def kumo(server_url: str, template_url: str) -> Iterator[KumoProcess]:
    """`kumo up` on a database of its own and `test:///default`, for the module."""
    with tempfile.TemporaryDirectory() as folder, own_database(server_url) as database_url:
        process = KumoProcess(database_url, Path(folder), Path(folder))
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def cloud(kumo: KumoProcess) -> Cloud:
    return Cloud(kumo.url, Cloud(kumo.url, "").token("admin", ADMIN_PASSWORD, "admin"))


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, valid qcow2 disk for image uploads."""
    disk = tmp_path_factory.mktemp("disk") / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    return disk


@pytest.fixture(scope="module")
def browser(kumo: KumoProcess) -> Iterator[Browser]:
    """Chromium, started after the server (Playwright's sync API runs an event loop in this
    thread, so the server's database must be made and dropped outside its life)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: ./kumo.sh installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop width."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot as a test artifact; prints where."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # a scrolled page draws its sticky bar mid-page
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def log_in(page: Page, base: str, name: str, password: str) -> None:
    """Log in through the form and wait for the overview."""
    page.goto(f"{base}/dashboard/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/overview")
