"""The `swift` command line against the app on a loopback port, on both object backends:
upload, download, list --prefix, stat, post -r, and a segmented upload of a file larger
than the app's max object size (lowered for the test)."""

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.objects.conftest import Client, Person, Swift

SWIFT = str(Path(sys.executable).with_name("swift"))
MAX_OBJECT_SIZE = 4096


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def max_object_size() -> int:
    return MAX_OBJECT_SIZE


class Cli:
    """`swift` runs as one person against one account, in `cwd`."""

    def __init__(self, client: Client, person: Person, project_id: str, cwd: Path) -> None:
        self.url = str(client.make_url(f"/object/v1/AUTH_{project_id}"))
        self.token = person.token
        self.cwd = cwd

    async def run(self, *args: str, expect_ok: bool = True) -> tuple[int, str]:
        """The exit status and the combined output of `swift <args>`."""
        process = await asyncio.create_subprocess_exec(
            SWIFT, "--os-storage-url", self.url, "--os-auth-token", self.token, "--retries", "0",
            *args,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))},
        )  # fmt: skip
        output, _ = await process.communicate()
        text = output.decode()
        if expect_ok:
            assert process.returncode == 0, (args, text)
        return process.returncode or 0, text


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


FILES = {"2024/cat.txt": b"meow" * 100, "2024/dog.txt": b"woof", "readme.txt": b"hello"}


async def test_upload_list_stat_download(client: Client, alice: Person, tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    _tree(source, FILES)
    target.mkdir()
    swift = Cli(client, alice, alice.project_id, source)
    await swift.run("upload", "photos", *FILES)
    _, listing = await swift.run("list", "photos", "--prefix", "2024/")
    assert listing.split() == ["2024/cat.txt", "2024/dog.txt"]
    _, containers = await swift.run("list")
    assert containers.split() == ["photos"]
    _, account = await swift.run("stat")
    assert "Objects: 3" in account and "Containers: 1" in account
    assert f"Bytes: {sum(map(len, FILES.values()))}" in account
    _, stat = await swift.run("stat", "photos", "2024/cat.txt")
    assert "Content Length: 400" in stat
    assert f"ETag: {hashlib.md5(FILES['2024/cat.txt']).hexdigest()}" in stat
    await Cli(client, alice, alice.project_id, target).run("download", "photos", "-p", "2024/")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*.txt")) == [
        "2024/cat.txt",
        "2024/dog.txt",
    ]
    assert (target / "2024/cat.txt").read_bytes() == FILES["2024/cat.txt"]


async def test_post_read_acl_lets_another_project_download(
    client: Client, alice: Person, bob: Person, tmp_path: Path
) -> None:
    _tree(tmp_path, {"doc.txt": b"for bob"})
    owner = Cli(client, alice, alice.project_id, tmp_path)
    reader = Cli(client, bob, alice.project_id, tmp_path)
    await owner.run("upload", "shared", "doc.txt")
    status, _ = await reader.run("download", "shared", "doc.txt", "-o", "-", expect_ok=False)
    assert status != 0
    await owner.run("post", "-r", f"{bob.project_id}:*", "shared")
    _, stat = await owner.run("stat", "shared")
    assert f"Read ACL: {bob.project_id}:*" in stat
    _, body = await reader.run("download", "shared", "doc.txt", "-o", "-")
    assert body == "for bob"


@pytest.mark.parametrize("kind", ["slo", "dlo"])
async def test_segmented_upload_of_a_file_over_the_max_object_size(
    client: Client, alice: Person, tmp_path: Path, kind: str
) -> None:
    data = os.urandom(3 * MAX_OBJECT_SIZE + 123)
    _tree(tmp_path, {"big.bin": data})
    swift = Cli(client, alice, alice.project_id, tmp_path)
    await swift.run("post", "files")
    status, refused = await swift.run("upload", "files", "big.bin", expect_ok=False)
    assert status != 0 and "413" in refused
    flag = "--use-slo" if kind == "slo" else "--use-dlo"
    await swift.run("upload", "files", "big.bin", "--segment-size", str(MAX_OBJECT_SIZE), flag)
    _, stat = await swift.run("stat", "files", "big.bin")
    assert f"Content Length: {len(data)}" in stat
    assert ("Manifest:" in stat) == (kind == "dlo")
    await swift.run("download", "files", "big.bin", "-o", "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == data
    _, segments = await swift.run("list", "files_segments")
    assert len(segments.split()) == 4


async def test_a_chunked_upload_over_the_max_object_size_is_refused(swift: Swift) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * (MAX_OBJECT_SIZE // 2)

    assert (await swift.call("PUT", "c")).status == 201
    assert (await swift.call("PUT", "c/big", body=body())).status == 413
    assert (await swift.call("HEAD", "c/big")).status == 404
    assert (await swift.call("HEAD", "c")).headers["X-Container-Bytes-Used"] == "0"
