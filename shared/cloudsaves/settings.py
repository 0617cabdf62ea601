"""Configuration, read once per container from the environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    bucket_name: str = ""
    # The JWT signing secret: given directly (local stack, tests) or fetched from Secrets Manager (AWS).
    jwt_secret: str = ""
    jwt_secret_arn: str = ""
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Bodies above this go through the direct-upload flow; API Gateway + Lambda cap requests near 6 MB.
    max_inline_upload_bytes: int = 4 * 1024 * 1024
    # Larger downloads redirect to a presigned URL (Lambda responses cap at 6 MB, base64 inflates).
    max_inline_download_bytes: int = 4 * 1024 * 1024
    presigned_url_ttl_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    upload_reservation_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # The RomM API level reported as the heartbeat's SYSTEM.VERSION: clients switch features on by it
    # (negotiate from 4.9.0, device pairing from 5.0.0).
    app_version: str = "5.2.0"
    # Gallery screenshots are images of a screen: a bound far above any real one, below Lambda's 6 MB.
    max_screenshot_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=5 * 1024 * 1024)
    # The RetroArch door's largest file, both ways (no redirects there): Lambda's 6 MB payload holds the
    # base64 of about 4.71 MB, less the event's headers; see README "RetroArch".
    cloud_sync_max_file_bytes: int = Field(default=4_700_000, ge=1, le=4_700_000)


_ENV_NAMES = {
    "table_name": "TABLE_NAME",
    "bucket_name": "BUCKET_NAME",
    "jwt_secret": "JWT_SECRET",
    "jwt_secret_arn": "JWT_SECRET_ARN",
    "bcrypt_rounds": "BCRYPT_ROUNDS",
    "max_inline_upload_bytes": "MAX_INLINE_UPLOAD_BYTES",
    "max_inline_download_bytes": "MAX_INLINE_DOWNLOAD_BYTES",
    "presigned_url_ttl_seconds": "PRESIGNED_URL_TTL_SECONDS",
    "upload_reservation_ttl_seconds": "UPLOAD_RESERVATION_TTL_SECONDS",
    "app_version": "APP_VERSION",
    "max_screenshot_bytes": "MAX_SCREENSHOT_BYTES",
    "cloud_sync_max_file_bytes": "CLOUD_SYNC_MAX_FILE_BYTES",
}


@functools.cache
def get_settings() -> Settings:
    """The container's settings; tests call `get_settings.cache_clear()` after changing the environment."""
    values = {field: os.environ[env] for field, env in _ENV_NAMES.items() if os.environ.get(env)}
    return Settings.model_validate(values)
