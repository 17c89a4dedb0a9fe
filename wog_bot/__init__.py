"""The hikari Discord bot: notification delivery, Twitch alerts and slash commands.

Never imports Dagster.
"""
