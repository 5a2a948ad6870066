"""`kumo verify`: after real API activity on a `kumo up` (openstacksdk: identity, images,
objects, servers on libvirt's test driver) every read model matches its rebuild from the
log, and rows changed by hand in live tables are reported. Sync tests: the client blocks."""

import asyncio
import io
import re
import subprocess
from collections.abc import Iterator

import asyncpg
import openstack
import pytest

from projections.bulk import Folded, Rebuilt
from service.read_models import catalog
from tests.cli_runner import run_cli
from tests.integration.identity.conftest import LiveCloud, live_cloud

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")
__all__ = ["live_cloud"]


class Activity:
    """What the activity made: ids the tests tamper with."""

    def __init__(self, server_id: str, image_id: str, project_id: str) -> None:
        self.server_id = server_id
        self.image_id = image_id
        self.project_id = project_id


@pytest.fixture(scope="module")
def activity(live_cloud: LiveCloud, tmp_path_factory: pytest.TempPathFactory) -> Activity:
    """A little of everything through the API: a project and user with a role, a key pair,
    an uploaded image, a metadefs namespace with contents, a container with objects, one
    server kept (with the key pair) and one deleted, host aggregates and quotas."""
    cloud = openstack.connect(
        auth_url=live_cloud.auth_url, username="admin", password=live_cloud.admin_password,
        project_name="admin", user_domain_id="default", project_domain_id="default",
        region_name="RegionOne", load_yaml_config=False, load_envvars=False,
    )  # fmt: skip
    project = cloud.identity.create_project(name="verify-p", description="checked")
    user = cloud.identity.create_user(name="verify-u", password="pw-verify-1")
    member = cloud.identity.find_role("member")
    cloud.identity.assign_project_role_to_user(project, user, member)
    cloud.identity.update_project(project, description="checked again")
    for password in ("wrong-1", "pw-verify-1", "wrong-2"):  # the user's row counts failures
        login(live_cloud, "verify-u", password, succeeds=password.startswith("pw"))
    cloud.identity.update_user(user, password="pw-verify-2")  # which the new password zeroes
    login(live_cloud, "verify-u", "wrong-3", succeeds=False)
    kept = cloud.identity.create_credential(type="cert", blob="kept", user_id=user.id)
    cloud.identity.update_credential(kept, blob="kept, renewed", project_id=project.id)
    dropped = cloud.identity.create_credential(type="totp", blob="dropped", user_id=user.id)
    cloud.identity.delete_credential(dropped)
    policy = cloud.identity.create_policy(type="application/json", blob="{}")
    cloud.identity.update_policy(policy, blob='{"rule": "admin"}')
    image_service = next(cloud.identity.services(type="image"))
    group = cloud.identity.create_endpoint_group(
        name="verify-eg", filters={"service_id": image_service.id}
    )
    cloud.identity.associate_project_with_endpoint_group(group, project)
    image_endpoint = next(cloud.identity.endpoints(service_id=image_service.id))
    cloud.identity.associate_endpoint_with_project(project, image_endpoint)
    me = cloud.current_user_id
    ips = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}
    flavors = {"service": "compute", "method": "GET", "path": "/v2.1/flavors"}
    ruled = cloud.identity.create_application_credential(me, "verify-ac", access_rules=[ips])
    unused = cloud.identity.create_application_credential(me, "drop-ac", access_rules=[flavors])
    cloud.identity.delete_application_credential(me, unused)
    cloud.identity.delete_access_rule(me, unused.access_rules[0]["id"])
    assert ruled.access_rules[0]["path"] == ips["path"]
    admin_project = cloud.current_project_id
    delegation = {"trustor_user_id": me, "trustee_user_id": user.id, "project_id": admin_project}
    reader = [{"name": "reader"}]
    trust = cloud.identity.create_trust(
        **delegation, impersonation=False, roles=reader, remaining_uses=3
    )
    trustee = {"username": "verify-u", "password": "pw-verify-2", "user_domain_id": "default"}
    trusted = openstack.connect(
        auth_url=live_cloud.auth_url,
        trust_id=trust.id,
        load_yaml_config=False,
        load_envvars=False,
        **trustee,
    )
    trusted.authorize()  # one use of the trust counted
    gone = cloud.identity.create_trust(**delegation, impersonation=True, roles=reader)
    cloud.identity.delete_trust(gone)
    cloud.compute.create_keypair(name="verify-key")

    disk = tmp_path_factory.mktemp("img") / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    image = cloud.image.create_image(
        name="verify-image", disk_format="qcow2", container_format="bare", visibility="public"
    )
    endpoint = cloud.session.get_endpoint(service_type="image", interface="public")
    uploaded = cloud.session.put(
        f"{endpoint}/v2/images/{image.id}/file",
        data=disk.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 204

    associations = [{"name": "OS::Glance::Image", "prefix": "v_"}]
    namespace = cloud.image.create_metadef_namespace(
        namespace="verify-ns", visibility="public", resource_type_associations=associations
    )
    cloud.image.create_metadef_object(namespace, name="o", description="checked")
    cloud.image.update_metadef_object("o", namespace, name="o2")
    cloud.image.create_metadef_property(namespace, name="p", title="P", type="string")

    cloud.object_store.create_container(name="evidence")
    cloud.object_store.upload_object("evidence", "a.txt", data=b"first")
    cloud.object_store.upload_object("evidence", "b.txt", data=b"second" * 100)
    cloud.object_store.delete_object("a.txt", container="evidence")
    cloud.object_store.set_container_metadata("evidence", kept="yes")
    cloud.object_store.set_account_metadata(owner="verify")

    group = cloud.network.create_security_group(name="verify-sg", description="checked")
    ssh = cloud.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp",
        port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8",
    )  # fmt: skip
    cloud.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="icmp"
    )
    cloud.network.delete_security_group_rule(ssh)
    gone_group = cloud.network.create_security_group(name="verify-sg-gone")
    cloud.network.delete_security_group(gone_group)

    flavor = cloud.compute.find_flavor("m1.nano")
    # from compute 2.37 a server names its networks ("auto": the project's own)
    kept = cloud.compute.create_server(
        name="kept", image_id=image.id, flavor_id=flavor.id, networks="auto", key_name="verify-key"
    )
    gone = cloud.compute.create_server(
        name="gone", image_id=image.id, flavor_id=flavor.id, networks="auto"
    )
    kept = cloud.compute.wait_for_server(kept, status="ACTIVE", wait=60)
    gone = cloud.compute.wait_for_server(gone, status="ACTIVE", wait=60)
    cloud.compute.stop_server(kept)
    cloud.compute.wait_for_server(kept, status="SHUTOFF", wait=60)
    cloud.compute.lock_server(kept)
    cloud.compute.unlock_server(kept)
    cloud.compute.delete_server(gone)
    cloud.compute.wait_for_delete(gone, wait=60)

    host = next(iter(cloud.compute.hypervisors())).name
    aggregate = cloud.compute.create_aggregate(name="verify-agg")
    cloud.compute.add_host_to_aggregate(aggregate, host)
    cloud.compute.set_aggregate_metadata(aggregate, {"ssd": "yes", "gpu": "no"})
    cloud.compute.set_aggregate_metadata(aggregate, {"gpu": None})
    cloud.compute.delete_aggregate(cloud.compute.create_aggregate(name="verify-agg-gone"))
    cloud.compute.update_quota_class_set("default", instances=30)
    cloud.compute.update_quota_set(project.id, cores=7, ram=4096)
    cloud.compute.revert_quota_set(project.id)
    return Activity(str(kept.id), str(image.id), str(project.id))


