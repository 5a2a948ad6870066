"""What a server create request's `networks` and `block_device_mapping_v2` may hold at
each microversion: device tags (2.32; on networks up to 2.36 and on block devices at
2.32 only by Nova's bug, both again from 2.42; on attached interfaces from 2.49), from
2.37 `networks` required, either a list or "auto"/"none"; trusted image certificates
(2.63, of create and rebuild); and block devices' volume types (2.67)."""

import re
from typing import Any, NoReturn

from msgspec import UNSET

from service.compute.api.microversion import Microversion, parse
from service.compute.api.params import is_uuid, only, unexpected
from service.errors import BadRequest

_NETWORK_KEYS = frozenset({"uuid", "port", "fixed_ip"})
_TAG = re.compile(r"^[^,/]{1,60}$")
_TAGS_SINCE, _AUTO_SINCE, _TAGS_AGAIN = parse("2.32"), parse("2.37"), parse("2.42")
_TRUSTED_CERTIFICATES, _VOLUME_TYPES = parse("2.63"), parse("2.67")


def _network_tags(version: Microversion) -> bool:
    return _TAGS_SINCE <= version < _AUTO_SINCE or version >= _TAGS_AGAIN


def _bdm_tags(version: Microversion) -> bool:
    return version == _TAGS_SINCE or version >= _TAGS_AGAIN


def refuse_tag(tag: object, allowed: bool, field: str) -> NoReturn:
    """BadRequest (400) for a device `tag` of `field`: an unknown property where the
    microversion allows none, else (well-formed or not) refused as well: Kumo's guests
    get no device metadata to show it in."""
    if not allowed:
        raise unexpected("tag", field)
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}.")
    raise BadRequest("Device tagging is not supported: Kumo's guests have no device metadata.")


def check_networks(version: Microversion, networks: object) -> None:
    """BadRequest (400) unless `networks` (absent: None) is what Nova takes at `version`."""
    if networks is None:
        if version >= _AUTO_SINCE:
            raise BadRequest(
                "Invalid input for field/attribute server. 'networks' is a required property"
            )
        return
    if isinstance(networks, str):
        if version < _AUTO_SINCE or networks not in ("auto", "none"):
            raise BadRequest(f"Invalid input for field/attribute networks. Value: {networks}.")
        return
    assert isinstance(networks, list)
    for item in networks:
        if not isinstance(item, dict):
            raise BadRequest(f"Invalid input for field/attribute networks. Value: {item}.")
        if "tag" in item:
            refuse_tag(item["tag"], _network_tags(version), "networks")
        only(item, _NETWORK_KEYS, "networks")
        if "uuid" in item and not is_uuid(str(item["uuid"])):
            raise BadRequest("Bad networks format: network uuid is not in proper format.")


def check_block_devices(version: Microversion, mappings: list[dict[str, Any]]) -> None:
    """BadRequest (400) for a block device `tag` (see `refuse_tag`), and for a
    `volume_type` (2.67): Kumo has no block storage to make a volume of one."""
    for mapping in mappings:
        if "tag" in mapping:
            refuse_tag(mapping["tag"], _bdm_tags(version), "block_device_mapping_v2")
        if "volume_type" in mapping:
            if version < _VOLUME_TYPES:
                raise unexpected("volume_type", "block_device_mapping_v2")
            raise BadRequest("Volume types are not supported: Kumo has no block storage.")


def check_trusted_certificates(version: Microversion, certificates: object) -> None:
    """BadRequest (400) for `trusted_image_certificates` (absent: UNSET) before 2.63, and
    for any list of them: Kumo verifies no image signatures against certificates."""
    if certificates is UNSET:
        return
    if version < _TRUSTED_CERTIFICATES:
        raise unexpected("trusted_image_certificates", "server")
    if certificates is not None:
        raise BadRequest("Image signature certificate validation is not supported.")
