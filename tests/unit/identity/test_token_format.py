import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from cryptography.fernet import Fernet

from service.identity.fernet_keys import KeyRepository, KeyRing
from service.identity.token_format import (
    InvalidToken,
    ScopeKind,
    TokenCodec,
    TokenPayload,
    new_audit_id,
)

START = datetime(2030, 5, 17, 12, 0, 0, 123456, tzinfo=UTC)
HOUR = timedelta(hours=1)


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def hex_id() -> str:
    return uuid.uuid4().hex


def reason(codec: TokenCodec, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        codec.open(token)
    assert caught.value.code == 401
    return caught.value.reason


def authentic(repo: KeyRepository, data: bytes) -> str:
    return Fernet((repo.path / "1").read_bytes()).encrypt(data).decode().rstrip("=")


YEAR_3000 = (datetime(3000, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
)


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    repository = KeyRepository(tmp_path / "keys", max_active_keys=4)
    repository.ensure()
    return repository


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def codec(repo: KeyRepository, clock: ManualClock) -> TokenCodec:
    return TokenCodec(KeyRing(repo, refresh_interval=0), clock)


def test_issue_then_open_round_trips_the_payload(codec: TokenCodec) -> None:
    user, project, appcred = hex_id(), hex_id(), hex_id()
    token, payload = codec.issue(
        user,
        ["application_credential"],
        scope_kind="project",
        scope_id=project,
        application_credential_id=appcred,
    )
    assert payload == TokenPayload(
        user_id=user,
        methods=("application_credential",),
        scope_kind="project",
        scope_id=project,
        issued_at=START,
        expires_at=START + HOUR,
        audit_ids=payload.audit_ids,
        application_credential_id=appcred,
    )
    assert codec.open(token) == payload


@pytest.mark.parametrize(
    ("scope_kind", "scope_id"),
    [("unscoped", None), ("project", hex_id()), ("domain", "default"), ("system", "all")],
)
def test_every_scope_round_trips(
    codec: TokenCodec, scope_kind: ScopeKind, scope_id: str | None
) -> None:
    token, payload = codec.issue(hex_id(), ["password"], scope_kind=scope_kind, scope_id=scope_id)
    opened = codec.open(token)
    assert (opened.scope_kind, opened.scope_id) == (scope_kind, scope_id)
    assert opened == payload


@pytest.mark.parametrize(
    "odd_id",
    [
        "admin",  # not hex
        "0123456789ABCDEF0123456789ABCDEF",  # upper-case hex must stay upper case
        "0123456789abcdef0123456789abcde",  # 31 digits
        "AAAAAAAAAAAAAAAAAAAAAB",  # 22 base64url characters that are not canonical
        "é" * 16,
        "",
    ],
)
def test_ids_of_any_shape_round_trip_exactly(codec: TokenCodec, odd_id: str) -> None:
    token, _ = codec.issue(odd_id, ["password"], scope_kind="project", scope_id=odd_id)
    opened = codec.open(token)
    assert opened.user_id == odd_id
    assert opened.scope_id == odd_id


def test_datetimes_keep_microseconds_and_utc(codec: TokenCodec, clock: ManualClock) -> None:
    clock.current = datetime(2030, 1, 1, 1, 2, 3, 999_999, tzinfo=UTC)
    token, _ = codec.issue(hex_id(), ["password"])
    opened = codec.open(token)
    assert opened.issued_at == clock.current
    assert opened.issued_at.tzinfo is not None
    assert opened.issued_at.utcoffset() == timedelta(0)
    assert opened.expires_at == clock.current + HOUR


@pytest.mark.parametrize(
    ("methods", "chain", "appcred"),
    [
        (["token", "password"], new_audit_id(), None),  # rescoped
        (["application_credential"], None, hex_id()),
        (["password", "totp", "a-custom-method"], new_audit_id(), None),
    ],
)
def test_tokens_are_unpadded_urlsafe_base64_under_255_characters(
    codec: TokenCodec, methods: list[str], chain: str | None, appcred: str | None
) -> None:
    token, payload = codec.issue(
        hex_id(),
        methods,
        scope_kind="project",
        scope_id=hex_id(),
        audit_chain_id=chain,
        application_credential_id=appcred,
    )
    assert len(token) < 255
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # no "=" padding
    assert codec.open(token) == payload


def test_a_token_is_a_fernet_token_under_the_primary_key(
    codec: TokenCodec, repo: KeyRepository
) -> None:
    token, _ = codec.issue(hex_id(), ["password"])
    primary = Fernet((repo.path / "1").read_bytes())
    padded = token + "=" * (-len(token) % 4)
    assert primary.extract_timestamp(padded.encode()) == int(START.timestamp())


def test_audit_ids_are_fresh_22_character_urlsafe_strings(codec: TokenCodec) -> None:
    audit_ids = {codec.issue(hex_id(), ["password"])[1].audit_ids[0] for _ in range(50)}
    assert len(audit_ids) == 50
    for audit_id in audit_ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", audit_id)
        assert len(base64.urlsafe_b64decode(audit_id + "==")) == 16


def test_a_rescoped_token_carries_its_chain_and_keeps_the_expiry(
    codec: TokenCodec, clock: ManualClock
) -> None:
    _, original = codec.issue(hex_id(), ["password"])
    assert original.audit_chain_id == original.audit_ids[0]
    clock.current += timedelta(minutes=10)
    token, rescoped = codec.issue(
        original.user_id,
        ["token", "password"],
        scope_kind="project",
        scope_id=hex_id(),
        expires_at=original.expires_at,
        audit_chain_id=original.audit_chain_id,
    )
    assert rescoped.audit_ids == (rescoped.audit_ids[0], original.audit_ids[0])
    assert rescoped.audit_ids[0] != original.audit_ids[0]
    assert rescoped.audit_chain_id == original.audit_chain_id
    assert rescoped.expires_at == original.expires_at
    assert codec.open(token) == rescoped


def test_expiry_is_the_lifetime_unless_capped_earlier(
    repo: KeyRepository, clock: ManualClock
) -> None:
    lifetime = timedelta(minutes=5)
    codec = TokenCodec(KeyRing(repo), clock, lifetime=lifetime)
    assert codec.issue(hex_id(), ["password"])[1].expires_at == START + lifetime
    earlier, later = START + timedelta(minutes=2), START + HOUR
    assert codec.issue(hex_id(), ["password"], expires_at=earlier)[1].expires_at == earlier
    assert codec.issue(hex_id(), ["password"], expires_at=later)[1].expires_at == START + lifetime


@pytest.mark.parametrize(
    ("methods", "scope_kind", "scope_id"),
    [([], "unscoped", None), (["password"], "project", None), (["password"], "unscoped", "x")],
)
def test_inconsistent_requests_are_value_errors(
    codec: TokenCodec, methods: list[str], scope_kind: ScopeKind, scope_id: str | None
) -> None:
    with pytest.raises(ValueError):
        codec.issue(hex_id(), methods, scope_kind=scope_kind, scope_id=scope_id)


def test_a_token_expires_at_its_expiry(codec: TokenCodec, clock: ManualClock) -> None:
    token, payload = codec.issue(hex_id(), ["password"])
    clock.current = payload.expires_at - timedelta(microseconds=1)
    assert codec.open(token) == payload
    clock.current = payload.expires_at
    with pytest.raises(InvalidToken) as caught:
        codec.open(token)
    assert caught.value.reason == "expired"


def test_tampered_tokens_are_undecryptable(codec: TokenCodec) -> None:
    token, _ = codec.issue(hex_id(), ["password"])
    # Version, timestamp, IV, ciphertext, HMAC (not the last character: its low bits are
    # base64 padding, which decoding ignores).
    for position in (0, 5, 20, len(token) // 2, len(token) - 10):
        flipped = "A" if token[position] != "A" else "B"
        assert reason(codec, token[:position] + flipped + token[position + 1 :]) == (
            "undecryptable"
        )


def test_a_token_from_foreign_keys_is_undecryptable(codec: TokenCodec, tmp_path: Path) -> None:
    elsewhere = KeyRepository(tmp_path / "elsewhere")
    elsewhere.ensure()
    token, _ = TokenCodec(KeyRing(elsewhere), ManualClock(START)).issue(hex_id(), ["password"])
    assert reason(codec, token) == "undecryptable"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "not a token at all, not even base64!" * 4,
        "A" * 2000,
        "A" * 101,  # a length base64 cannot have
        "é" * 120,
    ],
)
def test_garbage_is_malformed(codec: TokenCodec, garbage: str) -> None:
    assert reason(codec, garbage) == "malformed"


def test_well_formed_garbage_is_undecryptable(codec: TokenCodec) -> None:
    assert reason(codec, "A" * 120) == "undecryptable"


def test_a_hand_made_wire_payload_opens(codec: TokenCodec, repo: KeyRepository) -> None:
    # The control for the malformed cases below: [tag, user, methods, scope kind,
    # scope id, issued at, expires at, audit ids, application credential].
    data = msgspec.msgpack.encode([1, "u", [0, "x"], 1, "p", 0, YEAR_3000, ["a"], None])
    payload = codec.open(authentic(repo, data))
    assert (payload.user_id, payload.methods, payload.scope_kind) == (
        "u",
        ("password", "x"),
        "project",
    )


@pytest.mark.parametrize(
    "wire",
    [
        [99, "a future layout"],
        [1, "u", [99], 0, None, 0, YEAR_3000, ["a"], None],  # unknown method number
        [1, "u", [0], 7, None, 0, YEAR_3000, ["a"], None],  # unknown scope kind
        [1, "u", [0], 0, None, 0, YEAR_3000, [], None],  # no audit id
        [1, "u", [0], 0, None, 0, YEAR_3000, ["a", "b", "c"], None],
        [1, msgspec.msgpack.Ext(1, b"short"), [0], 0, None, 0, YEAR_3000, ["a"], None],
        [1, msgspec.msgpack.Ext(9, bytes(16)), [0], 0, None, 0, YEAR_3000, ["a"], None],
        [1, "u", [0], 0, None, 0, 2**62, ["a"], None],  # beyond datetime's range
    ],
)
def test_an_authentic_token_with_a_foreign_payload_is_malformed(
    codec: TokenCodec, repo: KeyRepository, wire: list[object]
) -> None:
    assert reason(codec, authentic(repo, msgspec.msgpack.encode(wire))) == "malformed"


def test_an_authentic_token_that_is_not_msgpack_is_malformed(
    codec: TokenCodec, repo: KeyRepository
) -> None:
    assert reason(codec, authentic(repo, b"\xc1")) == "malformed"


def test_a_token_outlives_rotations_until_its_key_is_pruned(
    codec: TokenCodec, repo: KeyRepository
) -> None:
    token, payload = codec.issue(hex_id(), ["password"])
    repo.rotate()
    assert codec.open(token) == payload
    repo.rotate()
    assert codec.open(token) == payload
    repo.rotate()  # max_active_keys=4: key 1 goes
    assert reason(codec, token) == "undecryptable"


def test_another_process_opens_tokens_after_rotations(
    codec: TokenCodec, repo: KeyRepository, clock: ManualClock
) -> None:
    other = TokenCodec(KeyRing(KeyRepository(repo.path), refresh_interval=3600), clock)
    repo.rotate()
    repo.rotate()
    token, payload = codec.issue(hex_id(), ["password"])
    assert other.open(token) == payload


def test_trust_and_oauth1_tokens_round_trip_and_others_keep_the_first_layout(
    codec: TokenCodec, repo: KeyRepository
) -> None:
    user, project, trust, access = hex_id(), hex_id(), hex_id(), hex_id()
    token, payload = codec.issue(
        user, ["password"], scope_kind="project", scope_id=project, trust_id=trust
    )
    assert payload.trust_id == trust
    assert codec.open(token) == payload
    oauth, made = codec.issue(
        user, ["oauth1"], scope_kind="project", scope_id=project, access_token_id=access
    )
    assert made.access_token_id == access and codec.open(oauth) == made
    plain, _ = codec.issue(user, ["password"], scope_kind="project", scope_id=project)
    assert codec.open(plain).trust_id is None
    assert codec.open(plain).access_token_id is None
    ring = KeyRing(repo, refresh_interval=0)
    layouts = [
        msgspec.msgpack.decode(ring.decrypt((t + "=" * (-len(t) % 4)).encode()) or b"")[0]
        for t in (plain, token, oauth)
    ]
    assert layouts == [1, 2, 3]
