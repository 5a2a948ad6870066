"""Floating IP NAT tables on this host's nftables (root and nft needed): made, changed in
place, listed, removed, and a missing one removed without error."""

import os
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest

from service.network.nftables import FloatingNat, Nftables, ruleset, table_name

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft"
)
FIP_ID = "0c6f3a52-9d1e-4b7a-8c2f-5e4d3c2b1a09"


def listed(floating_ip_id: str) -> str:
    done = subprocess.run(
        ["nft", "list", "table", "ip", table_name(floating_ip_id)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


@pytest.fixture
async def nat() -> AsyncIterator[Nftables]:
    nat = Nftables()
    yield nat
    await nat.remove(FIP_ID)


async def test_a_floating_ip_table_is_made_changed_and_removed(nat: Nftables) -> None:
    first = FloatingNat(
        floating_ip_id=FIP_ID, floating="198.51.100.7", fixed="10.9.0.5", bridge="kb-x"
    )
    await nat.ensure(first)
    rules = listed(FIP_ID)
    assert rules.count("ip daddr 198.51.100.7 dnat to 10.9.0.5") == 2
    assert 'ip saddr 10.9.0.5 oifname != "kb-*" snat to 198.51.100.7' in rules
    assert "masquerade" in rules
    assert FIP_ID in await nat.floating_ip_ids()
    moved = FloatingNat(
        floating_ip_id=FIP_ID, floating="198.51.100.7", fixed="10.9.0.6", bridge="kb-x"
    )
    await nat.ensure(moved)
    rules = listed(FIP_ID)
    assert "10.9.0.5" not in rules and rules.count("dnat to 10.9.0.6") == 2
    await nat.remove(FIP_ID)
    assert listed(FIP_ID) == ""
    assert FIP_ID not in await nat.floating_ip_ids()
    await nat.remove(FIP_ID)


def test_addresses_are_checked_before_nft_sees_them() -> None:
    with pytest.raises(ValueError):
        ruleset(
            FloatingNat(
                floating_ip_id="x", floating="1.2.3.4; flush ruleset", fixed="10.0.0.1", bridge="b"
            )
        )
