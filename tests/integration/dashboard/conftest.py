"""Dashboard fixtures: the identity app's (an in-process Kumo with a bootstrapped admin),
a member in a project of its own, and a client logged in as that member."""

import re

import pytest

from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import Api, Client, Person, make_person

# The identity app fixtures, used here by name.
settings = identity.settings
admin = identity.admin
client = identity.client
admin_token = identity.admin_token
as_admin = identity.as_admin


@pytest.fixture
async def alice(as_admin: Api) -> Person:
    return await make_person(as_admin, "member", "alice")


def hidden(html: str, name: str) -> str:
    """The value of a form's hidden field."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html[:300]
    return found[1]


async def log_in(client: Client, person: Person, **extra: str) -> str:
    """Log in through the form as `person`; the session's CSRF token (from the page)."""
    page = await client.get("/dashboard/login")
    form = {
        "csrf_token": hidden(await page.text(), "csrf_token"),
        "domain": "Default",
        "username": person.name,
        "password": person.password,
        **extra,
    }
    answer = await client.post("/dashboard/login", data=form, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    overview = await client.get(answer.headers["Location"])
    found = re.search(r'data-csrf="([^"]+)"', await overview.text())
    assert found
    return found[1]
