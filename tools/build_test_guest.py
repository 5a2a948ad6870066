"""Build, offline and in seconds, the tiny bootable guest that Kumo's VM tests boot.

    python3 tools/build_test_guest.py [CACHE_DIR]      (default: .kumo/guest)

The guest is a Debian kernel plus a busybox initramfs whose /init loads a few modules,
runs busybox `acpid` so that an ACPI power button powers it off, echoes the `user_data` of
an attached OpenStack config drive between `USER_DATA_BEGIN`/`USER_DATA_END`, puts the
drive's public keys in root's authorized_keys as cloud-init does (each echoed after
`AUTHORIZED_KEY`), prints `MARKER` on ttyS0 (ready), then keeps a shell on the console.
In the background it brings up eth0 with DHCP (printing `DHCP_BOUND` and the address)
and then runs the `user_data` if it is a script (starts with `#!`), its output on the
console: a test tells the guest what to do, such as which addresses to ping. Outputs, in CACHE_DIR:

- `vmlinux` (ELF, boots through PVH: the fastest under TCG) and `vmlinuz` (bzImage),
- `initrd.gz`,
- `disk.qcow2`: an MBR disk with a FAT16 partition booting the same kernel through syslinux.

Idempotent: the kernel package is downloaded and extracted once (`apt-get download`,
`dpkg-deb -x`; no install), and the guest is rebuilt only when this recipe changes.
Raises `GuestBuildError` naming the failed command when a tool is missing or fails.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "KUMO-TEST-GUEST-READY"
USER_DATA_BEGIN = "KUMO-USER-DATA-BEGIN"
USER_DATA_END = "KUMO-USER-DATA-END"
AUTHORIZED_KEY = "KUMO-AUTHORIZED-KEY"
DHCP_BOUND = "KUMO-DHCP-BOUND"
CMDLINE = "console=ttyS0 panic=-1 quiet"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".kumo" / "guest"

# Insmod'ed in dependency order (resolved from each module's `depends=`): virtio disks
# and NICs, IDE cdroms, ISO 9660 and FAT, and the ACPI power button as an input device for
# acpid.
MODULES = (
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "ata_piix",
    "sr_mod",
    "isofs",
    "vfat",
    "button",
    "evdev",
)
DISK_MIB = 16
PARTITION_OFFSET = 1024 * 1024
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")
XZ_MAGIC = b"\xfd7zXZ\x00"

INIT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt /tmp /var/log
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
# The ACPI power button runs /etc/acpi/PWRF/00000080: poweroff.
acpid -c /etc/acpi
sleep 1  # let the cdrom and disks appear
for dev in /dev/vd? /dev/sr? /dev/hd?; do
    [ -b "$dev" ] || continue
    mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null || continue
    if [ -f /mnt/openstack/latest/meta_data.json ]; then
        echo "KUMO-CONFIG-DRIVE $dev"
        mkdir -p /root/.ssh
        sed -n '/"public_keys": {{/,/}}/s/^ *"[^"]*": "\\(.*\\)",\\{{0,1\\}}$/\\1/p' \\
            /mnt/openstack/latest/meta_data.json > /root/.ssh/authorized_keys
        while read -r key; do echo "{AUTHORIZED_KEY} $key"; done < /root/.ssh/authorized_keys
        if [ -f /mnt/openstack/latest/user_data ]; then
            echo "{USER_DATA_BEGIN}"
            cat /mnt/openstack/latest/user_data
            echo
            echo "{USER_DATA_END}"
        fi
        break
    fi
    umount /mnt
done
# Printed last: from here on the guest handles ACPI and has read its config drive.
echo "{MARKER}"
(
    ip link set lo up
    ip link set eth0 up 2>/dev/null && udhcpc -i eth0 -f -q -n -t 20 -T 1 -s /etc/udhcpc.sh
    script=/mnt/openstack/latest/user_data
    [ "$(head -c 2 $script 2>/dev/null)" = "#!" ] && sh $script
) </dev/null 2>&1 &
while :; do setsid cttyhack sh; sleep 1; done
"""

