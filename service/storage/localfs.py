"""Objects as files under a root folder: the embedded default of `kumo up`.

Layout: a key's `/`-separated segments become folders, but its last two share the file's
name, so "objects/p/c/name/v1" is stored at `<root>/objects%2F/p%2F/c%2F/name%2Fv1.o`
(one new inode for each object version, where a folder of its own would be two, and
inode allocation is what ext4 spends most on in a small put). Each segment is
percent-escaped (everything but ASCII letters, digits, `_` and `-`; so `.` and `..`
cannot climb out), folders end in `%2F` and files in `.o`, so "a", "a/b" and "a/b/c" can
all exist. When the two segments' name would be longer than a file name may be (255
bytes), the last one is a file in a folder of the one before, as every key was stored
until the last two shared a name; reads and deletes look there too when the shared name
is missing. An escaped segment longer than a file name is an InvalidKey.

A put writes `~tmp-<random>` in the target's folder, fsyncs it and renames it over the
target, so readers and crashes see the old object or the new one, never a part. A crash
mid-put can leave a `~tmp-` file behind (never listed). Hashes are kept in the file's
`user.kumo.hashes` extended attribute, set before the rename; on filesystems without user
xattrs `head` returns no hashes and the etag is `<mtime_ns>-<size>` in hex. Folders
emptied by deletes stay. Blocking file I/O runs in worker threads; a DirectStream of more
than one block is read, hashed and written by threads of the put's own, from start to
rename (`Digest.read_through`).
"""

import asyncio
import contextlib
import errno
import functools
import os
import secrets
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Collection
from contextlib import aclosing
from datetime import UTC, datetime
from io import BufferedReader, BufferedWriter
from pathlib import Path
from typing import ParamSpec, TypeVar, cast
from urllib.parse import quote, unquote

import msgspec

from service.storage.backend import (
    ALL_HASHES,
    BackendUnavailable,
    DirectReader,
    DirectStream,
    Hashes,
    HashName,
    InvalidKey,
    ObjectBackend,
    ObjectNotFound,
    ObjectReader,
    StoredObject,
    check_key,
    resolve_range,
)
from service.storage.digest import Block, Digest, hashed_blocks
from service.threads import in_own_thread

MiB = 1024 * 1024
CHUNK_SIZE = MiB
"""What a get reads at a time. 4 MiB took about a fifth less server CPU per GiB sent, but
raised the server's peak RSS during a 1 GiB GET by ~30 MiB (benchmarks/RESULTS.md)."""
BLOCK_SIZE = 4 * MiB
_WRITE_BYTES = 64 * 1024
"""What a direct put writes at a time. The page cache takes a write's bytes in folios as
large as the write (ext4's large folios): 256 KiB and 4 MiB writes drew them from the
high-order free memory that this VM's balloon has handed back to the host, whose first
touch cost the kernel's copy 1.5-2.5 s of CPU per GiB (while earlier images stay cached);
64 KiB writes cost 0.3-0.4 s there (benchmarks/RESULTS.md)."""
MAX_NAME_BYTES = 255
_FOLDER_SUFFIX = "%2F"
_FILE_SUFFIX = ".o"
_TEMP_PREFIX = "~tmp-"
_HASHES_XATTR = "user.kumo.hashes"

P = ParamSpec("P")
T = TypeVar("T")

Opened = tuple[BufferedReader | bytes, StoredObject, int, int]
"""What `_open_at` gives: the file at the range's offset (or the range's bytes, the file
closed), the object, the offset and the length of the range."""


