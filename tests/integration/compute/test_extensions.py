"""/v2.1/extensions: the extensions Kumo serves, in Tempest's schema; one it does not
serve is a 404."""

from tests.integration.compute.conftest import Nova


async def test_extensions(as_alice: Nova) -> None:
    listed = (await as_alice.get("extensions")).check("extensions.list_extensions")
    aliases = [e["alias"] for e in listed["extensions"]]
    assert "os-hosts" in aliases and "os-simple-tenant-usage" in aliases
    assert "Hosts" in [e["name"] for e in listed["extensions"]]
    shown = (await as_alice.get("extensions/OS-DCF")).body["extension"]
    assert shown == next(e for e in listed["extensions"] if e["alias"] == "OS-DCF")
    assert (await as_alice.get("extensions/os-consoles")).status == 404
