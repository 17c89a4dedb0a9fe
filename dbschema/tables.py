"""Warehouse tables as SQLAlchemy Core metadata.

The migrations in ``dbschema/migrations`` create exactly these tables; a test compares the two.
Per-game tables reference ``games`` with ON DELETE CASCADE, so deleting a game removes everything
parsed from it (the raw tables keep the fetched bodies: they are the source of truth).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from wog_core.sides import SIDE_CODES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "suppressed", "unknown")
NOTIFICATION_KINDS = ("game", "alert", "digest")


def _side_check(column: str, *, nullable: bool = False) -> CheckConstraint:
    codes = ", ".join(f"'{c}'" for c in SIDE_CODES)
    expr = f"{column} IN ({codes})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=f"{column}_is_side")


def _game_fk() -> Column:
    return Column(
        "replay_id",
        BigInteger,
        ForeignKey("games.replay_id", ondelete="CASCADE"),
        primary_key=True,
    )


def _now() -> Column:
    return Column("fetched_at", DateTime(timezone=True), nullable=False)


raw_game_pages = Table(
    "raw_game_pages",
    metadata,
    Column("replay_id", BigInteger, primary_key=True),
    Column("url", Text, nullable=False),
    Column("http_status", Integer, nullable=False),
    _now(),
    Column("sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),
    comment="Game pages exactly as fetched (HTML), one per replay; re-parsing reads these.",
)

raw_replay_json = Table(
    "raw_replay_json",
    metadata,
    Column("replay_id", BigInteger, primary_key=True),
    Column("url", Text, nullable=False),
    Column("http_status", Integer, nullable=False),
    _now(),
    Column("sha256", String(64), nullable=False, comment="SHA-256 of the uncompressed body"),
    Column("size_bytes", BigInteger, nullable=False, comment="Uncompressed size"),
    Column("codec", String(16), nullable=False, server_default="zstd"),
    Column("body", LargeBinary, nullable=False, comment="The body as fetched, zstd-compressed"),
    CheckConstraint("codec IN ('zstd')", name="codec_known"),
    comment="Replay JSON exactly as fetched, compressed; re-parsing reads these.",
)

replay_misses = Table(
    "replay_misses",
    metadata,
    Column("replay_id", BigInteger, primary_key=True),
    Column("what", String(16), primary_key=True, comment="game_page or replay_json"),
    Column("url", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default="1"),
    CheckConstraint("what IN ('game_page', 'replay_json')", name="what_known"),
    comment="Replay ids the site did not have (404 or its error page) when last asked.",
)

_side_columns: list[Column] = []
for _code in SIDE_CODES:
    _lower = _code.lower()
    _side_columns += [
        Column(f"players_{_lower}", Integer, comment=f"{_code} player count; NULL if absent"),
        Column(f"commander_{_lower}_id", BigInteger),
        Column(f"commander_{_lower}_nickname", Text),
    ]

games = Table(
    "games",
    metadata,
    Column("replay_id", BigInteger, primary_key=True),
    Column(
        "source",
        Text,
        nullable=False,
        server_default="wog",
        comment="Where the game was recorded: 'wog' (the stats site) or an OCAP source's name",
    ),
    Column("mission_id", BigInteger, nullable=False),
    Column("mission_name", Text, nullable=False),
    Column("island", Text, nullable=False),
    Column("played_on", Date, nullable=False),
    Column("started_at", DateTime(timezone=False), nullable=False),
    Column("ended_at", DateTime(timezone=False), nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("winner", String(4)),
    Column("players_active", Integer, nullable=False),
    Column("slots", Integer, nullable=False),
    *_side_columns,
    Column("page_url", Text, nullable=False),
    Column("parsed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _side_check("winner", nullable=True),
    CheckConstraint("duration_s >= 0", name="duration_not_negative"),
    Index(None, "played_on"),
    comment="One row per game (replay), parsed from its game page and replay JSON.",
)

# --- Sources: each community its own id space ----------------------------------------------
# A source's games and players get warehouse ids in their own block: number × SOURCE_BLOCK +
# the source's own id (an OCAP2 operation id) or a sequence (file names, player names). The
# WOG site is number 0, so its ids are the site's ids, unchanged.

SOURCE_BLOCK = 10**12

sources = Table(
    "sources",
    metadata,
    Column("name", Text, primary_key=True),
    Column("number", Integer, nullable=False, unique=True, comment="Its id block"),
    Column("kind", String(16), nullable=False, comment="wog, ocap-web or ocap-dir"),
    Column("location", Text, nullable=False, comment="URL or directory when registered"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("number >= 0", name="number_not_negative"),
    comment="Where games come from; the WOG site is source 0.",
)

source_replays = Table(
    "source_replays",
    metadata,
    Column("source", Text, ForeignKey("sources.name"), primary_key=True),
    Column("external_id", Text, primary_key=True, comment="The source's own id or file name"),
    Column("replay_id", BigInteger, nullable=False, unique=True),
    comment="The warehouse replay id of each game of an OCAP source.",
)

source_players = Table(
    "source_players",
    metadata,
    Column("source", Text, ForeignKey("sources.name"), primary_key=True),
    Column("name", Text, primary_key=True, comment="The player's name in that community"),
    Column("player_id", BigInteger, nullable=False, unique=True),
    comment="OCAP players are people known by name within their source; their warehouse ids.",
)

players = Table(
    "players",
    metadata,
    _game_fk(),
    Column("player_id", BigInteger, primary_key=True),
    Column("side", String(4), nullable=False),
    Column("nickname", Text, nullable=False),
    Column("slot", Text),
    Column("squad", Text),
    _side_check("side"),
    Index(None, "player_id", "replay_id"),  # a player's games in order (directory, careers)
    comment="Who played in each game, on which side and slot.",
)

player_directory = Table(
    "player_directory",
    metadata,
    Column("player_id", BigInteger, primary_key=True),
    Column("nickname", Text, nullable=False, comment="Nickname in the latest game seen"),
    Column("first_seen_replay", BigInteger, nullable=False),
    Column("last_seen_replay", BigInteger, nullable=False),
    Column("games_played", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="Site-wide players keyed by their site id, with their current nickname.",
)

player_nicknames = Table(
    "player_nicknames",
    metadata,
    Column("player_id", BigInteger, primary_key=True),
    Column("nickname", Text, primary_key=True),
    Column("first_seen_replay", BigInteger, nullable=False),
    Column("last_seen_replay", BigInteger, nullable=False),
    comment="Every nickname a player has used, since players rename.",
)
# Lookups by name, case-insensitive (`wog stats player NAME`, /player); autocomplete by fragment
# has a trigram index besides, made by migration 0010 where the server has pg_trgm.
Index("ix_player_nicknames_lower_nickname", func.lower(player_nicknames.c.nickname))
Index("ix_player_directory_lower_nickname", func.lower(player_directory.c.nickname))
# Indexes a migration makes only where the server allows (trigrams need pg_trgm).
OPTIONAL_INDEXES = frozenset({"ix_player_nicknames_nickname_trgm"})

vehicles = Table(
    "vehicles",
    metadata,
    _game_fk(),
    Column("vehicle_id", BigInteger, primary_key=True),
    Column("type", Text, nullable=False),
    Column("name", Text, nullable=False),
    comment="Vehicles available in each game.",
)

frags = Table(
    "frags",
    metadata,
    _game_fk(),
    Column("seq", Integer, primary_key=True, comment="Order by time, then victim id"),
    Column("time_s", Integer, nullable=False, comment="Seconds since mission start"),
    Column("victim_id", BigInteger, nullable=False),
    Column("victim_vehicle", Text),
    Column("killer_id", BigInteger, comment="NULL when the killer is unknown"),
    Column("killer_vehicle", Text),
    Column("weapon", Text),
    Column("distance_m", Float),
    Column("is_teamkill", Boolean, nullable=False),
    # Careers (favourite weapon, grouped in index order) and rivals read a player's frags from
    # these alone (index-only scans).
    Index(None, "killer_id", "weapon", "victim_id", postgresql_include=["is_teamkill"]),
    Index(None, "victim_id", "killer_id", postgresql_include=["is_teamkill"]),
    comment="Every death in each game.",
)

# --- Career statistics (derived: rebuilt from games, players and frags) ----------------------

# What careers sum and nominations look up, read from the player_game_stats index alone.
COVERED_COLUMNS = ("replay_id", "source", "side", "kills", "deaths", "teamkills", "suicides",
                   "survived", "longest_kill_m", "was_commander", "commander_won")  # fmt: skip

player_game_stats = Table(
    "player_game_stats",
    metadata,
    # No foreign key: derived rows, replaced per game and rebuilt in bulk (a per-row check
    # cost a quarter of a full rebuild); nothing deletes games.
    Column("replay_id", BigInteger, primary_key=True),
    Column("player_id", BigInteger, primary_key=True),
    Column("source", Text, nullable=False),
    Column("played_on", Date, nullable=False, comment="The game's start date (Moscow)"),
    Column("side", String(4), nullable=False),
    Column("kills", Integer, nullable=False),
    Column("teamkills", Integer, nullable=False),
    Column("suicides", Integer, nullable=False),
    Column("deaths", Integer, nullable=False),
    Column("died_to_teamkill", Boolean, nullable=False),
    Column("survived", Boolean, nullable=False),
    Column("longest_kill_m", Float),
    Column("vehicle_kills", Integer, nullable=False, comment="Kills from a vehicle"),
    Column("weapons", ARRAY(Text), nullable=False),
    Column("was_commander", Boolean, nullable=False),
    Column("commander_won", Boolean, comment="NULL unless commander of a decided game"),
    # A player's games in time, covering what careers, newcomers and nominations read (index-only scans:
    # the heap rows of a regular's games are scattered over the whole table).
    Index(None, "player_id", "played_on", postgresql_include=list(COVERED_COLUMNS)),
    Index(None, "played_on"),
    comment="One row per player per game: the career statistics' building block.",
)  # fmt: skip

player_careers = Table(
    "player_careers",
    metadata,
    Column("player_id", BigInteger, primary_key=True),
    Column("source", Text, nullable=False),
    Column("nickname", Text, nullable=False),
    *[Column(name, Integer, nullable=False)
      for name in ("games", "kills", "deaths", "teamkills", "suicides", "survived")],
    *[Column(name, Float, nullable=False)
      for name in ("kd", "kills_per_game", "vitality", "score")],
    Column("longest_kill_m", Float),
    Column("favourite_weapon", Text),
    Column("favourite_side", String(4)),
    Column("commander_games", Integer, nullable=False),
    Column("commander_wins", Integer, nullable=False),
    Column("first_game", Date, nullable=False),
    Column("last_game", Date, nullable=False),
    Column("ranked", Boolean, nullable=False, comment="Has WOG_STATS_MIN_GAMES games"),
    comment="Each player's record over every game of their source.",
)  # fmt: skip

# What a career is read from, kept in step with player_game_stats by the same transactions: a
# new game adds its rows to these sums, a re-parsed game's players are summed again (careers
# then read a few rows a player instead of every game they played).
player_side_totals = Table(
    "player_side_totals",
    metadata,
    Column("player_id", BigInteger, primary_key=True),
    Column("side", String(4), primary_key=True),
    Column("source", Text, nullable=False),
    *[Column(name, Integer, nullable=False)
      for name in ("games", "kills", "deaths", "teamkills", "suicides", "survived",
                   "commander_games", "commander_wins")],
    Column("longest_kill_m", Float),
    Column("first_game", Date, nullable=False),
    Column("last_game", Date, nullable=False),
    comment="Each player's per-game rows summed by side (careers and favourite side).",
)  # fmt: skip

player_weapon_kills = Table(
    "player_weapon_kills",
    metadata,
    Column("player_id", BigInteger, primary_key=True),
    Column("weapon", Text, primary_key=True),
    Column("kills", Integer, nullable=False),
    comment="Each player's kills by weapon over the games with per-game rows (favourite weapon).",
)

# The arrays are stored uncompressed (STORAGE EXTERNAL, migration 0011): ranked ids and values
# hardly compress, and trying cost a rebuild of every period a tenth of its time.
leaderboards = Table(
    "leaderboards",
    metadata,
    Column("source", Text, primary_key=True),
    Column("period", String(8), primary_key=True, comment="2026-03 (month) or 2026-W10 (ISO week)"),
    Column("board", String(16), primary_key=True),
    Column("players", ARRAY(BigInteger), nullable=False, comment="Ranked players, best first (ties: by id)"),
    Column("values", ARRAY(Float), nullable=False),
    Column("games", ARRAY(Integer), nullable=False,
           comment="Their games in the period (commanders: games commanded)"),
    comment="Each period's tables — score, kills, deaths, teamkills, vitality, longest kill, "
    "commanders — one row each, its players in order.",
)  # fmt: skip

nominations = Table(
    "nominations",
    metadata,
    Column("source", Text, primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("award", String(16), primary_key=True),
    Column("player_id", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("replay_id", BigInteger, comment="The game of a one-game record"),
    comment="Each period's nominations, one winner each (ties broken as the README says).",
)

stats_stale = Table(
    "stats_stale",
    metadata,
    Column("kind", String(8), primary_key=True, comment="'player' or 'period'"),
    Column("key", Text, primary_key=True, comment="A player id or a period"),
    Column("marked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('player', 'period')", name="kind_known"),
    comment="Players and periods whose careers or leaderboards wait for a refresh.",
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "replay_id",
        BigInteger,
        ForeignKey("games.replay_id", ondelete="CASCADE"),
        comment="The game a game message is about; NULL for operator alerts",
    ),
    Column("target", Text, nullable=False, comment="Channel id or webhook id"),
    Column("kind", String(16), nullable=False, server_default="game"),
    Column(
        "dedupe_key",
        Text,
        comment="What an alert or digest is about; each is queued once per target",
    ),
    Column("note", Text, comment="How a sent message differed, e.g. posted without the chart"),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("payload", JSONB, nullable=False, comment="Message body as hikari would send it"),
    Column("attachment", LargeBinary, comment="Battle chart PNG, if any"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("discord_message_id", BigInteger),
    Column("claimed_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True), comment="Retry not before (backoff)"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("replay_id", "target"),
    UniqueConstraint("dedupe_key", "target"),
    CheckConstraint(
        "status IN (" + ", ".join(f"'{s}'" for s in NOTIFICATION_STATUSES) + ")",
        name="status_known",
    ),
    CheckConstraint(
        "kind IN (" + ", ".join(f"'{k}'" for k in NOTIFICATION_KINDS) + ")", name="kind_known"
    ),
    CheckConstraint(
        "(kind = 'game') = (replay_id IS NOT NULL) AND (kind = 'game') = (dedupe_key IS NULL)",
        name="game_or_alert",
    ),
    Index(None, "status", "created_at"),
    comment="Discord messages to post — one per game and target, and operator alerts, each "
    "once per target; the bot delivers these.",
)


delivery_targets = Table(
    "delivery_targets",
    metadata,
    Column("target", Text, primary_key=True),
    Column("paused_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", Text, nullable=False, comment="Discord's refusal, as the bot logged it"),
    Column("next_check_at", DateTime(timezone=True), nullable=False),
    Column("checks", Integer, nullable=False, server_default="0"),
    comment="Targets Discord refuses for good (401/403/404): not posted to until a re-check "
    "works; their rows wait pending.",
)


# --- Twitch watcher state ------------------------------------------------------------------------
# In Postgres when WOG_TWITCH_STATE=postgres (created by the migrations); otherwise the bot
# creates these same tables in a small SQLite file with twitch_metadata.create_all().

twitch_metadata = MetaData(naming_convention=NAMING)


def _twitch_tables(md: MetaData) -> tuple[Table, Table, Table]:
    streams = Table(
        "twitch_streams",
        md,
        Column("stream_id", String(64), primary_key=True),
        Column("login", String(64), nullable=False),
        Column("title", Text),
        Column("alerted_at", DateTime(timezone=True), nullable=False),
        comment="Streams already announced (at most one alert per stream id).",
    )
    clips = Table(
        "twitch_clips",
        md,
        Column("clip_id", String(128), primary_key=True),
        Column("login", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("posted_at", DateTime(timezone=True)),
        comment="Clips already seen; posted_at is NULL for clips skipped on first start.",
    )
    state = Table(
        "twitch_state",
        md,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
        comment="Watcher bookkeeping, e.g. when clip watching started per streamer.",
    )
    return streams, clips, state


twitch_streams, twitch_clips, twitch_state = _twitch_tables(metadata)
# The same definitions, bound to a separate MetaData for the SQLite state file.
sqlite_twitch_streams, sqlite_twitch_clips, sqlite_twitch_state = _twitch_tables(twitch_metadata)
