"""The dashboard in a real browser against a real `kumo up`: a member's whole day (log
in, upload an image, launch an instance and watch it turn ACTIVE without a reload, stop
it, store and fetch an object, read the history, log out), what another project's user
sees of it (nothing), the API's own messages for bad input, and the session's guards."""

import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    PHONE,
    Cloud,
    Person,
    call,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.browser

ACTIVE_WITHIN = 60_000  # ms: the server is built by the compute reactor on test:///default


@pytest.fixture(scope="module")
def alice(cloud: Cloud) -> Person:
    return cloud.person("alice")


@pytest.fixture(scope="module")
def bob(cloud: Cloud) -> Person:
    return cloud.person("bob")


def test_a_member_works_through_every_page(
    page: Page, cloud: Cloud, alice: Person, qcow2: Path, tmp_path: Path
) -> None:
    base = cloud.url
    log_in(page, base, alice.name, alice.password)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("meter", name="Instances")).to_be_visible()
    screenshot(page, "overview")

    # An image, uploaded from the browser with a progress bar.
    page.get_by_role("link", name="Images").click()
    upload = page.locator("#upload-form")
    upload.get_by_label("Name").fill("tiny")
    upload.get_by_label("File").set_input_files(str(qcow2))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-text")).to_contain_text("Uploaded tiny.qcow2")
    expect(page.get_by_label("Upload progress")).to_have_attribute("value", "1")
    expect(page.locator("tr", has_text="tiny").locator(".pill")).to_have_text("active")
    screenshot(page, "images")

    # Launch: the form's own validation first, then an instance that turns ACTIVE live.
    page.get_by_role("link", name="Instances").click()
    page.evaluate("window.kumoSamePage = true")
    page.get_by_role("button", name="Launch instance").click()
    page.get_by_role("button", name="Launch", exact=True).click()
    expect(page.get_by_text("Give the instance a name.")).to_be_visible()
    page.get_by_label("Name").fill("web-1")
    page.get_by_label("Image").select_option(label="tiny")
    page.get_by_label("Flavor").select_option(index=1)
    page.get_by_label("User data").fill("#cloud-config\nhostname: web-1\n")
    page.get_by_role("button", name="Launch", exact=True).click()
    row = page.locator("tr", has_text="web-1")
    expect(row.locator(".pill")).to_have_text("ACTIVE", timeout=ACTIVE_WITHIN)
    assert page.evaluate("window.kumoSamePage") is True, "the page reloaded"
    expect(page.locator("#live")).to_have_text("Live")
    screenshot(page, "instances")

    page.get_by_role("button", name="Stop web-1").click()
    expect(row.locator(".pill")).to_have_text("SHUTOFF", timeout=ACTIVE_WITHIN)
    assert page.evaluate("window.kumoSamePage") is True, "the page reloaded"

    # The instance's page: its history from the event log, and as it was.
    row.get_by_role("link", name="web-1").click()
    history = page.locator("#history")
    expect(history).to_contain_text("ServerCreateRequested")
    expect(history).to_contain_text("ServerActive")
    expect(history).to_contain_text("stop")
    history.get_by_role("button", name="as it was").first.click()
    expect(page.locator("#at-doc")).to_contain_text('"BUILD"')
    server_id = page.locator("#server-id").get_attribute("data-id")
    assert server_id
    screenshot(page, "instance")

    # Object storage: a container, an object in a pseudo-folder, downloaded again.
    page.get_by_role("link", name="Object storage").click()
    page.get_by_label("Name").fill("photos")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="photos").click()
    note = tmp_path / "hello.txt"
    note.write_text("hello from the dashboard\n")
    page.get_by_label("File").set_input_files(str(note))
    page.get_by_label("Folder").fill("notes/2026")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-text")).to_contain_text("Uploaded notes/2026/hello.txt")
    expect(page.get_by_label("Upload progress")).to_have_attribute("value", "1")
    expect(page.locator("#path")).to_contain_text("2026")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download notes/2026/hello.txt").click()
    assert Path(download.value.path()).read_text() == "hello from the dashboard\n"
    page.get_by_role("button", name="Make public").click()
    expect(page.locator("#container-facts")).to_contain_text("public read")
    public = f"{base}/object/v1/AUTH_{alice.project_id}/photos/notes/2026/hello.txt"
    with urllib.request.urlopen(public) as response:  # no token: the ACL lets anyone read
        assert response.read() == b"hello from the dashboard\n"
    page.get_by_role("button", name="TempURL for notes/2026/hello.txt").click()
    page.get_by_role("button", name="Create URL").click()
    temp_url = page.get_by_role("textbox", name="URL")
    expect(temp_url).to_have_value(re.compile(r"temp_url_sig=[0-9a-f]{64}&temp_url_expires=\d+"))
    signed = temp_url.input_value()
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Make private").click()
    expect(page.locator("#container-facts")).to_contain_text("private")
    with urllib.request.urlopen(signed) as response:  # signed, no token
        assert response.read() == b"hello from the dashboard\n"
    screenshot(page, "container")

    # A key pair made by Kumo: the private key is downloaded once.
    page.get_by_role("link", name="Key pairs").click()
    page.locator("#create-form").get_by_label("Name").fill("laptop")
    with page.expect_download() as download:
        page.get_by_role("button", name="Create and download").click()
    assert "PRIVATE KEY" in Path(download.value.path()).read_text()
    expect(page.locator("tr", has_text="laptop")).to_be_visible()
    screenshot(page, "keypairs")

    # The actions in the audit page: the server's history there, and the audit log.
    page.get_by_role("link", name="Audit").click()
    page.locator("#resource-form").get_by_label("Id").fill(server_id)
    page.locator("#resource-form").get_by_role("button", name="Show").click()
    expect(page.locator("#resource-history")).to_contain_text("ServerActionRequested")
    expect(page.locator("#resource-history")).to_contain_text("stop")
    audit = call(f"{base}/events/v1/audit?target_id={server_id}", token=_token(cloud, alice))
    if audit.status == 200:  # the audit API, where this build has it
        expect(page.locator("#records")).to_contain_text(server_id[:8])
    screenshot(page, "audit")

    # Phone width: the same pages, laid out for it.
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/dashboard/instances")
    expect(page.locator("tr", has_text="web-1").locator(".pill")).to_have_text("SHUTOFF")
    screenshot(page, "instances-phone")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Overview")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.goto(f"{base}/dashboard/instances")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def _token(cloud: Cloud, person: Person) -> str:
    return cloud.token(person.name, person.password, person.project_name)
