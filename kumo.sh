#!/usr/bin/env bash
# Kumo's one entry point on a fresh Debian 12 machine (root or sudo, Python 3.11):
#   ./kumo.sh up      install what is missing, then bring the cloud up in the foreground
#   ./kumo.sh test    install what is missing, then run the whole test suite
#   ./kumo.sh lint    ruff and mypy
#   ./kumo.sh bench   the benchmarks under benchmarks/
# Every run is idempotent: what is already there is reused.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

say() { printf 'kumo.sh: %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

setup() {
    # PostgreSQL server binaries (the embedded cluster) and the tools the tests use.
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install postgresql
    fi
    # Virtual machines: libvirt and QEMU (libvirt-dev to build libvirt-python), qemu-img
    # for disks, xorriso for config drives, and what builds the tiny test guest. Networks:
    # dnsmasq (DHCP), iptables (libvirt's network rules) and nftables (security groups and
    # floating IP NAT).
    apt_install gcc pkg-config python3-dev libvirt-dev libvirt-daemon-system qemu-system-x86 \
        qemu-utils xorriso genisoimage busybox-static cpio syslinux syslinux-common mtools \
        dosfstools parted dnsmasq-base iptables nftables
    # Debian's Chromium, which the dashboard's browser tests drive.
    apt_install chromium
    local python
    if ! python=$(find_python); then
        apt_install python3 python3-venv python3-dev
        python=$(find_python) || { say "Python 3.11 is required"; exit 1; }
    fi
    if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
        apt_install python3-venv
    fi
    if [ ! -x .venv/bin/python ]; then
        say "creating the virtualenv in .venv"
        "$python" -m venv .venv
    fi
    local stamp=".venv/.kumo-installed" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Kumo and its dependencies into .venv"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e '.[test]'
        echo "$want" >"$stamp"
    fi
}

start_libvirt() {
    # No systemd here: start virtlogd and libvirtd when they are not running. libvirtd
    # runs under a reaping wrapper, so destroying a guest takes 0.2 s instead of 1-2 s.
    command -v libvirtd >/dev/null || return 0
    pgrep -x virtlogd >/dev/null || $SUDO virtlogd -d
    if ! pgrep -x libvirtd >/dev/null; then
        $SUDO setsid .venv/bin/python tools/subreaper.py libvirtd -d </dev/null >/dev/null 2>&1 &
        for _ in $(seq 50); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
    fi
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
up)
    setup
    exec .venv/bin/kumo up "$@"
    ;;
test)
    setup
    start_libvirt
    exec .venv/bin/python -m pytest "$@"
    ;;
lint)
    setup
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    exec .venv/bin/mypy
    ;;
bench)
    setup
    exec .venv/bin/python benchmarks/eventstore.py "$@"
    ;;
*)
    echo "usage: ./kumo.sh up | test | lint | bench  [arguments for kumo up / pytest]" >&2
    exit 2
    ;;
esac
