"""Kumo's tokens: Fernet tokens, as Keystone's, carrying a small msgpack payload.

Token strings are the Fernet token without its `=` padding (URL-safe base64). To stay
well under the 255 characters clients expect, ids of 32 hex digits and 22-character audit
ids travel as their 16 bytes and Keystone's method names as small numbers: 162
characters unscoped, 183 project-scoped, 226 rescoped or from an application credential.
"""

import base64
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta
from msgspec.msgpack import Ext

from events.clock import Clock
from service.errors import Unauthorized
from service.identity.fernet_keys import KeyRing

ScopeKind = Literal["unscoped", "project", "domain", "system"]
InvalidReason = Literal["malformed", "undecryptable", "expired"]

DEFAULT_LIFETIME = timedelta(hours=1)


class InvalidToken(Unauthorized):
    """A token that cannot be used; `reason` says why: malformed, undecryptable (no
    active key opens it: tampered, forged, or its key was rotated out) or expired."""

    def __init__(self, reason: InvalidReason) -> None:
        super().__init__()
        self.reason: InvalidReason = reason


class TokenPayload(msgspec.Struct, frozen=True):
    """What a token says. `audit_ids` is Keystone's: this token's own audit id and, for a
    token obtained by rescoping, the audit id of the chain's first token."""

    user_id: str
    methods: tuple[str, ...]
    scope_kind: ScopeKind
    scope_id: str | None
    issued_at: datetime
    expires_at: datetime
    audit_ids: tuple[str, ...]
    application_credential_id: str | None = None
    trust_id: str | None = None
    access_token_id: str | None = None
    """The OAuth1 access token the token was made with (OS-OAUTH1)."""

    @property
    def audit_chain_id(self) -> str:
        """The audit id shared by this token and every token rescoped from its chain."""
        return self.audit_ids[-1]


def new_audit_id() -> str:
    """A fresh audit id: 16 random bytes, URL-safe base64 without padding (22 characters)."""
    return secrets.token_urlsafe(16)


class TokenCodec:
    """Issues and opens tokens with the keys of a KeyRing and the time of a Clock."""

    def __init__(
        self, key_ring: KeyRing, clock: Clock, *, lifetime: timedelta = DEFAULT_LIFETIME
    ) -> None:
        self._ring = key_ring
        self._clock = clock
        self._lifetime = lifetime

    def issue(
        self,
        user_id: str,
        methods: Sequence[str],
        *,
        scope_kind: ScopeKind = "unscoped",
        scope_id: str | None = None,
        application_credential_id: str | None = None,
        trust_id: str | None = None,
        access_token_id: str | None = None,
        expires_at: datetime | None = None,
        audit_chain_id: str | None = None,
    ) -> tuple[str, TokenPayload]:
        """A new token and its payload, expiring after the codec's lifetime or at
        `expires_at` if earlier. A rescoped token passes the original's `expires_at` and
        `audit_chain_id` (Keystone keeps both). ValueError if `methods` is empty, or if
        `scope_id` is given for an unscoped token or missing for a scoped one."""
        if not methods:
            raise ValueError("a token needs at least one authentication method")
        if (scope_kind == "unscoped") != (scope_id is None):
            raise ValueError(f"scope {scope_kind!r} with scope id {scope_id!r}")
        now = self._clock.now().astimezone(UTC)
        default_expiry = now + self._lifetime
        own_audit_id = new_audit_id()
        payload = TokenPayload(
            user_id=user_id,
            methods=tuple(methods),
            scope_kind=scope_kind,
            scope_id=scope_id,
            issued_at=now,
            expires_at=default_expiry if expires_at is None else min(default_expiry, expires_at),
            audit_ids=(own_audit_id,) if audit_chain_id is None else (own_audit_id, audit_chain_id),
            application_credential_id=application_credential_id,
            trust_id=trust_id,
            access_token_id=access_token_id,
        )
        fernet_token = self._ring.encrypt(_ENCODER.encode(_to_wire(payload)), int(now.timestamp()))
        return fernet_token.decode("ascii").rstrip("="), payload

    def open(self, token: str) -> TokenPayload:
        """The payload of a token this codec (or one sharing its keys) issued. Raises
        InvalidToken for any token that is malformed, was not made with an active key, or
        has expired; KeyRepositoryError only if the key folder itself is broken."""
        if not _TOKEN_SHAPE.fullmatch(token) or len(token) % 4 == 1:
            raise InvalidToken("malformed")
        data = self._ring.decrypt((token + "=" * (-len(token) % 4)).encode("ascii"))
        if data is None:
            raise InvalidToken("undecryptable")
        try:
            payload = _from_wire(_DECODER.decode(data))
        except (msgspec.DecodeError, ValueError, OverflowError) as e:
            raise InvalidToken("malformed") from e
        if self._clock.now() >= payload.expires_at:
            raise InvalidToken("expired")
        return payload


