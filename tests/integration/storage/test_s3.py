"""What the S3 backend promises beyond the contract."""

import msgspec
import pytest

from service.storage.s3 import MiB, S3Backend, S3Settings

from .conftest import PART_SIZE, s3_settings
from .helpers import chunks, hashes_of, leftovers, read_all


def test_parts_must_be_at_least_5_mib() -> None:
    with pytest.raises(ValueError, match="part_size"):
        s3_settings("http://127.0.0.1:1", part_size=PART_SIZE - 1)


async def test_start_uses_an_existing_bucket(moto_url: str) -> None:
    settings = s3_settings(moto_url)
    async with S3Backend(settings) as first:
        await first.put("k", chunks(b"kept"))
    async with S3Backend(settings) as second:
        assert await read_all(await second.get("k")) == b"kept"


@pytest.mark.parametrize("size", [0, 100, 6 * MiB])
async def test_a_size_hint_above_the_threshold_uploads_in_parts(moto_url: str, size: int) -> None:
    data = b"h" * size
    async with S3Backend(s3_settings(moto_url)) as backend:
        stored = await backend.put("k", chunks(data), size_hint=10 * MiB)
        assert stored.hashes == hashes_of(data)
        assert await read_all(await backend.get("k")) == data
        assert await leftovers(backend) == []


def test_settings_decode_from_configuration() -> None:
    raw = b'{"bucket": "images", "endpoint_url": "http://ceph:7480", "part_size": 16777216}'
    settings = msgspec.json.decode(raw, type=S3Settings)
    assert (settings.bucket, settings.part_size) == ("images", 16 * MiB)
    with pytest.raises(msgspec.ValidationError, match="part_size"):
        msgspec.json.decode(b'{"bucket": "images", "part_size": 1}', type=S3Settings)
