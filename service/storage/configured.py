"""The object backend the settings name, and its place in the web application."""

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from service.config import BackendSettings, Settings
from service.storage.backend import ObjectBackend
from service.storage.localfs import LocalFsBackend
from service.storage.s3 import S3Backend, S3Settings

OBJECTS = web.AppKey("objects", ObjectBackend)
"""The object backend images and object storage keep their bytes in."""


def backend_for(settings: Settings) -> ObjectBackend:
    """`local`: files under <data_dir>/objects; `s3`: the configured bucket (created if
    missing)."""
    if settings.object_backend == "s3":
        assert settings.s3_bucket is not None  # checked by load_settings
        return s3_backend(settings, settings.s3_bucket)
    return LocalFsBackend(settings.data_dir / "objects")


def declared_backend(settings: Settings, declared: BackendSettings, folder: Path) -> ObjectBackend:
    """A backend the settings declare (an image store, a storage policy): its bucket at
    the configured S3 endpoint (created if missing), or the local `folder`."""
    if declared.type == "s3":
        assert declared.bucket is not None  # checked by load_settings
        return s3_backend(settings, declared.bucket)
    return LocalFsBackend(folder)


def s3_backend(settings: Settings, bucket: str) -> S3Backend:
    """A bucket at the configured S3 endpoint, with its credentials (created if missing)."""
    return S3Backend(
        S3Settings(
            bucket=bucket,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
            create_bucket=True,
        )
    )


async def objects_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the backend before serving and close it after."""
    async with app[OBJECTS]:
        yield
