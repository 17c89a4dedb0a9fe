"""The Discord stand-in (REST, gateway, channel page) lives in the product, for the demo:
:mod:`wog_assets.demo.discord`. Tests import it from here."""

from wog_assets.demo.discord import (
    API,
    APPLICATION_ID,
    BOT_TOKEN,
    BOT_USER,
    GUILD_ID,
    FakeDiscord,
    Recorded,
    Script,
)

__all__ = [
    "API",
    "APPLICATION_ID",
    "BOT_TOKEN",
    "BOT_USER",
    "GUILD_ID",
    "FakeDiscord",
    "Recorded",
    "Script",
]
