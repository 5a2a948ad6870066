"""Telling a retry loop that its task is being cancelled.

A loop that retries on `Exception` can swallow a cancellation when the cleanup of what
was cancelled raises another error in its place (a pool closing under it, say): the
CancelledError is gone, the loop goes on, and whoever cancelled it waits for ever (a
`kumo up` that never exits). `Task.cancelling()` still counts the request.
"""

import asyncio


def being_cancelled() -> bool:
    """Whether the current task has been asked to stop (and has not uncancelled)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
