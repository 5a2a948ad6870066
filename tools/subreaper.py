"""Run a command as a child subreaper and reap every orphan it leaves, promptly.

Usage: python3 tools/subreaper.py libvirtd -d

A daemon started this way (and the qemu processes it forks) is re-parented to this
process instead of PID 1. In containers whose PID 1 reaps only every second or two,
that makes `virDomainDestroy` return in about 0.2 s instead of 1-2 s. Exits when no
children are left; exits with the command's status if the command itself fails.
"""

import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    """Become a subreaper, start `argv`, then reap children until none remain."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    status = subprocess.call(argv)
    if status != 0:
        return status
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
