import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service.identity.fernet_keys import KeyRepository, KeyRepositoryError, KeyRing

NOW = 1_700_000_000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names(path: Path) -> set[str]:
    return set(os.listdir(path))


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    repository = KeyRepository(tmp_path / "fernet-keys")
    repository.ensure()
    return repository


def test_ensure_creates_a_private_folder_with_staged_and_primary_keys(
    tmp_path: Path,
) -> None:
    repository = KeyRepository(tmp_path / "a" / "keys")
    repository.ensure()
    assert mode(repository.path) == 0o700
    assert names(repository.path) == {"0", "1"}
    for name in ("0", "1"):
        key_file = repository.path / name
        assert mode(key_file) == 0o600
        Fernet(key_file.read_bytes())  # a valid key
    assert (repository.path / "0").read_bytes() != (repository.path / "1").read_bytes()


def test_ensure_leaves_a_populated_folder_alone(repo: KeyRepository) -> None:
    before = {name: (repo.path / name).read_bytes() for name in names(repo.path)}
    repo.ensure()
    assert {name: (repo.path / name).read_bytes() for name in names(repo.path)} == before


def test_ensure_completes_a_folder_with_only_a_staged_key(tmp_path: Path) -> None:
    tmp_path.joinpath("0").write_bytes(staged := Fernet.generate_key())
    KeyRepository(tmp_path).ensure()
    assert names(tmp_path) == {"0", "1"}
    assert tmp_path.joinpath("1").read_bytes() == staged


def test_ensure_restores_a_missing_staged_key(repo: KeyRepository) -> None:
    (repo.path / "0").unlink()
    repo.ensure()
    assert names(repo.path) == {"0", "1"}


def test_rotate_promotes_the_staged_key_and_stages_a_new_one(repo: KeyRepository) -> None:
    staged = (repo.path / "0").read_bytes()
    assert repo.rotate() == 2
    assert names(repo.path) == {"0", "1", "2"}
    assert (repo.path / "2").read_bytes() == staged
    assert (repo.path / "0").read_bytes() != staged
    assert mode(repo.path / "0") == 0o600


def test_rotate_prunes_the_oldest_secondaries_beyond_max_active_keys(tmp_path: Path) -> None:
    # As keystone-manage fernet_rotate: the count includes the staged and primary keys.
    repository = KeyRepository(tmp_path, max_active_keys=3)
    repository.ensure()
    repository.rotate()
    assert names(tmp_path) == {"0", "1", "2"}
    repository.rotate()
    assert names(tmp_path) == {"0", "2", "3"}
    repository.rotate()
    assert names(tmp_path) == {"0", "3", "4"}


def test_rotate_prunes_several_keys_after_max_active_keys_shrinks(tmp_path: Path) -> None:
    repository = KeyRepository(tmp_path, max_active_keys=5)
    repository.ensure()
    for _ in range(3):
        repository.rotate()
    assert names(tmp_path) == {"0", "1", "2", "3", "4"}
    KeyRepository(tmp_path, max_active_keys=2).rotate()
    assert names(tmp_path) == {"0", "5"}


def test_rotate_without_a_staged_key_fails(repo: KeyRepository) -> None:
    (repo.path / "0").unlink()
    with pytest.raises(KeyRepositoryError, match="no staged key"):
        repo.rotate()


