"""The dashboard in a real browser against a real `kumo up`: a member's whole day (log
in, upload an image, launch an instance and watch it turn ACTIVE without a reload, stop
it, store and fetch an object, read the history, log out), what another project's user
sees of it (nothing), the API's own messages for bad input, and the session's guards."""

import json
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Cloud,
    Person,
    call,
    log_in,
    screenshot,
)
from tests.integration.identity.conftest import ADMIN_PASSWORD

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
    page.get_by_role("button", name="Edit tiny").click()
    page.locator("#edit-form").get_by_label("Name").fill("tiny-disk")
    page.locator("#edit-form").get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="tiny-disk").locator(".pill")).to_have_text("active")
    screenshot(page, "images")

    # Launch: the form's own validation first, then an instance that turns ACTIVE live.
    page.get_by_role("link", name="Instances").click()
    page.evaluate("window.kumoSamePage = true")
    page.get_by_role("button", name="Launch instance").click()
    page.get_by_role("button", name="Launch", exact=True).click()
    expect(page.get_by_text("Give the instance a name.")).to_be_visible()
    page.get_by_label("Name").fill("web-1")
    page.get_by_label("Image").select_option(label="tiny-disk")
    page.get_by_label("Flavor").select_option(index=1)
    page.get_by_label("User data").fill("#cloud-config\nhostname: web-1\n")
    page.get_by_role("button", name="Launch", exact=True).click()
    row = page.locator("tr", has_text="web-1")
    expect(row.locator(".pill")).to_have_text("ACTIVE", timeout=ACTIVE_WITHIN)
    assert page.evaluate("window.kumoSamePage") is True, "the page reloaded"
    expect(page.locator("#live")).to_have_text("Live")
    screenshot(page, "instances")

    row.locator("summary", has_text="More").click()
    page.get_by_role("button", name="Pause web-1").click()
    expect(row.locator(".pill")).to_have_text("PAUSED", timeout=ACTIVE_WITHIN)
    page.get_by_role("button", name="Resume web-1").click()
    expect(row.locator(".pill")).to_have_text("ACTIVE", timeout=ACTIVE_WITHIN)
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
    page.get_by_role("button", name="Snapshot web-1").click()
    expect(page.locator("#flash")).to_have_text(re.compile("Snapshot web-1-snapshot requested"))
    expect(history).to_contain_text("createImage", timeout=ACTIVE_WITHIN)

    # Object storage: a container, an object in a pseudo-folder, downloaded again.
    page.get_by_role("link", name="Object storage").click()
    page.get_by_label("Name").fill("photos")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("tr", has_text="photos")).to_be_visible()
    screenshot(page, "containers")
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

    # API access: the catalog, files for the CLI, and EC2 credentials.
    page.get_by_role("link", name="API access").click()
    expect(page.locator("#endpoints")).to_contain_text(f"{base}/compute/v2.1")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download clouds.yaml").click()
    clouds = Path(download.value.path()).read_text()
    assert f"auth_url: {base}/identity" in clouds and alice.project_id in clouds
    assert 'username: "alice"' in clouds and "password" not in clouds
    with page.expect_download() as download:
        page.get_by_role("button", name="Download openrc").click()
    assert f"export OS_PROJECT_ID={alice.project_id}" in Path(download.value.path()).read_text()
    page.get_by_role("button", name="Create EC2 credentials").click()
    row = page.locator("#ec2 tbody tr")
    expect(row).to_have_count(1)
    access = row.locator("code").first.inner_text()
    row.get_by_role("button", name=f"Show the secret of {access}").click()
    secret = row.locator("code").nth(1)
    expect(secret).to_be_visible()
    token = cloud.token(alice.name, alice.password, alice.project_name)
    ec2 = call(f"{base}/identity/v3/users/{alice.user_id}/credentials/OS-EC2/{access}", token=token)
    assert ec2.body["credential"]["secret"] == secret.inner_text()
    screenshot(page, "api-access")

    # The actions in the audit page: the server's history there, and the audit log.
    page.get_by_role("link", name="Audit").click()
    page.locator("#resource-form").get_by_label("Id").fill(server_id)
    page.locator("#resource-form").get_by_role("button", name="Show").click()
    expect(page.locator("#resource-history")).to_contain_text("ServerActionRequested")
    expect(page.locator("#resource-history")).to_contain_text("stop")
    page.locator("#resource-form").get_by_label("As it was at").fill("2000-01-01T00:00:00")
    page.locator("#resource-form").get_by_role("button", name="Show").click()
    expect(page.locator("#resource-error")).to_contain_text("did not exist")
    expect(page.locator("#records")).not_to_contain_text("Loading")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    screenshot(page, "audit")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as JSON lines").click()
    exported = Path(download.value.path()).read_text().splitlines()
    assert exported and all(json.loads(line)["initiator"]["name"] == "alice" for line in exported)

    # From the instance's page, the audit records that name it.
    page.goto(f"{base}/dashboard/instances/{server_id}")
    page.get_by_role("link", name="Audit records").click()
    expect(page.locator("#records")).to_contain_text(f"/compute/v2.1/servers/{server_id}/action")
    expect(page.locator("#resource-history")).to_contain_text("ServerActive")

    # The snapshot taken earlier is an image of the project's now.
    page.get_by_role("link", name="Images").click()
    expect(page.locator("tr", has_text="web-1-snapshot")).to_be_visible()

    # The overview counts what the project now uses, and shows what it just did.
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("meter", name="Instances")).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_role("meter", name="Containers")).to_have_attribute("aria-valuenow", "1")
    expect(page.locator("#events")).to_contain_text("create keypair")
    screenshot(page, "overview-in-use")

    # Phone width: every page laid out for it, nothing wider than the screen.
    page.set_viewport_size(PHONE)
    for path in (
        "overview",
        "instances",
        f"instances/{server_id}",
        "images",
        "containers",
        "containers/photos",
        "keypairs",
        "api-access",
        "audit",
    ):
        page.goto(f"{base}/dashboard/{path}")
        expect(page.locator("main .empty", has_text="Loading")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, f"{path.split('/')[0]}{'-one' if '/' in path else ''}-phone")
    page.goto(f"{base}/dashboard/instances")
    expect(page.locator("tr", has_text="web-1").locator(".pill")).to_have_text("SHUTOFF")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Overview")).to_be_visible()

    # Deleting asks first; the row goes when the log says the server is gone.
    page.set_viewport_size(DESKTOP)
    row = page.locator("tr", has_text="web-1")
    row.locator("summary", has_text="More").click()
    page.get_by_role("button", name="Delete web-1").click()
    expect(page.get_by_role("dialog")).to_contain_text("Delete instance web-1?")
    page.get_by_role("button", name="Confirm").click()
    expect(row).to_have_count(0, timeout=ACTIVE_WITHIN)
    expect(page.get_by_text("No instances yet.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.goto(f"{base}/dashboard/instances")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def _token(cloud: Cloud, person: Person) -> str:
    return cloud.token(person.name, person.password, person.project_name)


def _put(url: str, token: str, data: bytes = b"", content_type: str | None = None) -> None:
    """A PUT of raw bytes (an image's data, a container) with a token."""
    headers = {"X-Auth-Token": token}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request) as response:
        assert response.status in (201, 202, 204)


@pytest.fixture(scope="module")
def alice_things(cloud: Cloud, alice: Person, qcow2: Path) -> dict[str, str]:
    """Alice's image, instance, container and key pair, made through the APIs."""
    token = _token(cloud, alice)
    base = cloud.url
    image = {"name": "alice-secret-image", "disk_format": "qcow2", "container_format": "bare"}
    image_id = call(f"{base}/image/v2/images", "POST", image, token).body["id"]
    data = qcow2.read_bytes()
    _put(f"{base}/image/v2/images/{image_id}/file", token, data, "application/octet-stream")
    server = {"name": "alice-secret-vm", "imageRef": image_id, "flavorRef": "1"}
    made = call(f"{base}/compute/v2.1/servers", "POST", {"server": server}, token)
    assert made.status == 202, made.body
    _put(f"{base}/object/v1/AUTH_{alice.project_id}/alice-secret-box", token)
    keypair = {"keypair": {"name": "alice-key"}}
    assert call(f"{base}/compute/v2.1/os-keypairs", "POST", keypair, token).status in (200, 201)
    return {"server": made.body["server"]["id"], "image": image_id}


def test_a_user_of_another_project_sees_none_of_it(
    page: Page, cloud: Cloud, alice_things: dict[str, str], bob: Person
) -> None:
    base = cloud.url
    log_in(page, base, bob.name, bob.password)
    expect(page.locator("#project-select")).to_have_value(bob.project_id)
    expect(page.get_by_role("link", name="Identity")).to_have_count(0)
    expect(page.get_by_role("meter", name="Instances")).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_role("meter", name="Containers")).to_have_attribute("aria-valuenow", "0")
    expect(page.locator("#events")).not_to_contain_text("alice")
    page.goto(f"{base}/dashboard/instances")
    expect(page.get_by_text("No instances yet.")).to_be_visible()

    # By keyboard: the skip link comes first; the launch form opens and closes.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("button", name="Launch instance").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Launch instance")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Launch instance")).to_be_hidden()

    page.goto(f"{base}/dashboard/images")
    expect(page.locator("#images")).not_to_contain_text("Loading")
    expect(page.locator("#images")).not_to_contain_text("alice-secret-image")
    page.goto(f"{base}/dashboard/containers")
    expect(page.get_by_text("No containers yet.")).to_be_visible()
    page.goto(f"{base}/dashboard/keypairs")
    expect(page.get_by_text("No key pairs yet.")).to_be_visible()

    # Alice's instance by its address: the APIs' own answers, shown as messages.
    server_id = alice_things["server"]
    page.goto(f"{base}/dashboard/instances/{server_id}")
    expect(page.locator("#flash")).to_contain_text(server_id)
    page.goto(f"{base}/dashboard/audit?type=server&id={server_id}")
    expect(page.locator("#resource-error")).to_contain_text("Could not find server")
    expect(page.locator("#records")).not_to_contain_text("Loading")
    expect(page.locator("#records")).to_contain_text("bob")  # his own refused attempts
    expect(page.locator("#records")).not_to_contain_text("alice")
    screenshot(page, "audit-other-project")
    page.goto(f"{base}/dashboard/identity")
    expect(page.locator("#flash")).to_contain_text("not authorized")


