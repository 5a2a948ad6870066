"""Settings from the environment and an optional TOML file."""

import os
from pathlib import Path

import pytest

from service.config import ConfigError, load_settings, store_path
from service.http_workers import settings_env


def test_defaults_without_any_setting() -> None:
    settings = load_settings({})
    assert settings.listen == "127.0.0.1:8080"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.database_url is None and settings.object_backend == "local"
    assert settings.workers == (os.cpu_count() or 1)  # one serving process per core


def test_workers_are_one_or_more() -> None:
    assert load_settings({"KUMO_WORKERS": "1"}).workers == 1
    with pytest.raises(ConfigError, match="KUMO_WORKERS must be 1 or more"):
        load_settings({"KUMO_WORKERS": "-2"})


def test_environment_values_are_converted_to_their_types() -> None:
    settings = load_settings(
        {
            "KUMO_DATA_DIR": "/srv/kumo",
            "KUMO_LISTEN": "0.0.0.0:9000",
            "KUMO_POSTGRES_PORT": "6000",
            "KUMO_LOCKOUT_FAILURE_ATTEMPTS": "3",
            "KUMO_PUBLIC_URL": "https://cloud.example/",
        }
    )
    assert settings.data_dir == Path("/srv/kumo")
    assert (settings.host, settings.port, settings.postgres_port) == ("0.0.0.0", 9000, 6000)
    assert settings.lockout_failure_attempts == 3
    assert settings.base_url == "https://cloud.example"


def test_file_values_are_overridden_by_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "kumo.toml"
    config.write_text('listen = "127.0.0.1:7000"\nregion = "Lab"\n')
    settings = load_settings({"KUMO_CONFIG": str(config), "KUMO_LISTEN": "127.0.0.1:7001"})
    assert settings.region == "Lab" and settings.port == 7001


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"KUMO_LISTEN": "nowhere"}, "KUMO_LISTEN"),
        ({"KUMO_LOG_LEVEL": "LOUD"}, "KUMO_LOG_LEVEL"),
        ({"KUMO_POSTGRES_PORT": "many"}, "postgres_port"),
        ({"KUMO_OBJECT_BACKEND": "s3"}, "KUMO_S3_BUCKET"),
        ({"KUMO_CONFIG": "/nonexistent/kumo.toml"}, "KUMO_CONFIG"),
    ],
)
def test_bad_settings_name_the_setting(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(environ)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "kumo.toml"
    config.write_text('lisen = "127.0.0.1:7000"\n')
    with pytest.raises(ConfigError, match="lisen"):
        load_settings({"KUMO_CONFIG": str(config)})


def test_image_stores_in_short_from_the_environment() -> None:
    settings = load_settings(
        {
            "KUMO_DATA_DIR": "/srv/kumo",
            "KUMO_IMAGE_STORES": "fast=local, slow=local:/mnt/slow, cold=s3:cold-images",
            "KUMO_IMAGE_DEFAULT_STORE": "fast",
        }
    )
    stores = settings.image_stores
    assert {k: (v.type, v.path, v.bucket) for k, v in stores.items()} == {
        "fast": ("local", None, None),
        "slow": ("local", Path("/mnt/slow"), None),
        "cold": ("s3", None, "cold-images"),
    }
    assert store_path(settings, "fast") == Path("/srv/kumo/stores/fast")
    assert settings.image_default_store == "fast"
    assert load_settings({}).image_stores == {}


def test_image_stores_from_the_file_go_to_workers_and_back(tmp_path: Path) -> None:
    config = tmp_path / "kumo.toml"
    config.write_text(
        'image_default_store = "cold"\n'
        '[image_stores.cold]\ntype = "s3"\nbucket = "cold"\ndescription = "Cold, cheap"\n'
    )
    settings = load_settings({"KUMO_CONFIG": str(config)})
    assert settings.image_stores["cold"].description == "Cold, cheap"
    assert load_settings(settings_env(settings)) == settings


@pytest.mark.parametrize(
    ("stores", "problem"),
    [
        ("default=local", "reserved"),
        ("os_glance_staging_store=local", "reserved"),
        ("a b=local", "ids are"),
        ("fast=ceph", "local or s3"),
        ("cold=s3", "needs a bucket"),
        ("a=local:/x,b=local:/x", "another store"),
        ("a=local:/srv/kumo/objects", "another store"),
        ("{not json", "KUMO_IMAGE_STORES"),
    ],
)
def test_bad_image_stores_are_refused(stores: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings({"KUMO_DATA_DIR": "/srv/kumo", "KUMO_IMAGE_STORES": stores})


def test_the_default_image_store_must_exist() -> None:
    with pytest.raises(ConfigError, match="KUMO_IMAGE_DEFAULT_STORE"):
        load_settings({"KUMO_IMAGE_STORES": "fast=local", "KUMO_IMAGE_DEFAULT_STORE": "slow"})


def test_storage_policies_in_short_from_the_environment() -> None:
    settings = load_settings(
        {
            "KUMO_DATA_DIR": "/srv/kumo",
            "KUMO_OBJECT_POLICIES": "gold=local, silver=local:/mnt/silver, cold=s3:cold-objects",
            "KUMO_OBJECT_DEFAULT_POLICY": "gold",
        }
    )
    policies = settings.object_policies
    assert {k: (v.type, v.path, v.bucket) for k, v in policies.items()} == {
        "gold": ("local", None, None),
        "silver": ("local", Path("/mnt/silver"), None),
        "cold": ("s3", None, "cold-objects"),
    }
    assert settings.object_default_policy == "gold"
    assert load_settings(settings_env(settings)) == settings
    assert load_settings({}).object_policies == {}
    assert load_settings({}).object_default_policy == "Policy-0"


def test_storage_policies_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "kumo.toml"
    config.write_text(
        'object_default_policy = "cold"\n[object_policies.cold]\ntype = "s3"\nbucket = "c"\n'
    )
    settings = load_settings({"KUMO_CONFIG": str(config)})
    assert settings.object_policies["cold"].bucket == "c"
    assert load_settings(settings_env(settings)) == settings


@pytest.mark.parametrize(
    ("policies", "problem"),
    [
        ("Policy-0=local", "taken or reserved"),
        ("policy-7=local", "taken or reserved"),
        ("gold=local,GOLD=local:/x", "taken or reserved"),
        ("gold_2=local", "letters, digits and -"),
        ("gold=ceph", "local or s3"),
        ("cold=s3", "an s3 policy needs a bucket"),
        ("a=local:/x,b=local:/x", "another policy"),
        ("a=local:/srv/kumo/objects", "another policy"),
        ("{not json", "KUMO_OBJECT_POLICIES"),
    ],
)
def test_bad_storage_policies_are_refused(policies: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings({"KUMO_DATA_DIR": "/srv/kumo", "KUMO_OBJECT_POLICIES": policies})


def test_the_default_storage_policy_must_exist() -> None:
    with pytest.raises(ConfigError, match="KUMO_OBJECT_DEFAULT_POLICY"):
        load_settings({"KUMO_OBJECT_POLICIES": "gold=local", "KUMO_OBJECT_DEFAULT_POLICY": "cold"})


@pytest.mark.parametrize(("value", "force"), [(None, None), ("true", True), ("false", False)])
def test_force_config_drive_is_unset_true_or_false_and_reaches_workers(
    value: str | None, force: bool | None
) -> None:
    settings = load_settings({} if value is None else {"KUMO_FORCE_CONFIG_DRIVE": value})
    assert settings.force_config_drive is force
    assert load_settings(settings_env(settings)).force_config_drive is force
