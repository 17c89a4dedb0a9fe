"""Bot settings (environment and TOML file, secrets kept out) and the operator commands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.wog_bot.conftest import queue_game
from wog_cli import main
from wog_core.settings import BotSettings, Settings, redact


def test_settings_from_environment_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        'twitch_logins = ["wogstream"]\npoll_interval_s = 10\ntwitch_ping_here = true\n'
    )
    monkeypatch.setenv("WOG_BOT_CONFIG", str(config))
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111, 222")
    monkeypatch.setenv("WOG_POLL_INTERVAL", "5")
    settings = Settings.from_env(os.environ).bot
    assert settings.channel_ids == (111, 222)
    assert settings.twitch_logins == ("wogstream",)
    assert settings.poll_interval_s == 5.0  # the environment wins over the file
    assert settings.twitch_ping_here is True
    assert "tok" not in repr(settings)


def test_secrets_are_refused_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('discord_token = "oops"\n')
    monkeypatch.setenv("WOG_BOT_CONFIG", str(config))
    with pytest.raises(ValueError, match="secrets go in the environment"):
        Settings.from_env(os.environ)


def test_bad_channel_ids_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "general")
    with pytest.raises(ValueError, match="WOG_DISCORD_CHANNEL_IDS: 'general' is not a Discord id"):
        Settings.from_env(os.environ)


def test_redact_hides_every_secret() -> None:
    settings = BotSettings(
        discord_token="abc.def", webhook_url="https://d/api/webhooks/1/very-secret-token"
    )
    text = "POST https://d/api/webhooks/1/very-secret-token failed with token abc.def"
    assert redact(text, settings) == "POST *** failed with token ***"


def test_notifications_list_and_retry(engine: sa.Engine) -> None:
    queue_game(engine, 3413, ["channel:111"], chart=False)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE notifications SET status='failed', last_error='403 Forbidden: Missing Access'"
            )
        )
    runner = CliRunner()
    listed = runner.invoke(main, ["notifications", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert "3413" in listed.output and "403 Forbidden: Missing Access" in listed.output
    retried = runner.invoke(main, ["notifications", "retry", "1"])
    assert retried.exit_code == 0 and "failed -> pending" in retried.output
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, attempts FROM notifications")).one() == (
            "pending",
            0,
        )
    missing = runner.invoke(main, ["notifications", "retry", "999"])
    assert missing.exit_code == 1 and "no notification 999" in missing.output


def test_bot_without_token_or_webhook_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCORD_TOKEN", "WOG_DISCORD_WEBHOOK_URL", "WOG_BOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["bot"])
    assert result.exit_code == 1
    assert "set DISCORD_TOKEN (gateway mode) or pass --webhook URL" in result.output


def test_gateway_bot_wires_its_lifecycle() -> None:
    import hikari

    from wog_bot.app import build_gateway_bot

    token = "OTAwMDAwMDAwMDAwMDAwMDAx.GfakeA.fake-signature-for-tests"  # shaped like a bot token
    settings = BotSettings(
        discord_token=token, discord_api_url="http://127.0.0.1:9/api/v10", channel_ids=(1,)
    )
    bot = build_gateway_bot(settings)
    for event in (hikari.StartingEvent, hikari.StartedEvent, hikari.StoppingEvent, hikari.StoppedEvent,
                  hikari.InteractionCreateEvent):  # fmt: skip
        assert len(bot.get_listeners(event)) == 1, event
    assert bot.rest.http_settings is not None
    with pytest.raises(SystemExit, match="DISCORD_TOKEN"):
        build_gateway_bot(BotSettings())


@pytest.mark.parametrize(
    ("api", "hook", "refused"),
    [
        (None, "https://discord.com/api/webhooks/333/tok", False),
        (None, "https://discordapp.com/api/webhooks/333/tok", False),
        (None, "https://discrod.com/api/webhooks/333/tok", True),  # a typo of the host
        ("http://127.0.0.1:5000/api/v10", "http://127.0.0.1:5000/api/webhooks/333/tok", False),
        ("http://127.0.0.1:5000/api/v10", "http://127.0.0.1:5001/api/webhooks/333/tok", True),
        ("http://127.0.0.1:5000/api/v10", "https://discord.com/api/webhooks/333/tok", True),
    ],
)
def test_a_webhook_on_another_host_than_the_api_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, api: str | None, hook: str, refused: bool
) -> None:
    for name in ("DISCORD_TOKEN", "WOG_BOT_CONFIG", "WOG_DISCORD_API_URL"):
        monkeypatch.delenv(name, raising=False)
    if api:
        monkeypatch.setenv("WOG_DISCORD_API_URL", api)
    monkeypatch.setenv("WOG_DISCORD_WEBHOOK_URL", hook)
    mismatch = Settings.from_env(os.environ).bot.webhook_host_mismatch()
    assert (mismatch is not None) == refused, mismatch
    if refused:
        result = CliRunner().invoke(main, ["bot", "--once"])
        assert result.exit_code == 1
        (line,) = [x for x in result.output.splitlines() if x.strip()]
        assert line.startswith("Error: WOG_DISCORD_WEBHOOK_URL is on ")
        assert "tok" not in line  # the token never reaches the message
