"""OAuth1 delegation (OS-OAUTH1) against a real `kumo up`, driven by the stock clients:
the `openstack` CLI registers the consumer and walks the request/authorize/access-token
dance, keystoneauth1's oauth1 plugin signs the token request; what the token carries,
and how deleting the access token or the consumer ends it."""

import json
from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import exceptions, session
from keystoneauth1.extras import oauth1
from keystoneauth1.identity import v3
from keystoneclient import exceptions as ks_exceptions
from keystoneclient.v3 import client as keystone

from tests.integration.identity.conftest import LiveCloud
from tests.integration.identity.test_clients import cli, clouds_yaml, http

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")


class Cloud:
    """The CLI as the admin or as the user the test makes (`cli-user`, member and reader
    on `cli-project`)."""

    def __init__(self, tmp_path: Path, live: LiveCloud) -> None:
        self.live = live
        self.clouds = clouds_yaml(tmp_path, live)
        self.project_id = ""
        self.role_ids: dict[str, str] = {}

    def run(self, who: str, *args: str, ok: bool = True) -> Any:
        result = cli(self.clouds, "--os-cloud", who, *args, "-f", "json", ok=ok)
        return json.loads(result.stdout) if ok else result

    def token(self, who: str) -> str:
        return str(self.run(who, "token", "issue")["id"])

    def authorize(self, request_key: str, role: str) -> str:
        """The user authorizes the request token for `role` with python-keystoneclient
        (the CLI would look the role up, which only admins may); the verifier."""
        auth = v3.Password(
            auth_url=self.live.auth_url, username="cli-user", password="cli-pw-1",
            project_id=self.project_id, user_domain_id="default",
        )  # fmt: skip
        client = keystone.Client(session=session.Session(auth=auth))
        authorized = client.oauth1.request_tokens.authorize(request_key, [self.role_ids[role]])
        return str(authorized.oauth_verifier)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, live_cloud: LiveCloud) -> Cloud:
    made = Cloud(tmp_path_factory.mktemp("oauth1"), live_cloud)
    made.project_id = made.run("admin", "project", "create", "cli-project")["id"]
    made.run("admin", "user", "create", "--password", "cli-pw-1", "cli-user")
    for role in ("member", "reader", "admin"):
        made.role_ids[role] = made.run("admin", "role", "show", role)["id"]
    for role in ("member", "reader"):
        cli(made.clouds, "--os-cloud", "admin", "role", "add", "--user", "cli-user",
            "--project", "cli-project", role)  # fmt: skip
    return made


def _delegate(cloud: Cloud, consumer: dict[str, Any], role: str) -> dict[str, Any]:
    """The CLI's dance: request token, authorized by the user for `role`, exchanged."""
    keys = ("--consumer-key", consumer["id"], "--consumer-secret", consumer["secret"])
    request = cloud.run("user", "request", "token", "create", *keys, "--project", cloud.project_id)
    verifier = cloud.authorize(request["key"], role)
    access: dict[str, Any] = cloud.run(
        "user", "access", "token", "create", *keys, "--request-key", request["key"],
        "--request-secret", request["secret"], "--verifier", verifier,
    )  # fmt: skip
    return access


def _oauth_session(cloud: Cloud, consumer: dict[str, Any], access: dict[str, Any]) -> Any:
    plugin = oauth1.V3OAuth1(
        cloud.live.auth_url, consumer_key=consumer["id"], consumer_secret=consumer["secret"],
        access_key=access["key"], access_secret=access["secret"],
    )  # fmt: skip
    return session.Session(auth=plugin)


def _validate(cloud: Cloud, token: str) -> tuple[int, Any]:
    url = f"{cloud.live.auth_url}/auth/tokens"
    return http(url, **{"X-Auth-Token": cloud.token("admin"), "X-Subject-Token": token})


