"""The CADF builder: actions, outcomes and verdicts from HTTP calls, targets from paths,
and the document Keystone's audit notifications would carry."""

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from events.types import Actor, Metadata, RecordedEvent
from service.audit.cadf import action_of, outcome_of, to_cadf, verdict
from service.audit.events import AuditRecorded, Initiator, Target
from service.audit.targets import path_target
from service.objects.naming import object_stream


@pytest.mark.parametrize(
    ("method", "route", "action"),
    [
        ("POST", "/compute/v2.1/servers", "create"),
        ("POST", "/compute/v2.1/servers/{server_id}/action", "update"),
        ("POST", "/image/v2/images/{image_id}/actions/deactivate", "update/deactivate"),
        ("POST", "/identity/v3/users/{user_id}/password", "update/password"),
        ("POST", "/object/v1/AUTH_{project_id}/{container}", "update"),
        ("POST", "/identity/v3/auth/tokens", "authenticate"),
        ("POST", None, "create"),
        ("PUT", "/image/v2/images/{image_id}/file", "update"),
        ("PATCH", "/identity/v3/projects/{project_id}", "update"),
        ("DELETE", "/compute/v2.1/servers/{server_id}", "delete"),
        ("COPY", "/object/v1/AUTH_{project_id}/{container}/{object}", "create"),
        ("GET", "/identity/v3/users", "read"),
        ("HEAD", None, "read"),
    ],
)
def test_actions_follow_the_method_and_route(method: str, route: str | None, action: str) -> None:
    assert action_of(method, route) == action


@pytest.mark.parametrize(
    ("action", "status", "outcome", "kind"),
    [
        ("create", 201, "success", "success"),
        ("create", 202, "pending", "pending"),
        ("delete", 204, "success", "success"),
        ("update", 409, "failure", "failure"),
        ("create", 403, "failure", "denied"),
        ("read", 401, "failure", "denied"),
        ("authenticate", 401, "failure", "failure"),
        ("update", 499, "unknown", "unknown"),
        ("create", 500, "failure", "failure"),
    ],
)
def test_outcomes_and_verdicts(action: str, status: int, outcome: str, kind: str) -> None:
    assert outcome_of(status) == outcome
    assert verdict(action, status) == kind


@pytest.mark.parametrize(
    ("api", "prefix", "path", "route", "target"),
    [
        (
            "compute",
            "/compute",
            "/compute/v2.1/servers/s1/action",
            "/compute/v2.1/servers/{server_id}/action",
            Target("server", "s1"),
        ),
        ("compute", "/compute", "/compute/v2.1/servers", "/compute/v2.1/servers", Target("server")),
        (
            "compute",
            "/compute",
            "/compute/v2.1/os-keypairs/k1",
            "/compute/v2.1/os-keypairs/{name}",
            Target("keypair", "k1"),
        ),
        (
            "identity",
            "/identity",
            "/identity/v3/projects/p1/users/u1/roles/r1",
            "/identity/v3/{targets}/{target_id}/{actors}/{actor_id}/roles/{role_id}",
            Target("project", "p1"),
        ),
        (
            "identity",
            "/identity",
            "/identity/v3/users/u1/application_credentials",
            "/identity/v3/users/{user_id}/application_credentials",
            Target("user", "u1"),
        ),
        (
            "network",
            "/network",
            "/network/v2.0/security-groups/g1",
            "/network/v2.0/security-groups/{id}",
            Target("secgroup", "g1"),
        ),
        ("compute", "/compute", "/compute/v2.1/servers/nothing/here", None, Target("server")),
        ("image", "/image", "/image/", None, Target("image")),
    ],
)
def test_a_path_names_its_first_resource(
    api: str, prefix: str, path: str, route: str | None, target: Target
) -> None:
    values = {"server_id": "s1", "name": "k1", "target_id": "p1", "user_id": "u1", "id": "g1"}
    assert path_target(api, prefix, path, route, values) == target


def test_swift_paths_name_the_object_by_its_stream() -> None:
    values = {"project_id": "p1", "container": "c", "object": "a/b"}
    target = path_target("object", "/object", "/object/v1/AUTH_p1/c/a/b", "", values)
    assert target == Target("object", object_stream("p1", "c", "a/b").split("-", 1)[1], "p1")
    account = path_target("object", "/object", "/object/v1/AUTH_p1", "", {"project_id": "p1"})
    assert account == Target("swiftaccount", "p1", "p1")


def test_the_document_has_keystones_cadf_shape() -> None:
    record = AuditRecorded(
        action="create",
        outcome="success",
        status=201,
        observer="compute",
        method="POST",
        path="/compute/v2.1/servers",
        initiator=Initiator(
            user_id="u1",
            user_name="alice",
            project_id="p1",
            domain_id="d",
            roles=("member", "reader"),
            address="10.0.0.1",
            agent="curl/8",
        ),
        target=Target("server", "s1"),
    )
    event_id = uuid.UUID(int=7)
    recorded = RecordedEvent(
        position=42,
        stream_id="audit-req-1",
        version=1,
        event_id=event_id,
        type="AuditRecorded",
        schema_version=1,
        recorded_at=datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC),
        metadata=Metadata(actor=Actor(user_id="u1"), request_id="req-1"),
        event=record,
    )

    document = msgspec.json.decode(msgspec.json.encode(to_cadf(recorded, record, "p1")))

    assert document == {
        "typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/event",
        "id": str(event_id),
        "eventType": "activity",
        "eventTime": "2026-01-31T12:00:00.123456Z",
        "action": "create",
        "outcome": "success",
        "reason": {"reasonType": "HTTP", "reasonCode": "201"},
        "initiator": {
            "typeURI": "service/security/account/user",
            "id": "u1",
            "name": "alice",
            "project_id": "p1",
            "domain_id": "d",
            "roles": ["member", "reader"],
            "host": {"address": "10.0.0.1", "agent": "curl/8"},
        },
        "target": {"typeURI": "data/compute/server", "id": "s1", "project_id": "p1"},
        "observer": {"typeURI": "service/compute", "id": "kumo-compute"},
        "requestPath": "/compute/v2.1/servers",
        "method": "POST",
        "request_id": "req-1",
        "position": 42,
    }


def test_an_anonymous_failed_login_names_the_user_it_claimed() -> None:
    record = AuditRecorded(
        action="authenticate",
        outcome="failure",
        status=401,
        observer="identity",
        method="POST",
        path="/identity/v3/auth/tokens",
        initiator=Initiator(user_name="mallory", address="10.0.0.2"),
        target=Target("user"),
    )
    recorded = RecordedEvent(
        position=1,
        stream_id="audit-req-2",
        version=1,
        event_id=uuid.UUID(int=1),
        type="AuditRecorded",
        schema_version=1,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        metadata=Metadata(request_id="req-2"),
        event=record,
    )

    document = to_cadf(recorded, record, None)

    assert document.initiator.id == "unknown"
    assert document.initiator.name == "mallory"
    assert document.target.type_uri == "service/security/account/user"
    assert document.observer.type_uri == "service/security"
    assert document.reason.reason_code == "401"