def test_max_active_keys_must_keep_staged_and_primary(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        KeyRepository(tmp_path, max_active_keys=1)


def test_keys_are_primary_first_then_newest_to_oldest_then_staged(tmp_path: Path) -> None:
    repository = KeyRepository(tmp_path, max_active_keys=4)
    repository.ensure()
    repository.rotate()
    repository.rotate()
    keys = repository.keys()
    assert [key.index for key in keys] == [3, 2, 1, 0]
    assert [key.material for key in keys] == [
        tmp_path.joinpath(str(i)).read_bytes() for i in (3, 2, 1, 0)
    ]


def test_keys_orders_numerically_and_ignores_other_files(repo: KeyRepository) -> None:
    for _ in range(9):
        repo.rotate()  # primary 10: "10" sorts before "9" as text
    (repo.path / ".tmp-leftover").write_bytes(b"junk")
    (repo.path / "README").write_bytes(b"junk")
    assert [key.index for key in repo.keys()] == [10, 9, 0]


def test_keys_tolerate_a_trailing_newline(repo: KeyRepository) -> None:
    key = Fernet.generate_key()
    (repo.path / "1").write_bytes(key + b"\n")
    assert repo.keys()[0].material == key


def test_a_file_that_is_not_a_key_is_an_error(repo: KeyRepository) -> None:
    (repo.path / "1").write_bytes(b"not a key")
    with pytest.raises(KeyRepositoryError, match="not a Fernet key"):
        repo.keys()


def test_no_temporary_files_are_left_behind(repo: KeyRepository) -> None:
    repo.rotate()
    assert all(name.isdigit() for name in names(repo.path))


def test_key_ring_encrypts_with_the_primary_key(repo: KeyRepository) -> None:
    token = KeyRing(repo).encrypt(b"data", NOW)
    primary = Fernet((repo.path / "1").read_bytes())
    assert primary.decrypt(token) == b"data"
    assert primary.extract_timestamp(token) == NOW


def test_key_ring_decrypts_with_any_key_including_the_staged_one(repo: KeyRepository) -> None:
    repo.rotate()
    ring = KeyRing(repo)
    for name in ("0", "1", "2"):
        token = Fernet((repo.path / name).read_bytes()).encrypt(b"data")
        assert ring.decrypt(token) == b"data"


def test_key_ring_refuses_foreign_and_tampered_tokens(repo: KeyRepository) -> None:
    ring = KeyRing(repo)
    assert ring.decrypt(Fernet(Fernet.generate_key()).encrypt(b"data")) is None
    token = bytearray(ring.encrypt(b"data", NOW))
    token[60] ^= 1
    assert ring.decrypt(bytes(token)) is None
    assert ring.decrypt(b"not a token") is None


def test_a_token_survives_rotations_until_its_key_is_pruned(tmp_path: Path) -> None:
    repository = KeyRepository(tmp_path, max_active_keys=4)
    repository.ensure()
    ring = KeyRing(repository, refresh_interval=0)
    token = ring.encrypt(b"data", NOW)  # key 1
    repository.rotate()
    assert ring.decrypt(token) == b"data"
    repository.rotate()
    assert ring.decrypt(token) == b"data"
    repository.rotate()  # prunes key 1
    assert ring.decrypt(token) is None


def test_a_second_ring_on_the_folder_follows_rotations(repo: KeyRepository) -> None:
    writer = KeyRing(repo, refresh_interval=0)
    reader = KeyRing(KeyRepository(repo.path), refresh_interval=3600)
    repo.rotate()
    repo.rotate()  # primary 3 was staged after the reader loaded: it does not know it
    new_primary = Fernet((repo.path / "3").read_bytes())
    new_token = writer.encrypt(b"data", NOW)
    assert new_primary.decrypt(new_token) == b"data"
    # The reader's periodic check is far off; the failed decrypt makes it look again.
    assert reader.decrypt(new_token) == b"data"
    assert new_primary.decrypt(reader.encrypt(b"x", NOW)) == b"x"


def test_a_ring_checks_the_folder_at_most_once_per_interval(repo: KeyRepository) -> None:
    lazy = KeyRing(repo, refresh_interval=3600)
    eager = KeyRing(repo, refresh_interval=0)
    repo.rotate()
    old_primary = Fernet((repo.path / "1").read_bytes())
    new_primary = Fernet((repo.path / "2").read_bytes())
    assert old_primary.decrypt(lazy.encrypt(b"x", NOW)) == b"x"
    assert new_primary.decrypt(eager.encrypt(b"x", NOW)) == b"x"


def test_a_ring_needs_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyRepositoryError):
        KeyRing(KeyRepository(tmp_path / "missing"))
    with pytest.raises(KeyRepositoryError, match="no Fernet keys"):
        KeyRing(KeyRepository(tmp_path))


def test_a_ring_that_has_not_reloaded_opens_tokens_of_the_promoted_key(
    repo: KeyRepository,
) -> None:
    # Why keys are staged first: every process already holds the next primary.
    stale = KeyRing(repo, refresh_interval=3600)
    repo.rotate()
    fresh = KeyRing(repo)
    assert stale.decrypt(fresh.encrypt(b"data", NOW)) == b"data"
