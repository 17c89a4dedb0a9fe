"""Every setting of the platform: read from the environment in one place, typed and validated.

:func:`current` returns the process's :class:`Settings`, parsed once (and again only if the
environment changes, which happens in tests). A bad value raises :class:`SettingsError` naming
the variable and what it expects, never a traceback from deep inside a subsystem. Secrets (the
Discord token, the webhook URL's token, the Twitch secret, database passwords) are fields with
``repr=False`` and are never put into an error message.

:func:`export_dagster_environment` is the one function that writes ``os.environ``: Dagster
reads a few of its settings only from there (``DAGSTER_HOME``, the instance storage URL that
``dagster.yaml`` names, ``DAGSTER_EVENT_BATCH_SIZE``). Processes we start get ``env=``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from wog_core.models import SITE_SOURCE

DEFAULT_BASE_URL = "https://stats.wogames.info"
DEFAULT_DISCORD_API = "https://discord.com/api/v10"
_DISCORD_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)
DEFAULT_TWITCH_API = "https://api.twitch.tv/helix"
DEFAULT_TWITCH_AUTH = "https://id.twitch.tv/oauth2"
DEFAULT_DATA_DIR = ".wog"
DEFAULT_BACKFILL_BATCH = 50
DEFAULT_SENSOR_INTERVAL_S = 60
DEFAULT_EVENT_BATCH_SIZE = "200"
LANGUAGES = ("ru", "en")
# What to set when nothing would receive game messages (every place that says so says this).
SET_A_TARGET = "set WOG_DISCORD_CHANNEL_IDS (with DISCORD_TOKEN) or WOG_DISCORD_WEBHOOK_URL"
TWITCH_STATES = ("sqlite", "postgres")

# Variables whose values are secrets: never logged, never shown by Dagster as plain values.
SECRET_VARIABLES = (
    "DISCORD_TOKEN",
    "WOG_DISCORD_WEBHOOK_URL",
    "WOG_ADMIN_WEBHOOK_URL",
    "TWITCH_CLIENT_SECRET",
)
# Prefixes of the variables this module reads; a change in any of them reloads the settings.
_PREFIXES = ("WOG_", "DISCORD_", "TWITCH_", "DAGSTER_")
# Keys of the bot's TOML file that would be secrets: the file may not set them.
_SECRET_KEYS = ("discord_token", "twitch_client_secret", "webhook_url", "admin_webhook_url")


class SettingsError(ValueError):
    """A setting has a value the platform cannot use; the message names the variable."""


# --- sections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSettings:
    """How the stats site is fetched (``WOG_BASE_URL``, ``WOG_MIN_REQUEST_INTERVAL``, …)."""

    base_url: str = DEFAULT_BASE_URL
    min_interval: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_json_bytes: int = 512 * 1024 * 1024


DIGEST_KINDS = ("weekly", "monthly")


@dataclass(frozen=True)
class PipelineSettings:
    """What the sensor, backfills and the message do (``WOG_MIN_PLAYERS``, …)."""

    min_players: int = 100
    start_from_replay: int | None = None
    sensor_interval_s: int = DEFAULT_SENSOR_INTERVAL_S
    sensor_max_runs: int = 10
    retry_window_s: int = 24 * 3600
    backfill_batch: int = DEFAULT_BACKFILL_BATCH
    language: str = "ru"
    announce_max_age_s: int = 86400  # recovered games that ended longer ago load quietly
    gap_probes_per_tick: int = 20  # ids probed per sensor tick to recover a gap in the list
    site_down_alert_s: int = 1800  # the admin is told when the site is down this long
    stats_min_games: int = 5  # fewer games: listed in the statistics, not ranked
    digests: frozenset[str] = frozenset(DIGEST_KINDS)  # posted by the schedule; others suppressed


def _origin(url: Any) -> str:
    """``scheme://host[:port]`` of a split URL (never its user, password or path)."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.hostname}{port}"


