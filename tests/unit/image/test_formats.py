"""The format inspector against images qemu-img itself writes, and the dangerous ones."""

import subprocess
from pathlib import Path

import pytest

from service.image import formats


def _make(path: Path, fmt: str, *options: str) -> bytes:
    command = ["qemu-img", "create", "-q", "-f", fmt, *options, str(path), "1M"]
    subprocess.run(command, check=True)
    return path.read_bytes()[: formats.HEAD_BYTES]


@pytest.mark.parametrize(
    ("fmt", "seen"),
    [
        ("qcow2", "qcow2"),
        ("raw", "raw"),
        ("vmdk", "vmdk"),
        ("vpc", "vhd"),
        ("vhdx", "vhdx"),
        ("vdi", "vdi"),
        ("qed", "qed"),
        ("parallels", "parallels"),
    ],
)
def test_what_qemu_img_writes_is_recognised_and_safe(tmp_path: Path, fmt: str, seen: str) -> None:
    assert formats.inspect(_make(tmp_path / "disk", fmt)) == formats.Inspection(seen)


def test_a_qcow2_naming_a_backing_file_is_unsafe(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"host-only")
    head = _make(tmp_path / "disk", "qcow2", "-b", str(secret), "-F", "raw")
    assert formats.inspect(head) == formats.Inspection("qcow2", "it names a backing file")


def test_a_qcow2_with_an_external_data_file_is_unsafe(tmp_path: Path) -> None:
    head = _make(tmp_path / "disk", "qcow2", "-o", f"data_file={tmp_path / 'data'}")
    assert formats.inspect(head).unsafe == "it keeps its data in an external file"


def test_a_qcow2_version_2_is_read_too(tmp_path: Path) -> None:
    head = _make(tmp_path / "disk", "qcow2", "-o", "compat=0.10")
    assert formats.inspect(head) == formats.Inspection("qcow2")


def test_an_iso_is_recognised_and_one_hiding_a_qcow2_is_unsafe(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "file").write_text("x")
    iso = tmp_path / "cd.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), str(tmp_path / "tree")], check=True)
    head = iso.read_bytes()[: formats.HEAD_BYTES]
    assert formats.inspect(head) == formats.Inspection("iso")
    qcow2 = _make(tmp_path / "disk", "qcow2")
    polyglot = qcow2[:512] + head[512:]  # the system area is the image's to fill
    assert formats.inspect(polyglot).unsafe == "its bytes are both qcow2 and iso"


def test_short_or_cut_images(tmp_path: Path) -> None:
    assert formats.inspect(b"") == formats.Inspection("raw")
    assert formats.inspect(b"QFI\xfb\x00\x00\x00\x03").unsafe == "its qcow2 header is cut short"
