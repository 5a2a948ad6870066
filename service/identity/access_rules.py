"""Application credentials' access rules, as Keystone's: a credential made with rules
gives tokens that work only for the requests the rules name (a service type, an HTTP
method, and a path relative to the service's endpoint, where `*` stands for one segment
and `**` for any number), whatever roles the token carries."""

import msgspec

from service.identity.services import API_SERVICE_TYPES


class AccessRule(msgspec.Struct, frozen=True):
    """One request an application credential's tokens may make."""

    id: str
    service: str
    method: str
    path: str


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _path_matches(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_path_matches(rest, path[i:]) for i in range(len(path) + 1))
    if not path or (head != "*" and head != path[0]):
        return False
    return _path_matches(rest, path[1:])


def service_and_path(request_path: str) -> tuple[str, str] | None:
    """The service type a request path reaches and the path under its endpoint; None for
    paths outside Kumo's APIs."""
    for prefix, service_type in API_SERVICE_TYPES.items():
        if request_path == prefix or request_path.startswith(prefix + "/"):
            return service_type, request_path[len(prefix) :] or "/"
    return None


def permits(rules: tuple[AccessRule, ...], method: str, request_path: str) -> bool:
    """Whether one of `rules` allows `method` on `request_path` (a path of Kumo's)."""
    reached = service_and_path(request_path)
    if reached is None:
        return False
    service, path = reached
    segments = _segments(path)
    return any(
        rule.service == service
        and rule.method.upper() == method.upper()
        and _path_matches(_segments(rule.path), segments)
        for rule in rules
    )
