"""Tempest's compute response schemas, read from the Tempest installation that
../shared/tempest/run-interop.sh uses (TEMPEST_VENV), and checked as Tempest checks them:
exact status, a body only where the schema has one, Draft 4 with its date-time format."""

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

VENV = Path(
    os.environ.get(
        "TEMPEST_VENV",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kumo-tempest/venv",
    )
)
SITES = sorted(VENV.glob("lib/python3*/site-packages"))


class _TempestSchemas(importlib.abc.MetaPathFinder):
    """Finds the `tempest` package (only it) in Tempest's own venv."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] != "tempest":
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, path or [str(s) for s in SITES])


def schema(version: str, name: str) -> dict[str, Any]:
    """`tempest.lib.api_schema.response.compute.<version>.<module>.<name>`, e.g.
    schema("v2_1", "flavors.list_flavors"); the test is skipped without Tempest."""
    if not SITES:
        pytest.skip(f"no Tempest at {VENV}")
    if not any(isinstance(f, _TempestSchemas) for f in sys.meta_path):
        sys.meta_path.append(_TempestSchemas())
    module, attribute = name.rsplit(".", 1)
    found: dict[str, Any] = getattr(
        importlib.import_module(f"tempest.lib.api_schema.response.compute.{version}.{module}"),
        attribute,
    )
    return found


_CHECKER = jsonschema.Draft4Validator.FORMAT_CHECKER
_checker = jsonschema.FormatChecker(formats=())
for _format in ("ipv4", "ipv6", "uri", "uuid"):
    if _format in _CHECKER.checkers:
        _checker.checkers[_format] = _CHECKER.checkers[_format]


@_checker.checks("iso8601-date-time", raises=ValueError)
def _iso8601(instance: object) -> bool:
    if isinstance(instance, str):
        datetime.fromisoformat(instance.replace("Z", "+00:00"))
    return True


def check(version: str, name: str, status: int, body: Any) -> None:
    """Fail unless a response (status, decoded body or None) passes the schema as
    Tempest's rest client validates it."""
    expected = schema(version, name)
    assert status in expected["status_code"], (status, body)
    body_schema = expected.get("response_body")
    if body_schema is None:
        assert not body, body
        return
    jsonschema.validate(body, body_schema, cls=jsonschema.Draft4Validator, format_checker=_checker)
