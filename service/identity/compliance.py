"""Keystone's `[security_compliance]` rules: lockout, password strength, history, age and
expiry, as pure functions of a policy and the facts the caller reads from its models."""

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta

from service.errors import BadRequest
from service.identity.passwords import verify_password


class PasswordRejected(BadRequest):
    """A new password the policy refuses; the message (Keystone's wording) says why."""


class SecurityCompliance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Keystone's options of the same names, with its defaults (every rule off).
    `unique_last_password_count` of 0 or 1 disables the history check. Decoding (e.g.
    `msgspec.convert`) rejects out-of-range numbers and a `password_regex` that does not
    compile."""

    lockout_failure_attempts: Annotated[int, Meta(ge=1)] | None = None
    lockout_duration: Annotated[int, Meta(ge=1)] | None = 1800
    unique_last_password_count: Annotated[int, Meta(ge=0)] = 1
    minimum_password_age: Annotated[int, Meta(ge=0)] = 0
    password_expires_days: Annotated[int, Meta(ge=1)] | None = None
    password_regex: str | None = None
    password_regex_description: str | None = None
    change_password_upon_first_use: bool = False

    def __post_init__(self) -> None:
        if self.password_regex is not None:
            try:
                re.compile(self.password_regex)
            except re.error as e:
                raise ValueError(f"password_regex does not compile: {e}") from e


def locked_out(
    failed_count: int, last_failed_at: datetime | None, now: datetime, policy: SecurityCompliance
) -> bool:
    """Whether failed authentications lock the account at `now`: at least
    `lockout_failure_attempts` of them, the last less than `lockout_duration` ago (or
    any time, without a duration). As in Keystone, a locked account is refused before
    its password is checked, and that attempt is not counted."""
    attempts = policy.lockout_failure_attempts
    if attempts is None or failed_count < attempts:
        return False
    if policy.lockout_duration is None or last_failed_at is None:
        return True
    return now < last_failed_at + timedelta(seconds=policy.lockout_duration)


def next_failed_count(
    failed_count: int, last_failed_at: datetime | None, now: datetime, policy: SecurityCompliance
) -> int:
    """The failure count to record after one more failed authentication at `now`. Counting
    restarts at 1 when a lockout has run out, since Keystone resets the count then."""
    attempts = policy.lockout_failure_attempts
    lockout_over = (
        attempts is not None
        and failed_count >= attempts
        and not locked_out(failed_count, last_failed_at, now, policy)
    )
    return 1 if lockout_over else failed_count + 1


async def check_new_password(
    new: str,
    history_hashes: Sequence[str],
    last_changed_at: datetime | None,
    now: datetime,
    policy: SecurityCompliance,
    is_admin_reset: bool,
) -> None:
    """Raise PasswordRejected if the policy refuses `new`. Checked in Keystone's order:
    `password_regex` (always, with `re.match`); then, for a self-service change only,
    `minimum_password_age` and reuse of one of the last `unique_last_password_count`
    passwords. `history_hashes` are the user's password hashes newest first, the current
    one included; `last_changed_at` is when the user set the current password themselves,
    None if an administrator set it (Keystone then waives the minimum age)."""
    if policy.password_regex is not None and not re.match(policy.password_regex, new):
        requirements = policy.password_regex_description or policy.password_regex
        raise PasswordRejected(f"The password does not match the requirements: {requirements}.")
    if is_admin_reset:
        return
    min_age = timedelta(days=policy.minimum_password_age)
    if min_age and last_changed_at is not None and now < last_changed_at + min_age:
        days_left = (last_changed_at + min_age - now).days
        raise PasswordRejected(
            "You cannot change your password at this time due to the minimum password age. "
            f"Once you change your password, it must be used for {policy.minimum_password_age}"
            f" day(s) before it can be changed. Please try again in {days_left} day(s) or "
            "contact your administrator to reset your password."
        )
    count = policy.unique_last_password_count
    if count > 1:
        reused = await asyncio.gather(*(verify_password(new, h) for h in history_hashes[:count]))
        if any(reused):
            raise PasswordRejected(
                "The new password cannot be identical to a previous password. The total "
                f"number which includes the new password must be unique is {count}."
            )


def password_expires_at(
    now: datetime, policy: SecurityCompliance, *, set_by_admin: bool = False
) -> datetime | None:
    """When a password set at `now` expires: at once if it was set at user creation or by
    an administrator and `change_password_upon_first_use` is on (pass False for users
    exempt through their `ignore_change_password_upon_first_use` option); otherwise after
    `password_expires_days`, or never."""
    if set_by_admin and policy.change_password_upon_first_use:
        return now
    if policy.password_expires_days is None:
        return None
    return now + timedelta(days=policy.password_expires_days)
