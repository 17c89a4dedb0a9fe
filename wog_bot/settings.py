"""Bot settings: environment variables, optionally a TOML file (``WOG_BOT_CONFIG``).

Secrets (the Discord token, the webhook URL's token, Twitch credentials) are read from the
environment only, never from the file, and never logged.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DISCORD_API = "https://discord.com/api/v10"
DEFAULT_TWITCH_API = "https://api.twitch.tv/helix"
DEFAULT_TWITCH_AUTH = "https://id.twitch.tv/oauth2"

SECRETS = ("DISCORD_TOKEN", "WOG_DISCORD_WEBHOOK_URL", "TWITCH_CLIENT_SECRET")


@dataclass(frozen=True)
class BotSettings:
    discord_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DEFAULT_DISCORD_API
    channel_ids: tuple[int, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)
    poll_interval_s: float = 30.0
    max_attempts: int = 8
    retry_base_s: float = 5.0
    retry_cap_s: float = 600.0
    stale_sending_s: float = 120.0
    twitch_client_id: str | None = None
    twitch_client_secret: str | None = field(default=None, repr=False)
    twitch_logins: tuple[str, ...] = ()
    twitch_alert_channel_id: int | None = None
    twitch_ping_here: bool = False
    twitch_api_url: str = DEFAULT_TWITCH_API
    twitch_auth_url: str = DEFAULT_TWITCH_AUTH
    twitch_state: str = "sqlite"  # "sqlite" (file in WOG_DATA_DIR) or "postgres"
    twitch_live_interval_s: float = 60.0
    twitch_clips_interval_s: float = 120.0
    guild_id: int | None = (
        None  # register slash commands in one guild (instant) instead of globally
    )

    @property
    def twitch_enabled(self) -> bool:
        return bool(self.twitch_client_id and self.twitch_client_secret and self.twitch_logins)

    @classmethod
    def load(cls, **overrides: object) -> BotSettings:
        """Settings from ``WOG_BOT_CONFIG`` (TOML, non-secret keys) overlaid by the environment."""
        values: dict[str, object] = {}
        config = os.environ.get("WOG_BOT_CONFIG")
        if config:
            path = Path(config)
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ValueError(f"WOG_BOT_CONFIG {path}: {exc}") from None
            for key, value in data.items():
                if key not in cls.__dataclass_fields__ or key in (
                    "discord_token",
                    "twitch_client_secret",
                    "webhook_url",
                ):
                    raise ValueError(
                        f"WOG_BOT_CONFIG {path}: unknown or secret key {key!r} (secrets go in the environment)"
                    )
                values[key] = tuple(value) if isinstance(value, list) else value
        env = os.environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        mapping = {
            "discord_token": text("DISCORD_TOKEN"),
            "discord_api_url": text("WOG_DISCORD_API_URL"),
            "webhook_url": text("WOG_DISCORD_WEBHOOK_URL"),
            "twitch_client_id": text("TWITCH_CLIENT_ID"),
            "twitch_client_secret": text("TWITCH_CLIENT_SECRET"),
            "twitch_api_url": text("WOG_TWITCH_API_URL"),
            "twitch_auth_url": text("WOG_TWITCH_AUTH_URL"),
            "twitch_state": text("WOG_TWITCH_STATE"),
        }
        values.update({k: v for k, v in mapping.items() if v is not None})
        if text("WOG_DISCORD_CHANNEL_IDS"):
            values["channel_ids"] = _ids("WOG_DISCORD_CHANNEL_IDS", env["WOG_DISCORD_CHANNEL_IDS"])
        if text("WOG_TWITCH_STREAMERS"):
            values["twitch_logins"] = tuple(
                x.strip().lower() for x in env["WOG_TWITCH_STREAMERS"].split(",") if x.strip()
            )
        if text("WOG_TWITCH_ALERT_CHANNEL_ID"):
            values["twitch_alert_channel_id"] = _ids(
                "WOG_TWITCH_ALERT_CHANNEL_ID", env["WOG_TWITCH_ALERT_CHANNEL_ID"]
            )[0]
        if text("WOG_DISCORD_GUILD_ID"):
            values["guild_id"] = _ids("WOG_DISCORD_GUILD_ID", env["WOG_DISCORD_GUILD_ID"])[0]
        if text("WOG_TWITCH_PING_HERE"):
            values["twitch_ping_here"] = env["WOG_TWITCH_PING_HERE"].strip().lower() in (
                "1",
                "true",
                "yes",
                "on",
            )
        for name, key in (
            ("WOG_POLL_INTERVAL", "poll_interval_s"),
            ("WOG_DELIVERY_MAX_ATTEMPTS", "max_attempts"),
        ):
            if text(name):
                values[key] = float(env[name]) if key.endswith("_s") else int(env[name])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _ids(name: str, raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"{name}: {part!r} is not a Discord id (digits)")
        ids.append(int(part))
    return tuple(ids)


def redact(text: str, settings: BotSettings) -> str:
    """``text`` with every configured secret replaced by ``***`` (for logs and stored errors)."""
    for secret in (settings.discord_token, settings.twitch_client_secret, settings.webhook_url):
        if secret:
            text = text.replace(secret, "***")
    if settings.webhook_url:
        token = settings.webhook_url.rstrip("/").rsplit("/", 1)[-1]
        if len(token) > 8:
            text = text.replace(token, "***")
    return text