def test_a_consumer_gets_the_users_token_with_only_the_delegated_role(cloud: Cloud) -> None:
    consumer = cloud.run("admin", "consumer", "create", "--description", "backup app")
    assert consumer["secret"] and consumer["description"] == "backup app"
    access = _delegate(cloud, consumer, "reader")
    token = _oauth_session(cloud, consumer, access).get_token()
    status, body = _validate(cloud, token)
    assert status == 200, body
    issued = body["token"]
    assert issued["methods"] == ["oauth1"]
    assert issued["user"]["name"] == "cli-user" and issued["project"]["name"] == "cli-project"
    assert [r["name"] for r in issued["roles"]] == ["reader"]  # not member
    assert issued["OS-OAUTH1"] == {"access_token_id": access["key"], "consumer_id": consumer["id"]}

    user_id = issued["user"]["id"]
    path = f"{cloud.live.auth_url}/users/{user_id}/OS-OAUTH1/access_tokens"
    as_user = {"X-Auth-Token": cloud.token("user")}
    status, listed = http(path, **as_user)
    assert status == 200 and [a["id"] for a in listed["access_tokens"]] == [access["key"]]
    status, roles = http(f"{path}/{access['key']}/roles", **as_user)
    assert [r["name"] for r in roles["roles"]] == ["reader"]
    # the delegated token cannot delegate further, nor see the user's access tokens
    assert http(path, **{"X-Auth-Token": token})[0] == 403
    status, _ = http(f"{path}/{access['key']}", "DELETE", **as_user)
    assert status == 204
    assert _validate(cloud, token)[0] == 404  # the token ended with its access token
    with pytest.raises(exceptions.Unauthorized):
        _oauth_session(cloud, consumer, access).get_token()


def test_deleting_the_consumer_ends_its_access_tokens(cloud: Cloud) -> None:
    consumer = cloud.run("admin", "consumer", "create")
    access = _delegate(cloud, consumer, "member")
    token = _oauth_session(cloud, consumer, access).get_token()
    assert _validate(cloud, token)[0] == 200
    cli(cloud.clouds, "--os-cloud", "admin", "consumer", "delete", consumer["id"])
    assert _validate(cloud, token)[0] == 404
    url = f"{cloud.live.auth_url}/OS-OAUTH1/consumers/{consumer['id']}"
    assert http(url, **{"X-Auth-Token": cloud.token("admin")})[0] == 404


def test_signatures_secrets_and_verifiers_are_checked(cloud: Cloud) -> None:
    consumer = cloud.run("admin", "consumer", "create")
    forged = ("--consumer-key", consumer["id"], "--consumer-secret", "not-the-secret")
    refused = cloud.run(
        "user", "request", "token", "create", *forged, "--project", cloud.project_id, ok=False
    )
    assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr
    keys = ("--consumer-key", consumer["id"], "--consumer-secret", consumer["secret"])
    request = cloud.run("user", "request", "token", "create", *keys, "--project", cloud.project_id)
    exchange = (*keys, "--request-key", request["key"], "--request-secret", request["secret"])
    early = cloud.run("user", "access", "token", "create", *exchange, "--verifier", "x", ok=False)
    assert early.returncode != 0 and "401" in early.stderr  # not authorized yet
    cloud.authorize(request["key"], "member")
    wrong = cloud.run("user", "access", "token", "create", *exchange, "--verifier", "x", ok=False)
    assert wrong.returncode != 0 and "401" in wrong.stderr, wrong.stderr
    # a role the user does not hold on the project cannot be delegated
    other = cloud.run("user", "request", "token", "create", *keys, "--project", cloud.project_id)
    with pytest.raises(ks_exceptions.Unauthorized):
        cloud.authorize(other["key"], "admin")


def test_only_admins_manage_consumers_and_their_secret_is_kept(cloud: Cloud) -> None:
    refused = cloud.run("user", "consumer", "create", ok=False)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    consumer = cloud.run("admin", "consumer", "create", "--description", "one")
    cli(cloud.clouds, "--os-cloud", "admin", "consumer", "set", "--description", "two",
        consumer["id"])  # fmt: skip
    shown = cloud.run("admin", "consumer", "show", consumer["id"])
    assert shown["description"] == "two" and "secret" not in shown
    url = f"{cloud.live.auth_url}/OS-OAUTH1/consumers/{consumer['id']}"
    admin = {"X-Auth-Token": cloud.token("admin")}
    status, _ = http(url, "PATCH", {"consumer": {"secret": "mine"}}, **admin)
    assert status == 400
    # the secret still signs: it was not changed
    assert _delegate(cloud, consumer, "member")["key"]
