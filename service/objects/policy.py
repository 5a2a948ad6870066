"""Swift's storage policies: Kumo has one, Policy-0, where every container lives. Swift
names it in /info, on each container and in the account's per-policy usage."""

from collections.abc import Mapping

from service.errors import BadRequest

STORAGE_POLICY = "Policy-0"


def check_policy(headers: Mapping[str, str]) -> None:
    """Raises BadRequest, as Swift does, when a container is asked for under a storage
    policy that does not exist (names match without regard to case)."""
    asked = headers.get("X-Storage-Policy")
    if asked is not None and asked.strip().lower() != STORAGE_POLICY.lower():
        raise BadRequest(f"Invalid X-Storage-Policy {asked!r}")


def account_usage(container_count: int, object_count: int, bytes_used: int) -> dict[str, str]:
    """X-Account-Storage-Policy-<name>-*: the account's usage under its one policy."""
    prefix = f"X-Account-Storage-Policy-{STORAGE_POLICY}"
    return {
        f"{prefix}-Container-Count": str(container_count),
        f"{prefix}-Object-Count": str(object_count),
        f"{prefix}-Bytes-Used": str(bytes_used),
    }
