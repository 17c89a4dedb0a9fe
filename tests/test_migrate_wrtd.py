"""``wog migrate-wrtd``: a WRTD-ETL database with data moves over, nothing is posted, and the
sensor starts after it; running it twice changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import new_database, run_wog
from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_game

pytestmark = pytest.mark.slow  # a WRTD-ETL history moved over with the bot (~40 s)

# The tables of a WRTD-ETL database; the migration reads only two columns of two of them.
WRTD_SCHEMA = """
CREATE TABLE replay_main (replay_number integer PRIMARY KEY, mission_name text, island text,
                          game_date date, players integer);
CREATE TABLE vehicles (replay_number integer, vehicle_id integer, type text, name text);
CREATE TABLE players (replay_number integer, player_id integer, side integer, nickname text);
CREATE TABLE d_players (player_id integer PRIMARY KEY, nickname text);
CREATE TABLE frags (replay_number integer, time integer, victim integer, killer integer);
CREATE TABLE messages (replay_number integer PRIMARY KEY, message text, text_data text,
                       posted boolean);
"""
IDS = [3400, 3401, 3402, 3405, 3406]  # not contiguous: the old service skipped some
POSTED = [3400, 3401, 3405]


def _wrtd(pg_server_url: str) -> str:
    url = new_database(pg_server_url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(WRTD_SCHEMA)
        for rid in IDS:
            conn.execute(
                sa.text("INSERT INTO replay_main VALUES (:r, 'Old mission', 'Altis', NULL, 120)"),
                {"r": rid},
            )
            conn.execute(
                sa.text("INSERT INTO messages VALUES (:r, 'msg', '{}', :p)"),
                {"r": rid, "p": rid in POSTED},
            )
    engine.dispose()
    return url


def test_wrtd_history_moves_over_without_a_single_post(
    tmp_path: Path, db_url: str, pg_server_url: str, engine: sa.Engine
) -> None:
    wrtd = _wrtd(pg_server_url)
    dagster_url = make_url(new_database(pg_server_url)).set(drivername="postgresql")
    games = [generate_game(i, seed=3, options=GameOptions(players=130)) for i in range(3400, 3408)]
    with FakeSite() as site, FakeDiscord() as discord:
        site.publish(*games)
        env = {
            **os.environ,
            "WOG_DATABASE_URL": db_url,
            "DAGSTER_POSTGRES_URL": dagster_url.render_as_string(False),
            "DAGSTER_HOME": str(tmp_path / "home"),
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "WOG_DISCORD_CHANNEL_IDS": "111",
            "WOG_DISCORD_API_URL": discord.api_url,
        }
        # libpq's form of the old database's URL, as an admin would type it
        source = make_url(wrtd).set(drivername="postgresql").render_as_string(False)
        first = run_wog("migrate-wrtd", "--from", source, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "5 replays (3400..3406), 3 posted" in first.stdout
        assert "3 message(s) recorded as already posted" in first.stdout
        assert "the sensor starts after replay 3406" in first.stdout
        second = run_wog("migrate-wrtd", "--from", source, env=env)
        assert second.returncode == 0, second.stdout + second.stderr

        with engine.connect() as conn:
            loaded = conn.execute(sa.text("SELECT replay_id FROM games ORDER BY 1")).scalars().all()
            rows = dict(conn.execute(sa.text("SELECT replay_id, status FROM notifications")).all())
        assert loaded == IDS
        assert rows == {rid: "sent" if rid in POSTED else "suppressed" for rid in IDS}
        assert not discord.requests or all("messages" not in str(r) for r in discord.requests)

        # The bot posts nothing; the sensor treats none of it as new and starts after 3406.
        assert run_wog("bot", "--once", env={**env, "DISCORD_TOKEN": BOT_TOKEN}).returncode == 0
        assert discord.channel_messages(111) == []
        os.environ["DAGSTER_POSTGRES_URL"] = env["DAGSTER_POSTGRES_URL"]
        try:
            with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
                from tests.wog_assets.test_sensor import _requested, tick

                result = tick(instance, site, None)
        finally:
            os.environ.pop("DAGSTER_POSTGRES_URL", None)
        assert [key for key, _ in _requested(result)] == ["3407"]
        assert json.loads(result.cursor)["max_id"] == 3407


def test_a_database_that_is_not_wrtd_is_one_line(db_url: str, tmp_path: Path) -> None:
    result = run_wog(
        "migrate-wrtd", "--from", db_url, env={**os.environ, "WOG_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "does not look like a WRTD-ETL database" in result.stderr
    assert "Traceback" not in result.stderr
