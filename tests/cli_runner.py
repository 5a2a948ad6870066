"""The `kumo` command line run in-process, as a test drives it."""

import asyncio
import io
from contextlib import redirect_stdout

from service.cli import main


def run_cli(*argv: str) -> tuple[int, str]:
    """`kumo` with these arguments: its exit code, and what it printed on stdout followed
    by its exit message (which a terminal shows on stderr), if any."""
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            main(list(argv))
        except SystemExit as exit:
            if isinstance(exit.code, str):
                return 1, f"{out.getvalue()}{exit.code}\n"
            return exit.code or 0, out.getvalue()
    return 0, out.getvalue()


async def run_cli_async(*argv: str) -> tuple[int, str]:
    """`run_cli` from async code: in a thread, since `kumo` runs its own event loop."""
    return await asyncio.to_thread(run_cli, *argv)