# A Fernet token has at least 73 bytes (version, time, IV, one AES block, HMAC): 98
# base64 characters. Our payloads stay far below the upper bound.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{98,1024}")

_Packed = Ext | str
_SCOPE_KINDS: tuple[ScopeKind, ...] = get_args(ScopeKind)
# Append only: a method's number is its position here.
_METHODS = ("password", "token", "application_credential", "totp", "mapped", "oauth1", "external")
_MethodNumber = Annotated[int, Meta(ge=0, lt=len(_METHODS))]


class _WireV1(msgspec.Struct, array_like=True, frozen=True, tag=1):
    """The payload on the wire. A new layout is a new tagged struct; never change this."""

    user_id: _Packed
    methods: tuple[_MethodNumber | str, ...]
    scope_kind: Annotated[int, Meta(ge=0, lt=len(_SCOPE_KINDS))]
    scope_id: _Packed | None
    issued_at: int
    expires_at: int
    audit_ids: Annotated[tuple[_Packed, ...], Meta(min_length=1, max_length=2)]
    application_credential_id: _Packed | None


class _WireV2(_WireV1, array_like=True, frozen=True, tag=2):
    """V1 and the trust a token is scoped to (V1 stays the layout of every other token)."""

    trust_id: _Packed


class _WireV3(_WireV1, array_like=True, frozen=True, tag=3):
    """V1 and the OAuth1 access token a token was made with."""

    access_token_id: _Packed


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_WireV1 | _WireV2 | _WireV3)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_HEX_EXT, _BASE64_EXT = 1, 2
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_BASE64_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def _to_wire(payload: TokenPayload) -> _WireV1 | _WireV2 | _WireV3:
    v1 = _WireV1(
        user_id=_pack(payload.user_id),
        methods=tuple(_METHODS.index(m) if m in _METHODS else m for m in payload.methods),
        scope_kind=_SCOPE_KINDS.index(payload.scope_kind),
        scope_id=_pack_optional(payload.scope_id),
        issued_at=(payload.issued_at - _EPOCH) // _MICROSECOND,
        expires_at=(payload.expires_at - _EPOCH) // _MICROSECOND,
        audit_ids=tuple(_pack(audit_id) for audit_id in payload.audit_ids),
        application_credential_id=_pack_optional(payload.application_credential_id),
    )
    if payload.trust_id is not None:
        return _WireV2(**msgspec.structs.asdict(v1), trust_id=_pack(payload.trust_id))
    if payload.access_token_id is not None:
        access_token_id = _pack(payload.access_token_id)
        return _WireV3(**msgspec.structs.asdict(v1), access_token_id=access_token_id)
    return v1


def _from_wire(wire: _WireV1 | _WireV2 | _WireV3) -> TokenPayload:
    return TokenPayload(
        user_id=_unpack(wire.user_id),
        methods=tuple(m if isinstance(m, str) else _METHODS[m] for m in wire.methods),
        scope_kind=_SCOPE_KINDS[wire.scope_kind],
        scope_id=_unpack_optional(wire.scope_id),
        issued_at=_EPOCH + wire.issued_at * _MICROSECOND,
        expires_at=_EPOCH + wire.expires_at * _MICROSECOND,
        audit_ids=tuple(_unpack(audit_id) for audit_id in wire.audit_ids),
        application_credential_id=_unpack_optional(wire.application_credential_id),
        trust_id=_unpack(wire.trust_id) if isinstance(wire, _WireV2) else None,
        access_token_id=_unpack(wire.access_token_id) if isinstance(wire, _WireV3) else None,
    )


def _pack(value: str) -> _Packed:
    """The id as its 16 bytes when it is 32 hex digits or a 22-character base64url string
    that decodes back to itself; otherwise as it is."""
    if _HEX_ID.fullmatch(value):
        return Ext(_HEX_EXT, bytes.fromhex(value))
    if _BASE64_ID.fullmatch(value):
        raw = base64.urlsafe_b64decode(value + "==")
        if _base64url(raw) == value:
            return Ext(_BASE64_EXT, raw)
    return value


def _unpack(value: _Packed) -> str:
    if isinstance(value, str):
        return value
    data = bytes(value.data)
    if len(data) != 16 or value.code not in (_HEX_EXT, _BASE64_EXT):
        raise ValueError(f"not a packed id: extension {value.code}, {len(data)} bytes")
    return data.hex() if value.code == _HEX_EXT else _base64url(data)


def _pack_optional(value: str | None) -> _Packed | None:
    return None if value is None else _pack(value)


def _unpack_optional(value: _Packed | None) -> str | None:
    return None if value is None else _unpack(value)


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
