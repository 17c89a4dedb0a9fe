"""``wog doctor`` against the fakes: all ✓; a redesigned page, a missing permission, a wrong token
and an unmigrated database each name what is wrong; nothing configured is –, not ✗."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import run_wog
from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.fake_site import FakeSite, Fault, game_path
from wog_fakes.generator import generate_games
from wog_fakes.twitch import CLIENT_ID, CLIENT_SECRET, FakeTwitch


@pytest.fixture
def fakes():  # type: ignore[no-untyped-def]
    with FakeSite() as site, FakeDiscord() as discord, FakeTwitch() as twitch:
        site.publish(*generate_games(3400, 3, seed=1))
        yield site, discord, twitch


def _env(db_url: str, tmp_path: Path, site, discord, twitch, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "WOG_DATABASE_URL": db_url,
        "WOG_DATA_DIR": str(tmp_path),
        "WOG_BASE_URL": site.url,
        "WOG_MIN_REQUEST_INTERVAL": "0",
        "DISCORD_TOKEN": BOT_TOKEN,
        "WOG_DISCORD_API_URL": discord.api_url,
        "WOG_DISCORD_CHANNEL_IDS": "111",
        "WOG_DISCORD_ADMIN_CHANNEL_ID": "999",
        "WOG_DISCORD_WEBHOOK_URL": f"{discord.api_url}/webhooks/333/hooktokenvalue",
        "TWITCH_CLIENT_ID": CLIENT_ID,
        "TWITCH_CLIENT_SECRET": CLIENT_SECRET,
        "WOG_TWITCH_STREAMERS": "streamer",
        "WOG_TWITCH_ALERT_CHANNEL_ID": "222",
        "WOG_TWITCH_API_URL": f"{twitch.url}/helix",
        "WOG_TWITCH_AUTH_URL": f"{twitch.url}/oauth2",
    }
    env.update(extra)
    return env


def _marks(stdout: str) -> dict[str, str]:
    return {m.group(2).strip(): m.group(1) for m in re.finditer(r"^(\S) (.+?)  ", stdout, re.M)}


def test_everything_configured_and_working_is_all_ticks(db_url: str, tmp_path: Path, fakes) -> None:  # type: ignore[no-untyped-def]
    result = run_wog("doctor", env=_env(db_url, tmp_path, *fakes))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("wog 0.1.0 (Python 3."), result.stdout  # for bug reports
    marks = _marks(result.stdout)
    assert set(marks.values()) == {"✓"}, result.stdout
    for item in ("database", "Discord token", "game channel 111", "admin channel 999",
                 "Twitch channel 222", "WOG_DISCORD_WEBHOOK_URL", "Twitch"):  # fmt: skip
        assert item in marks, (item, result.stdout)
    assert "hooktokenvalue" not in result.stdout and BOT_TOKEN not in result.stdout


def test_problems_are_named_and_fail_the_command(db_url: str, tmp_path: Path, fakes) -> None:  # type: ignore[no-untyped-def]
    site, discord, _twitch = fakes
    discord.without_attach_files.add(111)
    page = generate_games(3402, 1, seed=1)[0].page_html.replace("Остров", "Карта")
    site.fail(game_path(3402), Fault(status=200, body=page.encode(), times=-1))
    result = run_wog("doctor", env=_env(db_url, tmp_path, *fakes))
    assert result.returncode == 1
    lines = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "✗ game channel 111" in lines and "Attach Files" in lines["✗ game channel 111"]
    site_line = next(line for line in result.stdout.splitlines() if "stats site" in line)
    assert site_line.startswith("✗") and "row 'Остров' not found" in site_line


def test_what_is_not_configured_is_a_dash_not_a_cross(db_url: str, tmp_path: Path, fakes) -> None:  # type: ignore[no-untyped-def]
    env = _env(db_url, tmp_path, *fakes)
    for name in ("DISCORD_TOKEN", "WOG_DISCORD_CHANNEL_IDS", "WOG_DISCORD_ADMIN_CHANNEL_ID",
                 "TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET", "WOG_TWITCH_STREAMERS",
                 "WOG_TWITCH_ALERT_CHANNEL_ID"):  # fmt: skip
        env.pop(name)
    result = run_wog("doctor", env=env)
    assert result.returncode == 0, result.stdout
    marks = _marks(result.stdout)
    assert marks["Discord token"] == "–" and marks["operator alerts"] == "–"
    assert marks["Twitch"] == "–"


def test_a_wrong_token_is_a_cross(db_url: str, tmp_path: Path, fakes) -> None:  # type: ignore[no-untyped-def]
    result = run_wog("doctor", env=_env(db_url, tmp_path, *fakes, DISCORD_TOKEN="wrong-token-x"))
    assert result.returncode == 1
    assert re.search(r"^✗ Discord token .*401 Unauthorized", result.stdout, re.M)
    assert "wrong-token-x" not in result.stdout


def test_an_incomplete_permission_answer_is_reported_not_a_crash(
    db_url: str,
    tmp_path: Path,
    fakes,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from wog_cli import doctor

    monkeypatch.setenv("WOG_DATABASE_URL", db_url)
    for name, value in _env(db_url, tmp_path, *fakes).items():
        if name.startswith(("WOG_", "DISCORD_", "TWITCH_")):
            monkeypatch.setenv(name, value)

    def incomplete(api: str, token: str, channel_id: int) -> int:
        raise KeyError("permissions")

    monkeypatch.setattr(doctor, "channel_permissions", incomplete)
    lines = {line.item: line for line in doctor.run_checks()}
    assert lines["game channel 111"].mark == "✗"
    assert "incomplete" in lines["game channel 111"].detail
