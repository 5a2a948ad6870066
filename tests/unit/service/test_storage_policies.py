"""Storage policies (service/objects/policy.py): choosing one by X-Storage-Policy, the
account's per-policy headers, the policies the settings make, and containers' policies
in their events and fold, old events included."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from events.codec import decode_event
from events.types import Event, Metadata, RecordedEvent
from projections.rows import fold
from service.config import load_settings
from service.errors import BadRequest
from service.objects import events as ev
from service.objects import fold as rows
from service.objects.policy import UnknownPolicy, Usage, configured
from service.storage.localfs import LocalFsBackend


def test_the_settings_make_policy_0_and_the_declared_ones(tmp_path: Path) -> None:
    objects = LocalFsBackend(tmp_path / "objects")
    settings = load_settings(
        {"KUMO_DATA_DIR": str(tmp_path), "KUMO_OBJECT_POLICIES": "gold=local,cold=local:/x"}
    )
    policies = configured(settings, objects)
    assert [p.name for p in policies] == ["Policy-0", "gold", "cold"]
    assert policies.default == "Policy-0"
    assert policies.backend("Policy-0") is objects
    gold, cold = policies.backend("gold"), policies.backend("cold")
    assert isinstance(gold, LocalFsBackend) and gold.root == tmp_path / "policies" / "gold"
    assert isinstance(cold, LocalFsBackend) and cold.root == Path("/x")
    with pytest.raises(UnknownPolicy, match="'silver' is not configured"):
        policies.backend("silver")
    alone = configured(load_settings({"KUMO_DATA_DIR": str(tmp_path)}), objects)
    assert [(p.name, p.backend) for p in alone] == [("Policy-0", objects)]


def test_x_storage_policy_names_one_regardless_of_case(tmp_path: Path) -> None:
    policies = configured(
        load_settings({"KUMO_DATA_DIR": str(tmp_path), "KUMO_OBJECT_POLICIES": "Gold=local"}),
        LocalFsBackend(tmp_path / "objects"),
    )
    assert policies.chosen({"X-Storage-Policy": "gOLD"}) == "Gold"
    assert policies.chosen({"X-Storage-Policy": " policy-0 "}) == "Policy-0"
    assert policies.chosen({}) is None
    assert policies.chosen({"X-Storage-Policy": ""}) is None
    with pytest.raises(BadRequest, match="Invalid X-Storage-Policy 'silver'"):
        policies.chosen({"X-Storage-Policy": "silver"})


def test_the_account_shows_every_policy_and_any_other_its_containers_are_in(
    tmp_path: Path,
) -> None:
    policies = configured(
        load_settings({"KUMO_DATA_DIR": str(tmp_path), "KUMO_OBJECT_POLICIES": "gold=local"}),
        LocalFsBackend(tmp_path / "objects"),
    )
    headers = policies.account_headers([Usage("gold", 2, 3, 4), Usage("gone", 1, 0, 0)])
    assert headers == {
        "X-Account-Storage-Policy-Policy-0-Container-Count": "0",
        "X-Account-Storage-Policy-Policy-0-Object-Count": "0",
        "X-Account-Storage-Policy-Policy-0-Bytes-Used": "0",
        "X-Account-Storage-Policy-gold-Container-Count": "2",
        "X-Account-Storage-Policy-gold-Object-Count": "3",
        "X-Account-Storage-Policy-gold-Bytes-Used": "4",
        "X-Account-Storage-Policy-gone-Container-Count": "1",
        "X-Account-Storage-Policy-gone-Object-Count": "0",
        "X-Account-Storage-Policy-gone-Bytes-Used": "0",
    }


def test_a_creation_from_before_policies_is_policy_0s() -> None:
    old = b'{"project_id": "p", "container": "c", "metadata": {}}'
    event = decode_event("ContainerCreated", 1, old)
    assert isinstance(event, ev.ContainerCreated) and event.storage_policy == "Policy-0"


def _log(*events: Event) -> list[RecordedEvent]:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    return [
        RecordedEvent(
            position=n,
            stream_id="container-1",
            version=n,
            event_id=uuid.UUID(int=n),
            type=e.type_name(),
            schema_version=1,
            recorded_at=at,
            metadata=Metadata(),
            event=e,
        )
        for n, e in enumerate(events, 1)
    ]


def test_a_container_keeps_the_policy_it_was_created_under() -> None:
    created = ev.ContainerCreated(project_id="p", container="c", storage_policy="gold")
    again = ev.ContainerCreated(project_id="p", container="c", storage_policy="cold")
    deleted = ev.ContainerDeleted(project_id="p", container="c")
    row = fold(rows.container, _log(created, again))
    assert row is not None and row["storage_policy"] == "gold"
    row = fold(rows.container, _log(created, deleted, again))
    assert row is not None and row["storage_policy"] == "cold"