@dataclass(frozen=True)
class Webhook:
    """A Discord webhook URL ``…/webhooks/<id>/<token>``, parsed once."""

    id: int
    token: str = field(repr=False)
    url: str = field(repr=False)

    @classmethod
    def parse(cls, url: str, variable: str = "WOG_DISCORD_WEBHOOK_URL") -> Webhook:
        parts = url.strip().rstrip("/").split("/")
        try:
            index = parts.index("webhooks")
            webhook_id, token = parts[index + 1], parts[index + 2]
        except (ValueError, IndexError):
            raise SettingsError(
                f"{variable} must look like https://discord.com/api/webhooks/<id>/<token>"
            ) from None
        if not webhook_id.isdigit():
            raise SettingsError(f"{variable}: the webhook id must be digits")
        return cls(int(webhook_id), token, url.strip())

    @property
    def target(self) -> str:
        """The notification target naming this webhook (its token stays out of the database)."""
        return f"webhook:{self.id}"


@dataclass(frozen=True)
class BotSettings:
    """The Discord bot: delivery, Twitch and commands. Also loadable from ``WOG_BOT_CONFIG``."""

    discord_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DEFAULT_DISCORD_API
    channel_ids: tuple[int, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)
    poll_interval_s: float = 30.0
    max_attempts: int = 8
    retry_base_s: float = 5.0
    retry_cap_s: float = 600.0
    stale_sending_s: float = 120.0
    paused_recheck_s: float = 600.0  # a target Discord refuses is tried again this often
    twitch_client_id: str | None = None
    twitch_client_secret: str | None = field(default=None, repr=False)
    twitch_logins: tuple[str, ...] = ()
    twitch_alert_channel_id: int | None = None
    twitch_ping_here: bool = True  # live alerts ping @here, as the original service did
    twitch_api_url: str = DEFAULT_TWITCH_API
    twitch_auth_url: str = DEFAULT_TWITCH_AUTH
    twitch_state: str = "sqlite"  # "sqlite" (file in WOG_DATA_DIR) or "postgres"
    twitch_live_interval_s: float = 60.0
    twitch_clips_interval_s: float = 120.0
    guild_id: int | None = None  # register slash commands in one guild (instant), not globally
    language: str = "ru"
    admin_channel_id: int | None = None  # operator alerts (WOG_DISCORD_ADMIN_CHANNEL_ID)
    admin_webhook_url: str | None = field(default=None, repr=False)  # WOG_ADMIN_WEBHOOK_URL
    # Where the bot's own state lives: the warehouse (WOG_DATABASE_URL, or the embedded Postgres
    # of WOG_DATA_DIR) and the Twitch state file.
    database_url: str | None = field(default=None, repr=False)
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR).resolve())
    heartbeat_file: Path | None = None  # touched by a running dispatcher (WOG_HEARTBEAT_FILE)

    @property
    def twitch_enabled(self) -> bool:
        return bool(self.twitch_client_id and self.twitch_client_secret and self.twitch_logins)

    @property
    def webhook(self) -> Webhook | None:
        return Webhook.parse(self.webhook_url) if self.webhook_url else None

    def webhook_host_mismatch(self) -> str | None:
        """Why a webhook URL would not be what is used, or None.

        Posts go to ``discord_api_url``; a webhook URL on another host (a typo, a proxy, a
        stand-in) would silently not be the one used, so the bot refuses to start on it.
        Discord's own hosts (discord.com, discordapp.com, its ptb/canary) all serve the
        default API.
        """
        from urllib.parse import urlsplit

        api = urlsplit(self.discord_api_url)
        for variable, url in (
            ("WOG_DISCORD_WEBHOOK_URL", self.webhook_url),
            ("WOG_ADMIN_WEBHOOK_URL", self.admin_webhook_url),
        ):
            if not url:
                continue
            hook = urlsplit(url.strip())
            official = hook.scheme == "https" and (hook.hostname or "") in _DISCORD_HOSTS
            if self.discord_api_url == DEFAULT_DISCORD_API and official:
                continue
            if (hook.scheme, hook.hostname, hook.port) != (api.scheme, api.hostname, api.port):
                return (
                    f"{variable} is on {_origin(hook)}, but posts go to "
                    f"WOG_DISCORD_API_URL {_origin(api)}: use a webhook of that "
                    "host, or set WOG_DISCORD_API_URL to the webhook's"
                )
        return None

    @property
    def admin_webhook(self) -> Webhook | None:
        return (
            Webhook.parse(self.admin_webhook_url, "WOG_ADMIN_WEBHOOK_URL")
            if (self.admin_webhook_url)
            else None
        )

    @property
    def admin_targets(self) -> list[str]:
        """Where operator alerts go (empty: they are only logged)."""
        return notification_targets(
            (self.admin_channel_id,) if self.admin_channel_id else (), self.admin_webhook
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values these settings hold (to redact from anything shown)."""
        values = [self.discord_token, self.twitch_client_secret]
        for url in (self.webhook_url, self.admin_webhook_url):
            if url:
                values.append(url)
                token = url.rstrip("/").rsplit("/", 1)[-1]
                if len(token) > 8:
                    values.append(token)
        return tuple(v for v in values if v)


def notification_targets(channel_ids: tuple[int, ...], webhook: Webhook | None) -> list[str]:
    """Where each game is posted: ``channel:<id>`` per channel, ``webhook:<id>`` for a webhook."""
    targets = [f"channel:{c}" for c in channel_ids]
    if webhook:
        targets.append(webhook.target)
    return targets


@dataclass(frozen=True)
class DagsterSettings:
    """The Dagster instance and processes (``DAGSTER_HOME``, ``DAGSTER_POSTGRES_URL``, ports)."""

    home: Path | None = None
    postgres_url: str | None = field(default=None, repr=False)
    event_batch_size: str = DEFAULT_EVENT_BATCH_SIZE
    code_port: int = 4000
    webserver_port: int = 3000


_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_SOURCE_KIND = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class SourceConfig:
    """A community's source of games beside the WOG site (a ``[sources.NAME]`` table of
    ``WOG_SOURCES_FILE``): its kind (the plug-in that reads it, e.g. ``ocap-web`` for an OCAP2
    web server at ``url``, ``ocap-dir`` for a directory of recordings at ``path``), with its own
    Discord targets (default: the game channel's). Whether a kind exists, and which of ``url``
    and ``path`` it needs, is its plug-in's to say (``where`` names the table in errors)."""

    name: str
    kind: str
    url: str | None = None
    path: Path | None = None
    channel_ids: tuple[int, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)
    min_players: int = 0
    language: str | None = None
    where: str = ""

    @property
    def location(self) -> str:
        return self.url if self.url is not None else str(self.path)

    def notification_targets(self, default: list[str]) -> list[str]:
        webhook = Webhook.parse(self.webhook_url, "WOG_SOURCES_FILE") if self.webhook_url else None
        own = notification_targets(self.channel_ids, webhook)
        return own or default


def load_sources(path: Path) -> tuple[SourceConfig, ...]:
    """The sources of a TOML file; raises :class:`SettingsError` naming the key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"WOG_SOURCES_FILE {path}: {exc}") from None
    tables = doc.get("sources", {})
    if not isinstance(tables, dict):
        raise SettingsError(f"WOG_SOURCES_FILE {path}: [sources] must be a table")
    sources = []
    for name, table in tables.items():
        where = f"WOG_SOURCES_FILE {path}: [sources.{name}]"
        if not _SOURCE_NAME.match(name) or name == SITE_SOURCE:
            raise SettingsError(
                f"{where}: a source name is lower-case letters, digits and _ (not 'wog')"
            )
        if not isinstance(table, dict):
            raise SettingsError(f"{where} must be a table")
        unknown = set(table) - {
            "kind", "url", "path", "channel_ids", "webhook_url", "min_players", "language"
        }  # fmt: skip
        if unknown:
            raise SettingsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        kind = table.get("kind")
        if not isinstance(kind, str) or not _SOURCE_KIND.match(kind):
            raise SettingsError(f'{where}: kind = "…" names the kind of source (e.g. ocap-web)')
        url, folder = table.get("url"), table.get("path")
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise SettingsError(f'{where}: url must be "https://…"')
        if folder is not None and not isinstance(folder, str):
            raise SettingsError(f'{where}: path must be "/dir/of/recordings"')
        channels = table.get("channel_ids", [])
        if not isinstance(channels, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels
        ):
            raise SettingsError(f"{where}: channel_ids must be a list of channel ids")
        webhook = table.get("webhook_url")
        if webhook is not None:
            Webhook.parse(webhook, f"{where} webhook_url")
        language = table.get("language")
        if language is not None and language not in LANGUAGES:
            raise SettingsError(f"{where}: language must be one of {', '.join(LANGUAGES)}")
        min_players = table.get("min_players", 0)
        if not isinstance(min_players, int) or min_players < 0:
            raise SettingsError(f"{where}: min_players must be a number >= 0")
        sources.append(
            SourceConfig(
                name=name,
                kind=kind,
                url=url.rstrip("/") if isinstance(url, str) else None,
                path=Path(folder).expanduser() if isinstance(folder, str) else None,
                channel_ids=tuple(channels),
                webhook_url=webhook,
                min_players=min_players,
                language=language,
                where=where,
            )
        )
    return tuple(sources)


@dataclass(frozen=True)
class Settings:
    """All settings of one process."""

    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR).resolve())
    database_url: str | None = field(default=None, repr=False)
    source: SourceSettings = field(default_factory=SourceSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    dagster: DagsterSettings = field(default_factory=DagsterSettings)
    heartbeat_file: Path | None = None
    role: str = "db"
    dagster_ui_url: str = "http://localhost:3000"  # links in operator alerts
    sources: tuple[SourceConfig, ...] = ()  # communities beside the WOG site (plug-ins)
    # Which variables were set, so Dagster resources can name them (dg.EnvVar) instead of
    # carrying their values into the UI.
    variables_set: frozenset[str] = frozenset()

    @property
    def notification_targets(self) -> list[str]:
        return notification_targets(self.bot.channel_ids, self.bot.webhook)

    @property
    def admin_targets(self) -> list[str]:
        return self.bot.admin_targets

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value of these settings, for redaction (never for display)."""
        passwords = [_url_password(u) for u in (self.database_url, self.dagster.postgres_url)]
        hooks = [s.webhook_url for s in self.sources if s.webhook_url]
        return (*self.bot.secrets, *(p for p in passwords if p), *hooks)

    @property
    def bot_heartbeat_file(self) -> Path:
        """Touched by the running bot; ``wog healthcheck --role bot`` reads its age."""
        return self.heartbeat_file or self.data_dir / "bot.heartbeat"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate ``env``; raises :class:`SettingsError` naming a bad variable."""
        read = _Reader(env)
        source = SourceSettings(
            base_url=read.text("WOG_BASE_URL") or DEFAULT_BASE_URL,
            min_interval=read.number("WOG_MIN_REQUEST_INTERVAL", SourceSettings.min_interval),
            connect_timeout=read.number("WOG_CONNECT_TIMEOUT", SourceSettings.connect_timeout, 0.1),
            read_timeout=read.number("WOG_READ_TIMEOUT", SourceSettings.read_timeout, 0.1),
            max_retries=read.integer("WOG_MAX_RETRIES", SourceSettings.max_retries),
            max_json_bytes=int(
                read.number("WOG_MAX_JSON_MB", SourceSettings.max_json_bytes / 2**20, 0.001) * 2**20
            ),
        )
        language = (read.text("WOG_LANGUAGE") or "ru").lower()
        if language not in LANGUAGES:
            raise SettingsError(
                f"WOG_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language!r}"
            )
        pipeline = PipelineSettings(
            min_players=read.integer("WOG_MIN_PLAYERS", PipelineSettings.min_players),
            start_from_replay=read.integer("WOG_START_FROM_REPLAY", 0) or None,
            sensor_interval_s=read.integer(
                "WOG_SENSOR_INTERVAL", PipelineSettings.sensor_interval_s, 1
            ),
            sensor_max_runs=max(1, read.integer("WOG_SENSOR_MAX_RUNS", 10)),
            retry_window_s=read.integer("WOG_RETRY_WINDOW", PipelineSettings.retry_window_s),
            backfill_batch=max(1, read.integer("WOG_BACKFILL_BATCH", DEFAULT_BACKFILL_BATCH)),
            language=language,
            announce_max_age_s=read.integer("WOG_ANNOUNCE_MAX_AGE", 86400, 0),
            gap_probes_per_tick=read.integer("WOG_GAP_PROBES", 20, 1),
            site_down_alert_s=read.integer("WOG_SITE_DOWN_ALERT_S", 1800, 0),
            stats_min_games=read.integer("WOG_STATS_MIN_GAMES", 5, 1),
            digests=_digests(read.text("WOG_DIGESTS")),
        )
        dagster_home = read.text("DAGSTER_HOME")
        dagster = DagsterSettings(
            home=Path(dagster_home) if dagster_home else None,
            postgres_url=read.url("DAGSTER_POSTGRES_URL"),
            event_batch_size=str(
                read.integer("DAGSTER_EVENT_BATCH_SIZE", int(DEFAULT_EVENT_BATCH_SIZE), 1)
            ),
            code_port=read.integer("DAGSTER_CODE_PORT", 4000, 1),
            webserver_port=read.integer("DAGSTER_WEBSERVER_PORT", 3000, 1),
        )
        heartbeat = read.text("WOG_HEARTBEAT_FILE")
        sources_file = read.text("WOG_SOURCES_FILE")
        data_dir = Path(read.text("WOG_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        demo = running_demo(data_dir)
        if not read.text("WOG_BASE_URL") and demo.get("WOG_BASE_URL"):
            # While `wog dev --demo` runs, other commands act on its fake site, not the real one.
            source = dataclasses.replace(source, base_url=demo["WOG_BASE_URL"], min_interval=0.1)
        database_url = read.url("WOG_DATABASE_URL")
        heartbeat_file = Path(heartbeat) if heartbeat else data_dir / "bot.heartbeat"
        bot = dataclasses.replace(
            _bot_settings(read, language),
            database_url=database_url,
            data_dir=data_dir,
            heartbeat_file=heartbeat_file,
        )
        if demo.get("WOG_DISCORD_CHANNEL_IDS") and not bot.channel_ids and not bot.webhook_url:
            # …and its Discord stand-in, so `wog announce` posts there.
            bot = dataclasses.replace(
                bot,
                channel_ids=(int(demo["WOG_DISCORD_CHANNEL_IDS"]),),
                discord_api_url=demo.get("WOG_DISCORD_API_URL", bot.discord_api_url),
            )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            source=source,
            pipeline=pipeline,
            bot=bot,
            dagster=dagster,
            heartbeat_file=Path(heartbeat) if heartbeat else None,
            role=read.text("WOG_ROLE") or "db",
            dagster_ui_url=read.text("WOG_DAGSTER_UI_URL") or "http://localhost:3000",
            sources=load_sources(Path(sources_file)) if sources_file else (),
            variables_set=frozenset(k for k, v in env.items() if v.strip()),
        )


def _digests(value: str | None) -> frozenset[str]:
    """``WOG_DIGESTS``: unset = both; ``none`` or ``off`` = neither; else a comma list."""
    if value is None:
        return frozenset(DIGEST_KINDS)
    words = {w.strip().lower() for w in value.split(",") if w.strip()}
    if words <= {"none", "off"}:
        return frozenset()
    unknown = words - set(DIGEST_KINDS)
    if unknown:
        raise SettingsError(
            f"WOG_DIGESTS: unknown digest {', '.join(sorted(unknown))}; "
            f"give {', '.join(DIGEST_KINDS)} or none"
        )
    return frozenset(words)


def _url_password(url: str | None) -> str | None:
    """The password in ``scheme://user:password@host/…``, if any."""
    if not url or "://" not in url:
        return None
    userinfo = url.split("://", 1)[1].split("@", 1)
    if len(userinfo) < 2 or ":" not in userinfo[0]:
        return None
    return userinfo[0].split(":", 1)[1] or None


def _bot_settings(read: _Reader, language: str) -> BotSettings:
    values: dict[str, Any] = {"language": language}
    config = read.text("WOG_BOT_CONFIG")
    if config:
        values.update(_bot_config_file(Path(config)))
    texts = {
        "discord_token": "DISCORD_TOKEN",
        "discord_api_url": "WOG_DISCORD_API_URL",
        "webhook_url": "WOG_DISCORD_WEBHOOK_URL",
        "twitch_client_id": "TWITCH_CLIENT_ID",
        "twitch_client_secret": "TWITCH_CLIENT_SECRET",
        "twitch_api_url": "WOG_TWITCH_API_URL",
        "twitch_auth_url": "WOG_TWITCH_AUTH_URL",
        "twitch_state": "WOG_TWITCH_STATE",
        "admin_webhook_url": "WOG_ADMIN_WEBHOOK_URL",
    }
    values.update({key: read.text(name) for key, name in texts.items() if read.text(name)})
    if values.get("webhook_url"):
        Webhook.parse(values["webhook_url"])  # validate early, naming the variable
    if values.get("admin_webhook_url"):
        Webhook.parse(values["admin_webhook_url"], "WOG_ADMIN_WEBHOOK_URL")
    if values.get("twitch_state", "sqlite") not in TWITCH_STATES:
        raise SettingsError(
            f"WOG_TWITCH_STATE must be one of {', '.join(TWITCH_STATES)}, "
            f"got {values['twitch_state']!r}"
        )
    if read.text("WOG_DISCORD_CHANNEL_IDS"):
        values["channel_ids"] = read.ids("WOG_DISCORD_CHANNEL_IDS")
    if read.text("WOG_TWITCH_STREAMERS"):
        raw = read.text("WOG_TWITCH_STREAMERS") or ""
        values["twitch_logins"] = tuple(x.strip().lower() for x in raw.split(",") if x.strip())
    for key, name in (
        ("twitch_alert_channel_id", "WOG_TWITCH_ALERT_CHANNEL_ID"),
        ("guild_id", "WOG_DISCORD_GUILD_ID"),
        ("admin_channel_id", "WOG_DISCORD_ADMIN_CHANNEL_ID"),
    ):
        if read.text(name):
            values[key] = read.ids(name)[0]
    if read.text("WOG_TWITCH_PING_HERE"):
        values["twitch_ping_here"] = read.boolean("WOG_TWITCH_PING_HERE")
    if read.text("WOG_POLL_INTERVAL"):
        values["poll_interval_s"] = read.number("WOG_POLL_INTERVAL", 30.0, 0.01)
    if read.text("WOG_PAUSED_RECHECK"):
        values["paused_recheck_s"] = read.number("WOG_PAUSED_RECHECK", 600.0, 1.0)
    if read.text("WOG_DELIVERY_MAX_ATTEMPTS"):
        values["max_attempts"] = read.integer("WOG_DELIVERY_MAX_ATTEMPTS", 8, 1)
    return BotSettings(**values)


def _bot_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"WOG_BOT_CONFIG {path}: {exc}") from None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in BotSettings.__dataclass_fields__ or key in _SECRET_KEYS:
            raise SettingsError(
                f"WOG_BOT_CONFIG {path}: unknown or secret key {key!r} "
                "(secrets go in the environment)"
            )
        values[key] = tuple(value) if isinstance(value, list) else value
    return values