POWER_BUTTON = "#!/bin/sh\nexec poweroff -f\n"

# udhcpc's hook: the lease's address (and router) on the interface, announced.
DHCP_SCRIPT = f"""#!/bin/sh
case "$1" in
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route add default via "${{router%% *}}" dev "$interface"
    echo "{DHCP_BOUND} $interface $ip"
    ;;
esac
"""

SYSLINUX_CFG = f"""DEFAULT kumo
PROMPT 0
TIMEOUT 0
LABEL kumo
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND {CMDLINE}
"""


class GuestBuildError(RuntimeError):
    """A tool the build needs is missing or failed."""


@dataclass(frozen=True)
class TinyGuest:
    """Absolute paths of a built guest, and the lines it prints."""

    vmlinux: Path
    vmlinuz: Path
    initrd: Path
    disk: Path
    cmdline: str = CMDLINE
    marker: str = MARKER


def _run(*argv: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    """Run a command; its stdout, or GuestBuildError with its stderr."""
    try:
        done = subprocess.run(
            [str(a) for a in argv], cwd=cwd, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError as e:
        raise GuestBuildError(f"{argv[0]} is not installed") from e
    if done.returncode != 0:
        raise GuestBuildError(f"{' '.join(map(str, argv))}: {done.stderr.decode().strip()}")
    return done.stdout


def _kernel_package() -> str:
    """The versioned package that `linux-image-amd64` depends on."""
    out = _run("apt-cache", "depends", "linux-image-amd64").decode()
    found = re.search(r"Depends: (linux-image-[\w.+-]+)", out)
    if found is None:
        raise GuestBuildError("apt-cache: linux-image-amd64 has no linux-image dependency")
    return found.group(1)


def _kernel_root(cache: Path) -> Path:
    """The extracted kernel package (downloaded and extracted once per version)."""
    package = _kernel_package()
    root = cache / package
    if (root / ".extracted").exists():
        return root
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        # The sandbox user _apt cannot write into a root-owned temporary folder.
        _run("apt-get", "download", "-o", "APT::Sandbox::User=root", package, cwd=Path(tmp))
        (deb,) = Path(tmp).glob("*.deb")
        shutil.rmtree(root, ignore_errors=True)
        _run("dpkg-deb", "-x", deb, root)
    (root / ".extracted").touch()
    return root


def _module_paths(kernel_root: Path) -> list[Path]:
    """The .ko files of MODULES and their dependencies, dependencies first."""
    (modules_dir,) = (kernel_root / "lib" / "modules").iterdir()
    by_name = {p.name.removesuffix(".ko").replace("-", "_"): p for p in modules_dir.rglob("*.ko")}
    ordered: list[Path] = []

    def add(name: str) -> None:
        path = by_name.get(name)
        if path is None or path in ordered:
            return  # built into the kernel, or already added
        depends = re.search(rb"depends=([\w,-]*)\x00", path.read_bytes())
        for dep in depends.group(1).decode().split(",") if depends else []:
            if dep:
                add(dep.replace("-", "_"))
        ordered.append(path)

    for name in MODULES:
        add(name)
    return ordered


def _extract_vmlinux(vmlinuz: Path, target: Path) -> None:
    """Decompress the ELF kernel embedded in an xz-compressed bzImage."""
    data = vmlinuz.read_bytes()
    start = data.find(XZ_MAGIC)
    if start < 0:
        raise GuestBuildError(f"{vmlinuz} holds no xz stream")
    target.write_bytes(_run("xz", "-dc", "--single-stream", stdin=data[start:]))


def _build_initrd(modules: list[Path], target: Path) -> None:
    """A gzipped newc cpio of busybox, /init, the acpid and DHCP hooks and the modules."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise GuestBuildError("busybox is not installed (apt-get install busybox-static)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for folder in ("bin", "modules", "etc/acpi/PWRF"):
            (root / folder).mkdir(parents=True)
        shutil.copy(busybox, root / "bin" / "busybox")
        for path, text in (
            (root / "init", INIT),
            (root / "etc/acpi/PWRF/00000080", POWER_BUTTON),
            (root / "etc/udhcpc.sh", DHCP_SCRIPT),
        ):
            path.write_text(text)
            path.chmod(0o755)
        for module in modules:
            shutil.copy(module, root / "modules" / module.name)
        (root / "modules.order").write_text("".join(f"{m.name}\n" for m in modules))
        names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        archive = _run(
            "cpio", "-o", "-H", "newc", "--quiet", cwd=root, stdin="\n".join(names).encode()
        )
    target.write_bytes(gzip.compress(archive, compresslevel=6))


def _build_disk(vmlinuz: Path, initrd: Path, work: Path, target: Path) -> None:
    """An MBR disk, FAT16 partition at 1 MiB, syslinux booting vmlinuz; as qcow2."""
    raw = work / "disk.raw"
    with raw.open("wb") as f:
        f.truncate(DISK_MIB * 1024 * 1024)
    _run("parted", "-s", raw, "mklabel", "msdos", "mkpart", "primary", "fat16", "1MiB", "100%",
         "set", "1", "boot", "on")  # fmt: skip
    sectors = (DISK_MIB * 1024 * 1024 - PARTITION_OFFSET) // 1024
    _run("mkfs.fat", "-F16", "--offset", str(PARTITION_OFFSET // 512), raw, str(sectors))
    _run("syslinux", "--offset", str(PARTITION_OFFSET), "--install", raw)
    with raw.open("r+b") as f:
        f.write(SYSLINUX_MBR.read_bytes()[:440])
    cfg = work / "syslinux.cfg"
    cfg.write_text(SYSLINUX_CFG)
    image = f"{raw}@@{PARTITION_OFFSET}"
    _run("mcopy", "-i", image, vmlinuz, "::vmlinuz")
    _run("mcopy", "-i", image, initrd, "::initrd.gz")
    _run("mcopy", "-i", image, cfg, "::syslinux.cfg")
    _run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, target)


def _recipe(kernel_root: Path) -> str:
    """What the built guest depends on: this file and the kernel package."""
    return hashlib.sha256(Path(__file__).read_bytes() + kernel_root.name.encode()).hexdigest()


def build(cache: Path = DEFAULT_CACHE) -> TinyGuest:
    """Build the guest into `cache` (world-readable for libvirt-qemu), or reuse it.

    Raises GuestBuildError if a tool is missing or fails; a failed build leaves no
    half-written output behind (outputs are renamed into place only when complete).
    """
    cache = cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o755)  # qemu runs as libvirt-qemu and must reach the images
    guest = TinyGuest(
        vmlinux=cache / "vmlinux",
        vmlinuz=cache / "vmlinuz",
        initrd=cache / "initrd.gz",
        disk=cache / "disk.qcow2",
    )
    kernel_root = _kernel_root(cache)
    stamp = cache / "recipe.json"
    recipe = _recipe(kernel_root)
    outputs = (guest.vmlinux, guest.vmlinuz, guest.initrd, guest.disk)
    if stamp.exists() and json.loads(stamp.read_text()) == recipe:
        if all(p.exists() for p in outputs):
            return guest
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        (vmlinuz,) = (kernel_root / "boot").glob("vmlinuz-*")
        shutil.copy(vmlinuz, work / "vmlinuz")
        _extract_vmlinux(vmlinuz, work / "vmlinux")
        _build_initrd(_module_paths(kernel_root), work / "initrd.gz")
        _build_disk(work / "vmlinuz", work / "initrd.gz", work, work / "disk.qcow2")
        for path in outputs:
            (work / path.name).chmod(0o644)
            os.replace(work / path.name, path)
    stamp.write_text(json.dumps(recipe))
    return guest


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE)
    for field in ("vmlinux", "vmlinuz", "initrd", "disk"):
        print(f"{field}: {getattr(built, field)}")