def test_bad_input_shows_the_api_message(page: Page, cloud: Cloud, bob: Person) -> None:
    base = cloud.url
    page.goto(f"{base}/dashboard/login")
    page.get_by_label("User name").fill(bob.name)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("requires authentication")
    screenshot(page, "login-refused")
    log_in(page, base, bob.name, bob.password)

    # Nova's message for a public key that is not one.
    page.goto(f"{base}/dashboard/keypairs")
    form = page.locator("#import-form")
    form.get_by_label("Name").fill("broken")
    form.get_by_label("Public key").fill("ssh-rsa not-a-key")
    form.get_by_role("button", name="Import").click()
    expect(page.locator("#import-error")).to_have_text(re.compile(r"^Keypair data is invalid"))

    # Glance's (plain text) refusal to let a member publish an image.
    page.goto(f"{base}/dashboard/images")
    form = page.locator("#upload-form")
    form.get_by_label("Name").fill("everyone-sees-me")
    form.get_by_label("File").set_input_files(
        {"name": "x.raw", "mimeType": "application/octet-stream", "buffer": b"\0" * 512}
    )
    form.get_by_label("Visibility").select_option("public")
    form.get_by_role("button", name="Upload").click()
    refusal = page.locator("#upload-error")
    expect(refusal).to_have_text("You are not authorized to complete publicize_image action.")
    expect(refusal).not_to_contain_text("403 Forbidden")
    screenshot(page, "images-refused")


