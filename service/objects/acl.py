"""Who may do what in an account: Swift's keystoneauth rules and container ACLs.

The account `AUTH_<project>` belongs to callers holding an operator role on that project;
a ResellerAdmin may act on every account. Others reach a container only through its
X-Container-Read / X-Container-Write ACLs, comma-separated elements of which are:
`.r:*` or `.r:<host>` (anyone, by referrer; listings also need `.rlistings`), `<project>`
(any user of it), `<project>:<user>`, with ids or names and `*` as a wildcard on either
side.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

from service.auth import AuthContext

OPERATOR_ROLES = frozenset({"admin", "member", "SwiftOperator"})
RESELLER_ROLE = "ResellerAdmin"


def is_reseller(auth: AuthContext | None) -> bool:
    return auth is not None and auth.has_role(RESELLER_ROLE)


def owns(auth: AuthContext | None, project_id: str) -> bool:
    """Whether the caller has full control of the account of `project_id`."""
    if auth is None:
        return False
    if is_reseller(auth):
        return True
    return auth.project_id == project_id and bool(auth.role_names & OPERATOR_ROLES)


def acl_elements(value: str) -> list[str]:
    """The elements of an ACL header, stripped, empty ones dropped."""
    return [e.strip() for e in value.split(",") if e.strip()]


def _matches(pattern: str, *candidates: str | None) -> bool:
    return pattern == "*" or pattern in candidates


def _grants_user(element: str, auth: AuthContext) -> bool:
    project, sep, user = element.partition(":")
    if not _matches(project, auth.project_id, auth.project_name):
        return False
    return not sep or _matches(user, auth.user_id, auth.user_name)


def _names_user(elements: list[str], auth: AuthContext | None) -> bool:
    return auth is not None and any(
        not e.startswith(".") and _grants_user(e, auth) for e in elements
    )


def _grants_referrer(host: str, referer: str | None) -> bool:
    if host == "*":
        return True
    if not referer:
        return False
    name = urlsplit(referer).hostname or ""
    return name == host.lstrip(".") or (host.startswith(".") and name.endswith(host))


def grants(
    acl: str, auth: AuthContext | None, *, referer: str | None = None, listing: bool = False
) -> bool:
    """Whether the ACL lets this caller in. Referrer elements (read ACLs only) admit
    anyone, for listings only together with `.rlistings`."""
    elements = acl_elements(acl)
    if _names_user(elements, auth):
        return True
    by_referrer = any(e.startswith(".r:") and _grants_referrer(e[3:], referer) for e in elements)
    return by_referrer and (not listing or ".rlistings" in elements)


def may_read(
    auth: AuthContext | None,
    project_id: str,
    container_metadata: Mapping[str, str],
    *,
    referer: str | None = None,
    listing: bool = False,
) -> bool:
    """Reading objects (or, with `listing`, the container's listing and metadata)."""
    if owns(auth, project_id):
        return True
    acl = container_metadata.get("x-container-read", "")
    return grants(acl, auth, referer=referer, listing=listing)


def may_write(
    auth: AuthContext | None, project_id: str, container_metadata: Mapping[str, str]
) -> bool:
    """Creating, changing and deleting objects of the container."""
    if owns(auth, project_id):
        return True
    return _names_user(acl_elements(container_metadata.get("x-container-write", "")), auth)
