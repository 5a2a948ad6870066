"""A Keystone-style Fernet key repository in a folder, and the key ring built on it.

The folder holds one key per file, named by index: `0` is the staged key (the next
primary, already accepted so every process knows it before it signs anything), the
highest index is the primary (encrypts new tokens), the others are secondaries (only
decrypt). Rotation works like `keystone-manage fernet_rotate`, so a Keystone key folder
can be used as it is.
"""

import fcntl
import os
import tempfile
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

STAGED = 0


class KeyRepositoryError(Exception):
    """The key folder is missing, empty, or holds something that is not a Fernet key."""


@dataclass(frozen=True, slots=True)
class Key:
    """One key file: its index in the folder and its Fernet key."""

    index: int
    material: bytes


class KeyRepository:
    """The key files in one folder. Keys are written atomically (temp file + rename) with
    mode 0600; `ensure` and `rotate` hold an exclusive lock on the folder, so concurrent
    runs from several processes do not interleave."""

    def __init__(self, path: Path | str, max_active_keys: int = 3) -> None:
        """`max_active_keys` counts every key kept, staged and primary included (as in
        Keystone: 3 = staged + primary + one secondary); at least 2."""
        if max_active_keys < 2:
            raise ValueError("max_active_keys must be at least 2 (staged + primary)")
        self.path = Path(path)
        self.max_active_keys = max_active_keys

    def ensure(self) -> None:
        """Create the folder (mode 0700) if missing, a staged key if missing, and a primary
        key if there is none. Does nothing to a folder that already has both."""
        if not self.path.is_dir():
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.path.chmod(0o700)
        with self._locked():
            if STAGED not in self._indexes():
                self._write_key(STAGED)
            if max(self._indexes()) == STAGED:
                self._rotate()

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a fresh key, then delete the oldest
        secondaries beyond `max_active_keys`. Returns the new primary's index; raises
        KeyRepositoryError if there is no staged key (see `ensure`)."""
        with self._locked():
            return self._rotate()

    def keys(self) -> list[Key]:
        """The keys, primary first, then the secondaries newest to oldest, staged last.
        A file removed meanwhile by a rotation elsewhere is skipped; a file that is not a
        Fernet key raises KeyRepositoryError."""
        keys = []
        for index in sorted(self._indexes(), reverse=True):
            try:
                material = (self.path / str(index)).read_bytes().strip()
            except FileNotFoundError:
                continue
            try:
                Fernet(material)
            except ValueError as e:
                raise KeyRepositoryError(f"{self.path / str(index)} is not a Fernet key") from e
            keys.append(Key(index, material))
        return keys

    def fingerprint(self) -> Hashable:
        """A cheap value that changes whenever keys are added, promoted or removed."""
        try:
            return self.path.stat().st_mtime_ns, tuple(sorted(self._indexes()))
        except FileNotFoundError as e:
            raise KeyRepositoryError(f"key folder {self.path} does not exist") from e

    def _indexes(self) -> set[int]:
        return {int(n) for n in os.listdir(self.path) if n.isascii() and n.isdigit()}

    def _rotate(self) -> int:
        indexes = self._indexes()
        if STAGED not in indexes:
            raise KeyRepositoryError(f"{self.path} has no staged key to promote")
        primary = max(indexes) + 1
        os.rename(self.path / str(STAGED), self.path / str(primary))
        self._write_key(STAGED)
        # After the promotion the folder holds len(indexes) + 1 keys.
        excess = len(indexes) + 1 - self.max_active_keys
        for old in sorted(indexes - {STAGED})[: max(excess, 0)]:
            (self.path / str(old)).unlink()
        self._sync_folder()
        return primary

    def _write_key(self, index: int) -> None:
        fd, temp = tempfile.mkstemp(dir=self.path, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path / str(index))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._sync_folder()

    def _sync_folder(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class KeyRing:
    """Encrypts with the primary key and decrypts with any key of a repository, picking up
    rotations made by other processes without a restart: the folder is checked at most
    once per `refresh_interval` seconds, and once more whenever a token fails to decrypt.
    Blocking file access is a stat and a listing per check, plus reading the few key
    files after a change."""

    def __init__(self, repository: KeyRepository, *, refresh_interval: float = 1.0) -> None:
        """Loads the keys now; KeyRepositoryError if the folder is missing or empty."""
        self._repository = repository
        self._refresh_interval = refresh_interval
        self._fingerprint: Hashable = None
        self._fernet = self._load()
        self._checked_at = time.monotonic()

    def encrypt(self, data: bytes, at_time: int) -> bytes:
        """A Fernet token of `data` under the primary key, stamped `at_time` (Unix seconds)."""
        self._refresh(force=False)
        return self._fernet.encrypt_at_time(data, at_time)

    def decrypt(self, token: bytes) -> bytes | None:
        """The data of a Fernet token made with any key in the folder; None if no key
        opens it (tampered, garbage, or made with a key since removed). Token age is
        not checked."""
        self._refresh(force=False)
        data = self._try_decrypt(token)
        if data is None and self._refresh(force=True):
            data = self._try_decrypt(token)
        return data

    def _try_decrypt(self, token: bytes) -> bytes | None:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            return None

    def _refresh(self, *, force: bool) -> bool:
        """Reload the keys if the folder changed; whether it did."""
        now = time.monotonic()
        if not force and now - self._checked_at < self._refresh_interval:
            return False
        self._checked_at = now
        if self._repository.fingerprint() == self._fingerprint:
            return False
        self._fernet = self._load()
        return True

    def _load(self) -> MultiFernet:
        # Fingerprint first: a change made while reading shows up at the next check.
        fingerprint = self._repository.fingerprint()
        keys = self._repository.keys()
        if not keys:
            raise KeyRepositoryError(f"no Fernet keys in {self._repository.path}")
        self._fingerprint = fingerprint
        return MultiFernet([Fernet(key.material) for key in keys])