def test_an_instance_that_failed_shows_why(
    page: Page, cloud: Cloud, bob: Person, qcow2: Path
) -> None:
    base, token = cloud.url, _token(cloud, bob)
    lying = {"name": "not-raw", "disk_format": "raw", "container_format": "bare"}
    image_id = call(f"{base}/image/v2/images", "POST", lying, token).body["id"]
    _put(
        f"{base}/image/v2/images/{image_id}/file",
        token,
        qcow2.read_bytes(),
        "application/octet-stream",
    )
    server = {"server": {"name": "doomed", "imageRef": image_id, "flavorRef": "1"}}
    made = call(f"{base}/compute/v2.1/servers", "POST", server, token)
    assert made.status == 202, made.body
    log_in(page, base, bob.name, bob.password)
    page.goto(f"{base}/dashboard/instances/{made.body['server']['id']}")
    facts = page.locator("#facts")
    expect(facts).to_contain_text("is unacceptable", timeout=ACTIVE_WITHIN)
    expect(facts).to_contain_text("its content is qcow2, not its disk_format raw")
    expect(page.locator("#server-status")).to_contain_text("ERROR")
    screenshot(page, "instance-fault")


def test_the_session_is_server_side_and_guarded(page: Page, cloud: Cloud) -> None:
    base = cloud.url
    carol = cloud.person("carol")
    other = cloud.person("carol-too")
    log_in(page, base, carol.name, carol.password)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["kumo_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert session["path"] == "/dashboard"
    assert "gAAAA" not in session["value"], "a token in the cookie"

    # A change without the page's CSRF token is refused; with it, it is the API's answer.
    keypairs = f"{base}/dashboard/api/compute/v2.1/os-keypairs"
    body = {"keypair": {"name": "no-csrf"}}
    refused = page.request.post(keypairs, data=body)
    assert refused.status == 403
    assert "security token" in refused.json()["error"]["message"]
    csrf = page.locator("body").get_attribute("data-csrf")
    assert csrf
    made = page.request.post(keypairs, data=body, headers={"X-CSRF-Token": csrf})
    assert made.status in (200, 201), made.text()
    assert "X-Subject-Token" not in made.headers and "x-subject-token" not in made.headers

    # Switching to another project of the user's rescopes the session.
    role = cloud.admin("GET", "roles?name=member").body["roles"][0]["id"]
    grant = f"projects/{other.project_id}/users/{carol.user_id}/roles/{role}"
    assert cloud.admin("PUT", grant).status == 204
    page.goto(f"{base}/dashboard/instances")
    page.get_by_label("Project").select_option(label=other.project_name)
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#project-select")).to_have_value(other.project_id)
    assert page.url.endswith("/dashboard/instances")
    expect(page.get_by_text("No instances yet.")).to_be_visible()

    # When the token stops being valid (the user is disabled), the page's next call and the
    # next page both send the user to the login form, saying why.
    disabled = cloud.admin("PATCH", f"users/{carol.user_id}", {"user": {"enabled": False}})
    assert disabled.status == 200
    page.get_by_role("button", name="Launch instance").click()  # it lists images and flavors
    expect(page.get_by_text("Your session has ended. Please log in again.")).to_be_visible()
    assert "/dashboard/login" in page.url
    page.goto(f"{base}/dashboard/images")
    expect(page.get_by_text("Your session has ended. Please log in again.")).to_be_visible()


def test_an_admin_manages_identity(page: Page, cloud: Cloud, alice: Person) -> None:
    base = cloud.url
    log_in(page, base, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Identity").click()
    expect(page.locator("#project-list")).to_contain_text(alice.project_name)
    form = page.locator("#project-form")
    form.get_by_label("Name").fill("p-made-in-browser")
    form.get_by_role("button", name="Create project").click()
    expect(page.locator("#project-list")).to_contain_text("p-made-in-browser")
    page.get_by_role("tab", name="Quotas").click()
    quotas = page.locator("#quota-form")
    quotas.get_by_label("Project").select_option(label=alice.project_name)
    expect(quotas).to_have_attribute("data-shown", alice.project_id)
    quotas.get_by_label("Instances").fill("7")
    quotas.get_by_role("button", name="Save quotas").click()
    expect(page.locator("#flash")).to_have_text("Quotas saved.")
    reply = call(f"{base}/compute/v2.1/os-quota-sets/{alice.project_id}", token=cloud.admin_token)
    assert reply.body["quota_set"]["instances"] == 7
    page.get_by_role("tab", name="Role assignments").click()
    expect(page.locator("#grant-list")).to_contain_text("alice")
    screenshot(page, "identity")