class LocalFsBackend(ObjectBackend):
    """Stores each object as one file under `root` (created by `start` or the first put)."""

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE, block_size: int = BLOCK_SIZE):
        """`chunk_size`: what a get reads at a time; `block_size`: what a put writes."""
        self.root = root
        self._chunk_size = chunk_size
        self._block_size = block_size

    async def start(self) -> None:
        await self._run(self.root.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        pass

    async def put(
        self,
        key: str,
        stream: AsyncIterable[bytes],
        *,
        size_hint: int | None = None,
        expected_md5: str | None = None,
        hashes: Collection[HashName] = ALL_HASHES,
    ) -> StoredObject:
        path = self._path(key)
        temp = path.with_name(_TEMP_PREFIX + secrets.token_hex(8))
        digest = Digest(hashes)
        # A DirectStream, told by its attribute: isinstance against a Protocol costs a
        # small object's put more than its file's name does.
        direct = cast(DirectStream, stream) if hasattr(stream, "direct") else None
        if direct is not None and direct.size > self._block_size:
            reader = direct.direct()
            if reader is not None:
                receive = functools.partial(
                    self._receive, key, temp, path, reader, direct.size, digest, expected_md5
                )
                return await in_own_thread(receive, stop=reader.abort, name="kumo-put")
        file: BufferedWriter | None = None
        try:
            async with aclosing(hashed_blocks(stream, self._block_size, digest)) as blocks:
                first = await anext(blocks, None)
                following = None if first is None else await anext(blocks, None)
                if first is None or following is None:
                    # One block at most: stored in one worker-thread hand-off, not three.
                    stored = digest.verify(key, expected_md5)
                    info = await self._run(_store, key, temp, path, first or [], stored)
                    return msgspec.structs.replace(info, hashes=stored)
                file = await self._run(_create, temp)
                await self._run(_write, file, first)
                await self._run(_write, file, following)
                async for block in blocks:
                    await self._run(_write, file, block)
            stored = digest.verify(key, expected_md5)
            info = await self._run(_commit, key, file, temp, path, stored)
        except BaseException:
            # Synchronous on purpose: it must finish even when the task is being cancelled.
            # (A write still running in its thread holds the file's lock; close waits.)
            if file is not None:
                file.close()
            with contextlib.suppress(OSError):  # the store's own error is the one to raise
                temp.unlink(missing_ok=True)
            raise
        return msgspec.structs.replace(info, hashes=stored)

    async def get(
        self, key: str, *, byte_range: tuple[int, int | None] | None = None
    ) -> ObjectReader:
        opened, info, offset, length = await self._open_or_close(key, byte_range)
        if isinstance(opened, bytes):
            if len(opened) < length:
                raise BackendUnavailable(f"local object {key!r} was truncated while read")
            return ObjectReader(
                info, offset=offset, content_length=length, chunks=_once(opened), release=_nothing
            )
        file = opened
        reader = ObjectReader(
            info,
            offset=offset,
            content_length=length,
            chunks=self._chunks(file, length),
            release=functools.partial(asyncio.to_thread, file.close),
            fileno=file.fileno(),
        )
        # A reader dropped unclosed (a response abandoned mid-stream, a generator never
        # finalised) still gives its file back when it is collected.
        weakref.finalize(reader, file.close)
        return reader

    async def _open_or_close(self, key: str, byte_range: tuple[int, int | None] | None) -> Opened:
        """Open the object's file at the range's start, or read the range at once when it
        fits in one chunk (see `_open_at`); if the caller is cancelled while the worker
        thread opens it, the file is closed when the thread finishes, not left open."""
        path = self._path(key)
        opening = asyncio.ensure_future(
            self._run(_open_at, key, path, byte_range, self._chunk_size)
        )
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(_close_opened)
            raise

    async def head(self, key: str) -> StoredObject | None:
        try:
            file, info = await self._run(_open, key, self._path(key))
        except ObjectNotFound:
            return None
        file.close()
        return info

    async def delete(self, key: str) -> bool:
        return await self._run(_unlink, self._path(key))

    async def list(self, prefix: str = "") -> AsyncIterator[str]:
        *folders, partial = prefix.split("/")
        if folders:  # keys under "a/b/" are also files in "a/" named "b/..."
            partial = f"{folders.pop()}/{partial}"
        start = self.root.joinpath(*(_escape(folder + "/") for folder in folders))
        async for key in self._walk(start, "".join(f"{folder}/" for folder in folders), partial):
            yield key

    async def copy(self, src: str, dst: str) -> StoredObject:
        async with await self.get(src) as reader:
            return await self.put(dst, reader, size_hint=reader.size)

    async def _walk(self, folder: Path, base: str, partial: str) -> AsyncIterator[str]:
        """The keys in `folder` (whose keys start with `base`) whose rest starts with
        `partial`, in lexical order."""
        # Entries sort by their key text: "seg" or "seg/last" for a file, "seg/" for a
        # folder (a file of the same text first). Every key under an entry starts with its
        # text, and the files beside folder "seg/" that start with "seg/" come right after
        # it, so merging each folder's walk with those files yields lexical order.
        entries = await self._run(_entries, folder)
        index = 0
        while index < len(entries):
            text, is_folder, path = entries[index]
            index += 1
            if not is_folder:
                if text.startswith(partial):
                    yield base + text
                continue
            if not (text.startswith(partial) or partial.startswith(text)):
                continue
            beside = []
            while index < len(entries) and entries[index][0].startswith(text):
                if entries[index][0].startswith(partial):
                    beside.append(base + entries[index][0])
                index += 1
            inner = self._walk(path, base + text, partial[len(text) :])
            async for key in _merged(inner, beside):
                yield key

    async def _chunks(self, file: BufferedReader, length: int) -> AsyncGenerator[bytes, None]:
        """The next `length` bytes of `file` in chunks, each read in a worker thread while
        the caller handles the one before (so at most two are held)."""
        if length == 0:
            return
        reading = asyncio.ensure_future(self._run(file.read, min(self._chunk_size, length)))
        try:
            while length > 0:
                block = await reading
                if not block:
                    raise BackendUnavailable(f"local object {file.name} was truncated while read")
                length -= len(block)
                if length > 0:
                    reading = asyncio.ensure_future(
                        self._run(file.read, min(self._chunk_size, length))
                    )
                yield block
        finally:
            # A read still under way holds the file's lock, so closing the file waits for it;
            # one that failed unseen is of no interest any more.
            reading.cancel()
            if reading.done() and not reading.cancelled():
                reading.exception()

    def _receive(
        self,
        key: str,
        temp: Path,
        path: Path,
        reader: DirectReader,
        size: int,
        digest: Digest,
        expected_md5: str | None,
    ) -> StoredObject:
        """A whole put of `size` bytes from `reader`, in the calling thread (see put)."""
        try:
            file = self._unusable_on_error(_create, temp)
            try:
                digest.read_through(
                    reader.readinto,
                    size,
                    lambda buffer: self._unusable_on_error(_write_all, file, buffer),
                )
                stored = digest.verify(key, expected_md5)
                info = self._unusable_on_error(_commit, key, file, temp, path, stored)
            except BaseException:
                file.close()
                with contextlib.suppress(OSError):  # the store's own error is the one to raise
                    temp.unlink(missing_ok=True)
                raise
        finally:
            reader.close()
        return msgspec.structs.replace(info, hashes=stored)

    def _path(self, key: str) -> Path:
        """Where `key` is stored (see the module's layout)."""
        check_key(key)
        *folders, name = key.split("/")
        names = [_escape(folder + "/") for folder in folders] + [_escape(name) + _FILE_SUFFIX]
        if any(len(escaped) > MAX_NAME_BYTES for escaped in names):  # escaped is ASCII
            raise InvalidKey(f"a segment of object key {key!r} is too long for a file name")
        if folders and len(names[-2]) + len(names[-1]) <= MAX_NAME_BYTES:
            names[-2:] = [names[-2] + names[-1]]
        return self.root.joinpath(*names)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn` in a worker thread; an OSError from it becomes BackendUnavailable."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except OSError as error:
            raise self._unusable(error) from error

    def _unusable_on_error(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn`, in this thread; an OSError from it becomes BackendUnavailable."""
        try:
            return fn(*args, **kwargs)
        except OSError as error:
            raise self._unusable(error) from error

    def _unusable(self, error: OSError) -> BackendUnavailable:
        return BackendUnavailable(f"local object store at {self.root} is unusable: {error}")


def _escape(segment: str) -> str:
    return quote(segment, safe="").replace(".", "%2E").replace("~", "%7E")


def _create(temp: Path) -> BufferedWriter:
    """The temp file, opened for writing (closed by _commit or put's cleanup); its folders
    are made only when missing (most puts go to a folder that exists)."""
    try:
        return open(temp, "xb")
    except FileNotFoundError:
        temp.parent.mkdir(parents=True, exist_ok=True)
        return open(temp, "xb")


def _store(key: str, temp: Path, path: Path, block: Block, hashes: Hashes) -> StoredObject:
    """`_create`, `_write` and `_commit` of a whole object in one call."""
    file = _create(temp)
    try:
        _write(file, block)
    except BaseException:
        file.close()
        raise
    return _commit(key, file, temp, path, hashes)


def _write(file: BufferedWriter, block: Block) -> None:
    for piece in block:  # a piece bigger than the buffer goes straight to the file
        file.write(piece)


def _write_all(file: BufferedWriter, buffer: memoryview) -> None:
    for start in range(0, len(buffer), _WRITE_BYTES):
        file.write(buffer[start : start + _WRITE_BYTES])


def _commit(key: str, file: BufferedWriter, temp: Path, path: Path, hashes: Hashes) -> StoredObject:
    """Makes the temp file durable, with its hashes, and renames it to `path`."""
    with file:
        file.flush()
        try:
            os.setxattr(file.fileno(), _HASHES_XATTR, msgspec.json.encode(hashes))
        except OSError as error:
            if error.errno != errno.ENOTSUP:
                raise
        os.fsync(file.fileno())
        info = _describe(key, file.fileno())
    os.replace(temp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # makes the rename itself durable
    finally:
        os.close(folder)
    return info


def _close_opened(opening: "asyncio.Future[Opened]") -> None:
    if not opening.cancelled() and opening.exception() is None:
        opened = opening.result()[0]
        if not isinstance(opened, bytes):
            opened.close()


def _open_at(
    key: str, path: Path, byte_range: tuple[int, int | None] | None, read_at_most: int
) -> Opened:
    """The object's file positioned at the range's start; when the range is no longer
    than `read_at_most`, its bytes instead (read, and the file closed, in the same call:
    a small object costs one worker-thread hand-off, not four)."""
    file, info = _open(key, path)
    try:
        offset, length = resolve_range(key, byte_range, info.size)
        if offset:
            file.seek(offset)
        if length > read_at_most:
            return file, info, offset, length
        with file:
            return file.read(length), info, offset, length
    except BaseException:
        file.close()
        raise


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    if data:
        yield data


async def _nothing() -> None:
    pass


def _open(key: str, path: Path) -> tuple[BufferedReader, StoredObject]:
    """The open file and what it holds; ObjectNotFound if there is none."""
    for place in _places(path):
        try:
            file = open(place, "rb")  # handed to the caller
            break
        except FileNotFoundError:
            continue
    else:
        raise ObjectNotFound(key)
    try:
        return file, _describe(key, file.fileno())
    except BaseException:
        file.close()
        raise


def _describe(key: str, fd: int) -> StoredObject:
    stat = os.fstat(fd)
    try:
        hashes: Hashes | None = msgspec.json.decode(os.getxattr(fd, _HASHES_XATTR), type=Hashes)
    except OSError as error:
        if error.errno not in (errno.ENODATA, errno.ENOTSUP):
            raise
        hashes = None
    return StoredObject(
        key=key,
        size=stat.st_size,
        etag=hashes.md5 if hashes else f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
        last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        hashes=hashes,
    )


def _unlink(path: Path) -> bool:
    """Removes the key's file, and its file of the nested layout; False if neither was."""
    removed = False
    for place in _places(path):
        try:
            place.unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def _places(path: Path) -> list[Path]:
    """`path`, and where its key was stored before its last two segments shared a file
    name (a file in a folder of the one before) when that is another place."""
    folder, joint, name = path.name.rpartition(_FOLDER_SUFFIX)
    return [path, path.parent / (folder + joint) / name] if joint else [path]


async def _merged(keys: AsyncIterator[str], beside: list[str]) -> AsyncIterator[str]:
    """`keys` and `beside`, both sorted, as one sorted stream; a key in both (stored in
    both layouts) once."""
    index = 0
    async for key in keys:
        while index < len(beside) and beside[index] < key:
            yield beside[index]
            index += 1
        if index < len(beside) and beside[index] == key:
            index += 1
        yield key
    for key in beside[index:]:
        yield key


def _entries(folder: Path) -> list[tuple[str, bool, Path]]:
    """The folder's objects and subfolders as (key text, is a folder, path), sorted."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if name.endswith(_FOLDER_SUFFIX):
            found.append((unquote(name), True, folder / name))
        elif name.endswith(_FILE_SUFFIX):  # not a ~tmp- file
            found.append((unquote(name.removesuffix(_FILE_SUFFIX)), False, folder / name))
    return sorted(found)
