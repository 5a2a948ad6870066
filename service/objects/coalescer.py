"""Calls that requests make at the same time, made together: as a database shares one
flush among commits, one round trip serves every call then waiting.

At most `lanes` groups are under way at once; a call that finds a lane free goes at
once (alone, when nothing else waits: no delay without load), one that finds them all
busy waits for the next group, which takes every call then waiting that fits. A group's
failure that is one call's own (`blame`) is that call's alone, the others go again
together; any other is each of its calls' own: `alone` then makes them one by one, as the
caller decides (`retry`).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class _Call(Generic[A, R]):
    def __init__(self, arg: A) -> None:
        self.arg = arg
        self.done: asyncio.Future[R] = asyncio.get_running_loop().create_future()


class Coalescer(Generic[A, R]):
    """Makes calls of `one` (one argument) as calls of `group` (all of a group's, in
    order; their results in that order) where several wait at the same time."""

    def __init__(
        self,
        one: Callable[[A], Awaitable[R]],
        group: Callable[[list[A]], Awaitable[list[R]]],
        *,
        lanes: int,
        fits: Callable[[list[A], A], bool],
        retry: Callable[[Exception], bool],
        blame: Callable[[Exception, list[A]], int | None] = lambda error, args: None,
    ) -> None:
        """`fits(taken, arg)`: whether `arg` may join the group `taken` so far;
        `blame(error, args)`: the index of the one call whose own failure a group's
        `error` is, which then raises it while the others go again as a group;
        `retry(error)`: whether a group that raised an error of none of its calls is made
        again call by call (else each call raises it)."""
        self._one = one
        self._group = group
        self._fits = fits
        self._retry = retry
        self._blame = blame
        self._free = lanes
        self._waiting: list[_Call[A, R]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, arg: A) -> R:
        """`one(arg)`'s result, or its error. Once handed over, a call is seen through:
        a cancelled caller still waits for its outcome (the caller may own resources
        that outcome refers to)."""
        call: _Call[A, R] = _Call(arg)
        self._waiting.append(call)
        self._start()
        try:
            return await asyncio.shield(call.done)
        except asyncio.CancelledError:
            if call.done.cancelled():
                raise
            await asyncio.wait([call.done])
            return call.done.result()

    def _start(self) -> None:
        while self._free and self._waiting:
            self._free -= 1
            task = asyncio.get_running_loop().create_task(self._run(self._take()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> list[_Call[A, R]]:
        taken: list[_Call[A, R]] = []
        args: list[A] = []
        left = []
        for call in self._waiting:
            if args and not self._fits(args, call.arg):
                left.append(call)
                continue
            taken.append(call)
            args.append(call.arg)
        self._waiting = left
        return taken

    async def _run(self, calls: list[_Call[A, R]]) -> None:
        try:
            if len(calls) > 1:
                await self._together(calls)
            else:
                await self._alone(calls[0])
        except BaseException:
            for call in calls:
                call.done.cancel()  # only those not settled: the task itself was cancelled
            raise
        finally:
            self._free += 1
            self._start()

    async def _together(self, calls: list[_Call[A, R]]) -> None:
        try:
            results = await self._group([c.arg for c in calls])
        except Exception as error:
            own = self._blame(error, [c.arg for c in calls])
            if own is not None:
                calls[own].done.set_exception(error)
                rest = calls[:own] + calls[own + 1 :]
                await (self._together(rest) if len(rest) > 1 else self._alone(rest[0]))
            elif self._retry(error):
                await asyncio.gather(*(self._alone(c) for c in calls))
            else:
                for call in calls:
                    call.done.set_exception(error)
            return
        for call, result in zip(calls, results, strict=True):
            call.done.set_result(result)

    async def _alone(self, call: _Call[A, R]) -> None:
        try:
            result = await self._one(call.arg)
        except Exception as error:
            call.done.set_exception(error)
        else:
            call.done.set_result(result)
