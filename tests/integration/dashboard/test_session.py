"""The dashboard's session and its pass-through to the APIs, on a real app: tokens stay on
the server, every change needs the CSRF token, and nothing leads off the dashboard."""

from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.config import Settings
from tests.integration.dashboard.conftest import hidden, log_in
from tests.integration.identity.conftest import Client, Person


async def test_the_cookie_names_a_session_and_holds_no_token(client: Client, alice: Person) -> None:
    await log_in(client, alice)
    cookies = {c.key: c for c in client.session.cookie_jar}
    session = cookies["kumo_session"]
    assert session["httponly"] and session["samesite"] == "Strict"
    assert session["path"] == "/dashboard"
    assert alice.token not in session.value and not session.value.startswith("gAAAA")
    assert "kumo_login" not in cookies


async def test_a_refused_login_shows_keystones_message(client: Client, alice: Person) -> None:
    page = await client.get("/dashboard/login")
    form = {
        "csrf_token": hidden(await page.text(), "csrf_token"),
        "domain": "Default",
        "username": alice.name,
        "password": "wrong",
    }
    answer = await client.post("/dashboard/login", data=form)
    assert answer.status == 401
    text = await answer.text()
    assert "The request you have made requires authentication." in text
    assert 'value="alice"' in text and "wrong" not in text


async def test_a_login_without_the_forms_token_is_refused(client: Client, alice: Person) -> None:
    await client.get("/dashboard/login")
    form = {"csrf_token": "forged", "username": alice.name, "password": alice.password}
    answer = await client.post("/dashboard/login", data=form)
    assert answer.status == 403
    assert "kumo_session" not in {c.key for c in client.session.cookie_jar}


async def test_after_login_only_dashboard_paths(client: Client, alice: Person) -> None:
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/identity/v3"):
        page = await client.get("/dashboard/login")
        form = {
            "csrf_token": hidden(await page.text(), "csrf_token"),
            "domain": "Default",
            "username": alice.name,
            "password": alice.password,
            "next": elsewhere,
        }
        answer = await client.post("/dashboard/login", data=form, allow_redirects=False)
        assert answer.headers["Location"] == "/dashboard/overview"


async def test_pages_without_a_session_go_to_the_login_form(client: Client) -> None:
    answer = await client.get("/dashboard/instances?x=1", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/dashboard/login?next=/dashboard/instances%3Fx%3D1"
    api = await client.get("/dashboard/api/compute/v2.1/servers")
    assert api.status == 401 and api.headers["X-Dashboard-Session"] == "ended"


async def test_changes_need_the_csrf_token_and_run_the_real_api(
    client: Client, alice: Person, store: PostgresEventStore
) -> None:
    csrf = await log_in(client, alice)
    body = {"keypair": {"name": "k1"}}
    refused = await client.post("/dashboard/api/compute/v2.1/os-keypairs", json=body)
    assert refused.status == 403
    made = await client.post(
        "/dashboard/api/compute/v2.1/os-keypairs", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert made.status in (200, 201), await made.text()
    direct = await client.get("/compute/v2.1/os-keypairs/k1", headers={"X-Auth-Token": alice.token})
    assert direct.status == 200  # the same key pair, made by alice through the API
    listed = await client.get("/dashboard/api/compute/v2.1/os-keypairs")
    assert [k["keypair"]["name"] for k in (await listed.json())["keypairs"]] == ["k1"]
    audited = await store.read_all(0, 1000, types=["AuditRecorded"])
    creates = [(e.event.path, e.event.status) for e in audited if e.event.method == "POST"]
    assert ("/compute/v2.1/os-keypairs", made.status) in creates  # once, as the API call
    refusals = [(path, status) for path, status in creates if path.startswith("/dashboard/api/")]
    assert refusals == [("/dashboard/api/compute/v2.1/os-keypairs", 403)]


async def test_token_headers_never_reach_the_page(client: Client, alice: Person) -> None:
    csrf = await log_in(client, alice)
    user = {"name": alice.name, "domain": {"name": "Default"}, "password": alice.password}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    answer = await client.post(
        "/dashboard/api/identity/v3/auth/tokens", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status == 201
    assert "X-Subject-Token" not in answer.headers


async def test_the_apis_own_faults_pass_through(client: Client, alice: Person) -> None:
    await log_in(client, alice)
    missing = await client.get("/dashboard/api/compute/v2.1/servers/nope")
    assert missing.status == 404
    assert (await missing.json())["itemNotFound"]["message"]
    unknown = await client.get("/dashboard/api/nothing/v1")
    assert unknown.status == 404


async def test_logging_out_ends_the_session(client: Client, alice: Person) -> None:
    csrf = await log_in(client, alice)
    refused = await client.post("/dashboard/logout", data={"csrf_token": "forged"})
    assert refused.status == 403
    answer = await client.post(
        "/dashboard/logout", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert answer.headers["Location"] == "/dashboard/login?reason=logged_out"
    after = await client.get("/dashboard/api/compute/v2.1/servers")
    assert after.status == 401


async def test_every_process_knows_the_session(
    client: Client, alice: Person, settings: Settings, store: PostgresEventStore
) -> None:
    """Sessions live in the database: another app on it (another KUMO_WORKERS process,
    with its own memory) takes the cookie, and forgets it once the user logged out."""
    csrf = await log_in(client, alice)
    cookie = next(c.value for c in client.session.cookie_jar if c.key == "kumo_session")
    sealed = await store.pool.fetchval("SELECT sealed FROM dashboard_sessions")
    assert sealed.startswith(b"gAAAA")  # a Fernet token: the tokens are not stored in clear
    headers = {"Cookie": f"kumo_session={cookie}"}
    async with TestClient(TestServer(create_app(settings, store))) as other:
        seen = await other.get("/dashboard/api/compute/v2.1/servers", headers=headers)
        assert seen.status == 200
        assert await seen.json() == {"servers": []}
        await client.post("/dashboard/logout", data={"csrf_token": csrf}, allow_redirects=False)
        gone = await other.get("/dashboard/api/compute/v2.1/servers", headers=headers)
        assert gone.status == 401
