"""What the local backend promises beyond the contract: its layout stays under the root,
a reader of more than a chunk holds the object's file open for sendfile, and a direct
stream of more than a block is read from its socket."""

import os
from pathlib import Path

import pytest

from service.storage import InvalidKey
from service.storage.localfs import BLOCK_SIZE, CHUNK_SIZE, LocalFsBackend

from .helpers import SocketStream, chunks, hashes_of, read_all
from .test_contract import ODD_KEYS


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.fixture
async def local(tmp_path: Path) -> LocalFsBackend:
    backend = LocalFsBackend(tmp_path / "root" / "objects")
    await backend.start()
    return backend


async def test_keys_map_to_escaped_folders_and_files(local: LocalFsBackend) -> None:
    await local.put("images/ab.c", chunks(b"x"))
    await local.put("objects/p/c/name/v1", chunks(b"y"))
    assert (local.root / "images%2Fab%2Ec.o").read_bytes() == b"x"
    assert (local.root / "objects%2F" / "p%2F" / "c%2F" / "name%2Fv1.o").read_bytes() == b"y"


async def test_keys_of_the_nested_layout_are_still_read_listed_and_deleted(
    local: LocalFsBackend,
) -> None:
    """Files stored before a key's last two segments shared a name: `c/name/v1` as file
    `v1.o` in folder `c%2F/name%2F`."""
    nested = local.root / "c%2F" / "name%2F"
    nested.mkdir(parents=True)
    (nested / "v1.o").write_bytes(b"old")
    (nested / "v3.o").write_bytes(b"old v3")
    await local.put("c/name/v2", chunks(b"new"))
    await local.put("c/name/v3", chunks(b"new v3"))  # the nested file is shadowed
    assert await read_all(await local.get("c/name/v1")) == b"old"
    assert await read_all(await local.get("c/name/v3")) == b"new v3"
    assert (await local.head("c/name/v1")) is not None
    listed = ["c/name/v1", "c/name/v2", "c/name/v3"]
    for prefix in ("", "c/", "c/name/", "c/name/v"):
        assert [key async for key in local.list(prefix)] == listed
    assert await local.delete("c/name/v1")
    assert await local.delete("c/name/v3")
    assert not (nested / "v3.o").exists()
    assert [key async for key in local.list("c/")] == ["c/name/v2"]
    assert not await local.delete("c/name/v1")


async def test_no_key_escapes_the_root(local: LocalFsBackend, tmp_path: Path) -> None:
    for key in ODD_KEYS:
        await local.put(key, chunks(key.encode()))
    files = files_under(tmp_path)
    assert len(files) == len(ODD_KEYS)
    assert all(path.is_relative_to(local.root) for path in files)
    for key in ODD_KEYS:
        assert await read_all(await local.get(key)) == key.encode()


async def test_a_segment_too_long_for_a_file_name(local: LocalFsBackend) -> None:
    with pytest.raises(InvalidKey, match="too long"):
        await local.put("images/" + "é" * 50, chunks(b"x"))
    # Too long to share a name with "images": a file in folder "images%2F".
    await local.put("images/" + "e" * 250, chunks(b"x"))
    assert (local.root / "images%2F" / ("e" * 250 + ".o")).read_bytes() == b"x"
    assert [key async for key in local.list("images/")] == ["images/" + "e" * 250]


async def test_a_reader_of_more_than_a_chunk_gives_its_file(local: LocalFsBackend) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 5)
    await local.put("big", chunks(data, CHUNK_SIZE))
    cases = [(None, 0, len(data)), ((7, 2 * CHUNK_SIZE), 7, 2 * CHUNK_SIZE + 1)]
    for byte_range, start, end in cases:
        async with await local.get("big", byte_range=byte_range) as reader:
            assert reader.fileno is not None and reader.offset == start
            assert os.pread(reader.fileno, reader.content_length, start) == data[start:end]
    async with await local.get("big", byte_range=(0, CHUNK_SIZE - 1)) as reader:
        assert reader.fileno is None  # read at once, the file already closed
        assert b"".join([chunk async for chunk in reader]) == data[:CHUNK_SIZE]


@pytest.mark.parametrize("size", [BLOCK_SIZE, 3 * BLOCK_SIZE + 5])
async def test_a_direct_stream_of_more_than_a_block_is_read_directly(
    local: LocalFsBackend, size: int
) -> None:
    data = os.urandom(size)
    stream = SocketStream(data)
    try:
        stored = await local.put("k", stream)
    finally:
        stream.close()
    assert stored.hashes == hashes_of(data)
    assert (stream.sender is not None) == (size > BLOCK_SIZE)
    assert await read_all(await local.get("k")) == data
