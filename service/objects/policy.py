"""Swift's storage policies: named object backends, one of them the default, that a
container chooses when it is created (X-Storage-Policy) and keeps for its life; its
objects' bytes, versions and segments are on its policy's backend.

`Policy-0` is Kumo's object backend (KUMO_OBJECT_BACKEND) and is always there: the
containers created before policies existed are in it. The settings may declare more,
`local` folders or `s3` buckets (service/config.py), and which one is the default.
"""

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType

import msgspec
from aiohttp import web

from service.config import POLICIES_FOLDER, Settings, backend_folder
from service.errors import BadRequest
from service.objects.events import POLICY_0
from service.storage import BackendUnavailable, ObjectBackend
from service.storage.configured import declared_backend


class UnknownPolicy(BackendUnavailable):
    """A container's storage policy is no longer configured: its bytes cannot be
    reached (503) until it is again."""

    def __init__(self, name: str):
        super().__init__(f"the storage policy {name!r} is not configured")


class StoragePolicy(msgspec.Struct, frozen=True):
    name: str
    backend: ObjectBackend


class Usage(msgspec.Struct, frozen=True, array_like=True):
    """An account's containers under one policy, with their objects and bytes."""

    policy: str
    container_count: int
    object_count: int
    bytes_used: int


class StoragePolicies:
    """The policies by name, and the default one."""

    def __init__(self, policies: Sequence[StoragePolicy], default: str) -> None:
        self._policies = {policy.name: policy for policy in policies}
        self._by_lower_name = {policy.name.lower(): policy for policy in policies}
        self.default = default

    def __iter__(self) -> Iterator[StoragePolicy]:
        return iter(self._policies.values())

    def __len__(self) -> int:
        return len(self._policies)

    def backend(self, name: str) -> ObjectBackend:
        """The backend of the policy `name`; UnknownPolicy (503) if it is not configured."""
        policy = self._policies.get(name)
        if policy is None:
            raise UnknownPolicy(name)
        return policy.backend

    def chosen(self, headers: Mapping[str, str]) -> str | None:
        """The policy X-Storage-Policy names (without regard to case, as Swift), None when
        it names none; BadRequest, as Swift's, when no such policy exists."""
        asked = headers.get("X-Storage-Policy", "").strip()
        if not asked:
            return None
        policy = self._by_lower_name.get(asked.lower())
        if policy is None:
            raise BadRequest(f"Invalid X-Storage-Policy {asked!r}")
        return policy.name

    def account_headers(self, usage: Sequence[Usage]) -> dict[str, str]:
        """X-Account-Storage-Policy-<name>-Container-Count, -Object-Count and -Bytes-Used
        of every configured policy (zero where the account has no container) and of any
        other its containers are in."""
        by_policy = {name: Usage(name, 0, 0, 0) for name in self._policies}
        by_policy.update((u.policy, u) for u in usage)
        headers: dict[str, str] = {}
        for name, counted in by_policy.items():
            prefix = f"X-Account-Storage-Policy-{name}"
            headers[f"{prefix}-Container-Count"] = str(counted.container_count)
            headers[f"{prefix}-Object-Count"] = str(counted.object_count)
            headers[f"{prefix}-Bytes-Used"] = str(counted.bytes_used)
        return headers

    async def __aenter__(self) -> "StoragePolicies":
        """Start the policies' backends but Policy-0's (the application's own)."""
        for policy in self._own():
            await policy.backend.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for policy in self._own():
            await policy.backend.close()

    def _own(self) -> list[StoragePolicy]:
        return [policy for policy in self if policy.name != POLICY_0]


def configured(settings: Settings, objects: ObjectBackend) -> StoragePolicies:
    """Policy-0 on `objects`, and the policies the settings declare."""
    declared = []
    for name, backend in settings.object_policies.items():
        folder = backend_folder(settings, backend, POLICIES_FOLDER, name)
        declared.append(StoragePolicy(name, declared_backend(settings, backend, folder)))
    return StoragePolicies(
        [StoragePolicy(POLICY_0, objects), *declared], settings.object_default_policy
    )


STORAGE_POLICIES = web.AppKey("storage_policies", StoragePolicies)


async def storage_policies_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the policies' backends (after the object backend) and close them."""
    async with app[STORAGE_POLICIES]:
        yield
