from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from service.identity.compliance import (
    PasswordRejected,
    SecurityCompliance,
    check_new_password,
    locked_out,
    next_failed_count,
    password_expires_at,
)
from service.identity.passwords import hash_password

NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
DEFAULTS = SecurityCompliance()
LOCKOUT = SecurityCompliance(lockout_failure_attempts=3, lockout_duration=1800)
FOREVER = SecurityCompliance(lockout_failure_attempts=3, lockout_duration=None)


def seconds_ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_defaults_are_keystones() -> None:
    assert DEFAULTS == SecurityCompliance(
        lockout_failure_attempts=None,
        lockout_duration=1800,
        unique_last_password_count=1,
        minimum_password_age=0,
        password_expires_days=None,
        password_regex=None,
        password_regex_description=None,
        change_password_upon_first_use=False,
    )


def test_options_decode_from_configuration() -> None:
    policy = msgspec.convert(
        {"lockout_failure_attempts": 6, "password_regex": r"^.{8,}$"}, SecurityCompliance
    )
    assert policy.lockout_failure_attempts == 6
    assert policy.lockout_duration == 1800


@pytest.mark.parametrize(
    "options",
    [
        {"lockout_failure_attempts": 0},
        {"lockout_duration": 0},
        {"unique_last_password_count": -1},
        {"minimum_password_age": -1},
        {"password_expires_days": 0},
        {"password_regex": "(unclosed"},
        {"lockout_attempts": 3},  # misspelt
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(options, SecurityCompliance)


# Lockout


def test_no_lockout_by_default() -> None:
    assert not locked_out(1000, NOW, NOW, DEFAULTS)


@pytest.mark.parametrize(("failures", "locked"), [(0, False), (2, False), (3, True), (9, True)])
def test_locked_from_the_configured_number_of_failures(failures: int, locked: bool) -> None:
    assert locked_out(failures, seconds_ago(1), NOW, LOCKOUT) is locked


def test_lockout_lasts_the_duration_from_the_last_failure() -> None:
    assert locked_out(3, seconds_ago(1799), NOW, LOCKOUT)
    assert not locked_out(3, seconds_ago(1800), NOW, LOCKOUT)
    assert not locked_out(3, seconds_ago(86400), NOW, LOCKOUT)


def test_without_a_duration_lockout_lasts_until_reset() -> None:
    assert locked_out(3, seconds_ago(10**8), NOW, FOREVER)
    assert not locked_out(2, seconds_ago(1), NOW, FOREVER)


def test_enough_failures_without_a_time_fail_closed() -> None:
    assert locked_out(3, None, NOW, LOCKOUT)


def test_failures_are_counted_on() -> None:
    assert next_failed_count(0, None, NOW, LOCKOUT) == 1
    assert next_failed_count(2, seconds_ago(86400), NOW, LOCKOUT) == 3
    assert next_failed_count(5, seconds_ago(1), NOW, DEFAULTS) == 6


def test_counting_restarts_once_a_lockout_is_over() -> None:
    assert next_failed_count(3, seconds_ago(1800), NOW, LOCKOUT) == 1
    assert next_failed_count(3, seconds_ago(10), NOW, LOCKOUT) == 4
    assert next_failed_count(3, seconds_ago(10**8), NOW, FOREVER) == 4


# New passwords

REGEX = SecurityCompliance(
    password_regex=r"^(?=.*\d)(?=.*[a-zA-Z]).{7,}$",
    password_regex_description="Passwords must contain at least 1 letter, 1 digit, and be 7+",
)


async def check(
    new: str,
    policy: SecurityCompliance,
    *,
    history: tuple[str, ...] = (),
    last_changed_at: datetime | None = None,
    is_admin_reset: bool = False,
) -> None:
    await check_new_password(new, history, last_changed_at, NOW, policy, is_admin_reset)


async def test_anything_goes_by_default() -> None:
    history = (await hash_password("same", 4),)
    await check("same", DEFAULTS, history=history, last_changed_at=NOW)
    await check("", DEFAULTS)


async def test_a_password_must_match_the_regex() -> None:
    await check("abc1234", REGEX)
    with pytest.raises(PasswordRejected) as caught:
        await check("abcdefgh", REGEX)
    assert caught.value.code == 400
    assert caught.value.message == (
        "The password does not match the requirements: "
        "Passwords must contain at least 1 letter, 1 digit, and be 7+."
    )


async def test_the_regex_applies_to_admin_resets_too() -> None:
    with pytest.raises(PasswordRejected):
        await check("short", REGEX, is_admin_reset=True)


async def test_the_regex_matches_at_the_start_like_keystone() -> None:
    # re.match semantics: anchored at the start only.
    await check("abc-and-more", SecurityCompliance(password_regex="abc"))
    with pytest.raises(PasswordRejected, match="requirements: abc"):
        await check("x-abc", SecurityCompliance(password_regex="abc"))


HISTORY = SecurityCompliance(unique_last_password_count=3)


@pytest.fixture
async def history() -> tuple[str, ...]:
    """Hashes of "current", "previous", "older", "oldest": newest first."""
    return tuple([await hash_password(p, 4) for p in ("current", "previous", "older", "oldest")])


async def test_the_last_n_passwords_cannot_be_reused(history: tuple[str, ...]) -> None:
    for reused in ("current", "previous", "older"):
        with pytest.raises(PasswordRejected) as caught:
            await check(reused, HISTORY, history=history)
        assert caught.value.message == (
            "The new password cannot be identical to a previous password. The total number "
            "which includes the new password must be unique is 3."
        )
    await check("oldest", HISTORY, history=history)  # fourth back: allowed again
    await check("brand new", HISTORY, history=history)


@pytest.mark.parametrize("count", [0, 1])
async def test_a_count_of_zero_or_one_turns_history_off(
    history: tuple[str, ...], count: int
) -> None:
    policy = SecurityCompliance(unique_last_password_count=count)
    await check("current", policy, history=history)


async def test_history_does_not_bind_admin_resets(history: tuple[str, ...]) -> None:
    # Keystone: test_admin_password_reset_is_not_validated_by_password_history
    await check("current", HISTORY, history=history, is_admin_reset=True)


async def test_a_malformed_hash_in_history_is_no_match() -> None:
    await check("current", HISTORY, history=("not a hash",))


AGE = SecurityCompliance(minimum_password_age=2)


async def test_a_self_service_change_waits_for_the_minimum_age() -> None:
    with pytest.raises(PasswordRejected) as caught:
        await check("new", AGE, last_changed_at=NOW - timedelta(hours=12))
    assert caught.value.message == (
        "You cannot change your password at this time due to the minimum password age. "
        "Once you change your password, it must be used for 2 day(s) before it can be "
        "changed. Please try again in 1 day(s) or contact your administrator to reset your "
        "password."
    )
    await check("new", AGE, last_changed_at=NOW - timedelta(days=2))


async def test_days_left_round_down_like_keystone() -> None:
    with pytest.raises(PasswordRejected, match="try again in 0 day"):
        await check("new", AGE, last_changed_at=NOW - timedelta(days=1, hours=23))


async def test_minimum_age_is_waived_for_admin_resets_and_admin_set_passwords() -> None:
    await check("new", AGE, last_changed_at=NOW, is_admin_reset=True)
    await check("new", AGE, last_changed_at=None)


async def test_no_minimum_age_by_default_even_with_a_clock_skew() -> None:
    await check("new", DEFAULTS, last_changed_at=NOW + timedelta(minutes=5))


async def test_the_regex_is_checked_before_the_age_and_history(history: tuple[str, ...]) -> None:
    policy = SecurityCompliance(
        password_regex=r"\d", unique_last_password_count=3, minimum_password_age=1
    )
    with pytest.raises(PasswordRejected, match="requirements"):
        await check("current", policy, history=history, last_changed_at=NOW)
    with pytest.raises(PasswordRejected, match="minimum password age"):
        await check("1", policy, history=(await hash_password("1", 4),), last_changed_at=NOW)


# Expiry


def test_passwords_never_expire_by_default() -> None:
    assert password_expires_at(NOW, DEFAULTS) is None
    assert password_expires_at(NOW, DEFAULTS, set_by_admin=True) is None


def test_passwords_expire_after_the_configured_days() -> None:
    policy = SecurityCompliance(password_expires_days=90)
    assert password_expires_at(NOW, policy) == NOW + timedelta(days=90)
    assert password_expires_at(NOW, policy, set_by_admin=True) == NOW + timedelta(days=90)


def test_admin_set_passwords_expire_at_once_when_change_upon_first_use() -> None:
    policy = SecurityCompliance(change_password_upon_first_use=True, password_expires_days=90)
    assert password_expires_at(NOW, policy, set_by_admin=True) == NOW
    assert password_expires_at(NOW, policy) == NOW + timedelta(days=90)
