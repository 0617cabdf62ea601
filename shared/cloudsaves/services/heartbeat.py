"""RomM's heartbeat document: the fields clients read (SYSTEM.VERSION above all), the rest neutral."""

from __future__ import annotations

from typing import Any

from cloudsaves import __version__
from cloudsaves.settings import get_settings


def heartbeat() -> dict[str, Any]:
    return {
        "SYSTEM": {
            "VERSION": get_settings().app_version,  # the RomM API level clients switch features on by
            "SHOW_SETUP_WIZARD": False,
            "CLOUD_SAVES_VERSION": __version__,  # this service's own release
        },
        "METADATA_SOURCES": {
            name: False
            for name in (
                "ANY_SOURCE_ENABLED",
                "IGDB_API_ENABLED",
                "SS_API_ENABLED",
                "SS_DEV_CREDENTIALS_SET",
                "MOBY_API_ENABLED",
                "STEAMGRIDDB_API_ENABLED",
                "RA_API_ENABLED",
                "LAUNCHBOX_API_ENABLED",
                "HASHEOUS_API_ENABLED",
                "PLAYMATCH_API_ENABLED",
                "TGDB_API_ENABLED",
                "FLASHPOINT_API_ENABLED",
                "HLTB_API_ENABLED",
                "LIBRETRO_API_ENABLED",
            )
        },
        "FILESYSTEM": {"FS_PLATFORMS": []},
        "EMULATION": {"DISABLE_EMULATOR_JS": True, "DISABLE_RUFFLE_RS": True},
        "FRONTEND": {"DISABLE_USERPASS_LOGIN": False, "DISABLE_LOGS_VIEWER": True, "YOUTUBE_BASE_URL": ""},
        "OIDC": {"ENABLED": False, "AUTOLOGIN": False, "PROVIDER": "", "RP_INITIATED_LOGOUT": False},
        "TASKS": {
            "ENABLE_SCHEDULED_RESCAN": False,
            "SCHEDULED_RESCAN_CRON": "",
            "ENABLE_SCHEDULED_UPDATE_SWITCH_TITLEDB": False,
            "SCHEDULED_UPDATE_SWITCH_TITLEDB_CRON": "",
            "ENABLE_SCHEDULED_UPDATE_LAUNCHBOX_METADATA": False,
            "SCHEDULED_UPDATE_LAUNCHBOX_METADATA_CRON": "",
            "ENABLE_SCHEDULED_CONVERT_IMAGES_TO_WEBP": False,
            "SCHEDULED_CONVERT_IMAGES_TO_WEBP_CRON": "",
        },
    }
