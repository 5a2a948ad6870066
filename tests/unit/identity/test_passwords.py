import re

import pytest

from service.identity.passwords import generate_secret, hash_password, verify_password

ROUNDS = 4  # bcrypt's minimum cost, for speed


async def test_hash_then_verify() -> None:
    hashed = await hash_password("correct horse", ROUNDS)
    assert hashed.startswith("$2b$04$")
    assert await verify_password("correct horse", hashed)


async def test_wrong_password_is_refused() -> None:
    hashed = await hash_password("correct horse", ROUNDS)
    assert not await verify_password("correct horsE", hashed)
    assert not await verify_password("", hashed)


async def test_hashes_are_salted() -> None:
    assert await hash_password("same", ROUNDS) != await hash_password("same", ROUNDS)


async def test_default_cost_is_twelve_like_keystone() -> None:
    assert (await hash_password("x")).startswith("$2b$12$")


async def test_unicode_password() -> None:
    hashed = await hash_password("pässwörd-密码", ROUNDS)
    assert await verify_password("pässwörd-密码", hashed)
    assert not await verify_password("passwörd-密码", hashed)


async def test_long_passwords_count_up_to_72_bytes_like_keystone() -> None:
    base = "x" * 72
    hashed = await hash_password(base + "tail", ROUNDS)
    assert await verify_password(base + "tail", hashed)
    assert await verify_password(base + "other tail", hashed)
    assert await verify_password(base, hashed)
    assert not await verify_password(base[:-1], hashed)


async def test_truncation_counts_bytes_not_characters() -> None:
    password = "é" * 40  # 80 bytes in UTF-8; the first 72 bytes are 36 characters
    hashed = await hash_password(password, ROUNDS)
    assert await verify_password("é" * 36, hashed)
    assert not await verify_password("é" * 35, hashed)


@pytest.mark.parametrize(
    "hashed",
    ["", "garbage", "$2b$04$short", "$6$rounds=5000$salt$hash", "$2b$04$" + "é" * 53],
)
async def test_verify_against_a_malformed_hash_is_false(hashed: str) -> None:
    assert not await verify_password("anything", hashed)


async def test_bad_cost_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        await hash_password("x", 3)


def test_secrets_are_url_safe_and_fresh() -> None:
    secrets = {generate_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert len(secret) == 86
        assert re.fullmatch(r"[A-Za-z0-9_-]+", secret)