N = TypeVar("N", int, float)


class _Reader:
    """Typed reads of one environment mapping, each error naming its variable."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def _convert(self, name: str, default: N, minimum: N | None, kind: Callable[[str], N]) -> N:
        value = self.text(name)
        if value is None:
            return default
        try:
            result = kind(value)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise SettingsError(f"{name} must be {what}, got {value!r}") from None
        if minimum is not None and result < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value!r}")
        return result

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        return self._convert(name, default, minimum, int)

    def number(self, name: str, default: float, minimum: float | None = 0.0) -> float:
        return self._convert(name, default, minimum, float)

    def boolean(self, name: str) -> bool:
        value = (self.text(name) or "").lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false, got {value!r}")

    def url(self, name: str) -> str | None:
        """A URL whose host and port are well formed (the message never shows a password)."""
        value = self.text(name)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
        if not parts.scheme:
            raise SettingsError(f"{name} must be a URL like postgresql://user:password@host/db")
        return value

    def ids(self, name: str) -> tuple[int, ...]:
        ids = []
        for part in (self.text(name) or "").replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise SettingsError(f"{name}: {part!r} is not a Discord id (digits)")
            ids.append(int(part))
        return tuple(ids)


def package_index_url() -> str:
    """The Python package index this machine installs from (``UV_INDEX_URL``, then
    ``PIP_INDEX_URL``; default PyPI), for fetching the wheel an older release ran on."""
    for variable in ("UV_INDEX_URL", "PIP_INDEX_URL"):
        value = os.environ.get(variable, "").strip()
        if value:
            return value.rstrip("/")
    return "https://pypi.org/simple"


def redact(text: str, settings: BotSettings) -> str:
    """``text`` with every secret of ``settings`` replaced by ``***`` (for logs and errors)."""
    for secret in settings.secrets:
        text = text.replace(secret, "***")
    return text


# --- the demo's addresses -------------------------------------------------------------------

DEMO_FILE = "demo.env"  # in WOG_DATA_DIR while `wog dev --demo` runs


def write_demo(data_dir: Path, values: Mapping[str, str]) -> Path:
    """Record the running demo's addresses (and its pid) for other ``wog`` commands."""
    path = data_dir / DEMO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"WOG_DEMO_PID={os.getpid()}", *(f"{k}={v}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def running_demo(data_dir: Path) -> dict[str, str]:
    """The addresses of a demo that is running now (empty if none, or if it died)."""
    try:
        text = (data_dir / DEMO_FILE).read_text(encoding="utf-8")
    except OSError:
        return {}
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        os.kill(int(values.get("WOG_DEMO_PID", "")), 0)
    except (ValueError, OSError):
        return {}
    return values


# --- the process's settings ---------------------------------------------------------------

_loaded: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def _snapshot() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_PREFIXES)))


def current() -> Settings:
    """The process's settings: parsed from the environment once, again only if it changed."""
    global _loaded
    snapshot = _snapshot()
    if _loaded is None or _loaded[0] != snapshot:
        _loaded = (snapshot, Settings.from_env(dict(snapshot)))
    return _loaded[1]


def export_dagster_environment(values: Mapping[str, str]) -> Settings:
    """Put the Dagster knobs that exist only as environment variables into ``os.environ``.

    For in-process Dagster (``wog backfill``, ``wog announce``): ``DAGSTER_HOME``, the instance
    storage URL ``dagster.yaml`` reads, ``DAGSTER_EVENT_BATCH_SIZE`` and the resolved warehouse
    URL that the code location's resources name. Returns the settings as they now are.
    """
    allowed = {"DAGSTER_HOME", "DAGSTER_POSTGRES_URL", "DAGSTER_EVENT_BATCH_SIZE"}
    allowed.add("WOG_DATABASE_URL")
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not a Dagster knob: {', '.join(sorted(unknown))}")
    os.environ.update(values)
    return current()
