"""Password hashing (bcrypt) and application-credential secrets.

Like Keystone with its default `bcrypt` hasher, passwords are cut to bcrypt's 72-byte
limit (UTF-8) before hashing and before checking, so longer passwords still work and
only their first 72 bytes count. The bcrypt work runs in a thread, off the event loop.
"""

import asyncio
import secrets

import bcrypt

DEFAULT_ROUNDS = 12
"""bcrypt cost, as Keystone's `[identity] password_hash_rounds` for bcrypt."""

_BCRYPT_MAX_BYTES = 72


def _truncated(password: str) -> bytes:
    return password.encode()[:_BCRYPT_MAX_BYTES]


async def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    """A salted bcrypt hash (`$2b$...`) of the password; ValueError if rounds is not 4..31."""
    salt = bcrypt.gensalt(rounds)
    hashed = await asyncio.to_thread(bcrypt.hashpw, _truncated(password), salt)
    return hashed.decode("ascii")


async def verify_password(password: str, hashed: str) -> bool:
    """Whether the password matches the bcrypt hash; False, never an error, for a hash
    that is malformed or not bcrypt."""
    try:
        hashed_bytes = hashed.encode("ascii")
        return await asyncio.to_thread(bcrypt.checkpw, _truncated(password), hashed_bytes)
    except ValueError:
        return False


def generate_secret() -> str:
    """A fresh application-credential secret: 64 random bytes, URL-safe base64 without
    padding (86 characters), as Keystone makes them."""
    return secrets.token_urlsafe(64)