def login(cloud: LiveCloud, user: str, password: str, *, succeeds: bool) -> None:
    """Sign in as `user` with `password` (unscoped), expecting it to succeed or be refused."""
    attempt = openstack.connect(
        auth_url=cloud.auth_url, username=user, password=password, user_domain_id="default",
        load_yaml_config=False, load_envvars=False,
    )  # fmt: skip
    if succeeds:
        attempt.authorize()
    else:
        with pytest.raises(openstack.exceptions.SDKException, match="HTTP 401"):
            attempt.authorize()


@pytest.fixture
def kumo_on_the_cloud(
    live_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> Iterator[str]:
    """The `kumo` command pointed at the live cloud's database."""
    monkeypatch.setenv("KUMO_DATABASE_URL", live_cloud.database_url)
    yield live_cloud.database_url


def sql(url: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def test_after_real_activity_every_read_model_matches_the_log(
    activity: Activity, kumo_on_the_cloud: str
) -> None:
    code, output = run_cli("verify")
    assert (code, output) == (0, f"all {len(catalog())} read models match the log\n")
    code, output = run_cli("verify", "--chain")
    assert code == 0 and re.fullmatch(r"\d+ events, chain intact \(\d+ streams\)\n", output)


def test_every_model_rebuilt_in_bulk_equals_the_live_tables(
    activity: Activity, kumo_on_the_cloud: str
) -> None:
    """Every model rebuilds without replaying the log event by event (by its folds and
    COPY, or by SQL over the log: projections/bulk.py), and gives back the rows its
    live application wrote, row for row: for the inline models, the rows written in each
    append's transaction."""
    models = {n: m.projection for n, m in catalog().items()}
    assert all(isinstance(p, Folded | Rebuilt) for p in models.values())
    tables = [t for projection in models.values() for t in projection.tables]
    live = table_rows(kumo_on_the_cloud, tables)
    for table in (
        "rm_images", "rm_servers", "rm_instance_actions", "rm_security_groups",
        "rm_security_group_rules", "rm_ports", "rm_ip_allocations", "rm_swift_objects",
        "rm_swift_accounts", "rm_swift_container_slots", "rm_host_claims", "rm_users",
        "rm_audit", "rm_streams", "rm_metadef_namespaces", "rm_metadef_resource_types",
    ):  # fmt: skip
        assert live[table], table
    for name in models:
        assert run_cli("projections", "rebuild", name)[0] == 0
    assert table_rows(kumo_on_the_cloud, tables) == live


def table_rows(url: str, tables: list[str]) -> dict[str, list[tuple[object, ...]]]:
    """Every row of each table, in one order."""

    async def run() -> dict[str, list[tuple[object, ...]]]:
        conn = await asyncpg.connect(url)
        try:
            return {
                t: sorted((tuple(r) for r in await conn.fetch(f"SELECT * FROM {t}")), key=repr)
                for t in tables
            }
        finally:
            await conn.close()

    return asyncio.run(run())


def test_rows_changed_by_hand_are_reported_until_the_models_are_rebuilt(
    activity: Activity, kumo_on_the_cloud: str
) -> None:
    sql(
        kumo_on_the_cloud,
        f"UPDATE rm_servers SET name = 'forged', vm_state = 'active'"
        f" WHERE id = '{activity.server_id}'",
        f"DELETE FROM rm_images WHERE id = '{activity.image_id}'",
        "INSERT INTO rm_quota_usage (project_id, instances) VALUES ('ghost', 3)",
    )
    code, output = run_cli("verify")
    assert code == 1
    lines = output.splitlines()
    assert (
        f"  rm_servers row (id={activity.server_id}) differs from the log:"
        " name: live 'forged', log 'kept'; vm_state: live 'active', log 'stopped'"
    ) in lines
    assert f"  rm_images row (id={activity.image_id}) is in the log but missing" in output
    assert (
        "  rm_quota_usage row (project_id=ghost) is in the live table but not in the log" in lines
    )
    assert lines[-1] == "3 row(s) in 3 table(s) do not match the log"

    assert run_cli("projections", "rebuild", "--all")[0] == 0
    assert run_cli("verify") == (0, f"all {len(catalog())} read models match the log\n")
