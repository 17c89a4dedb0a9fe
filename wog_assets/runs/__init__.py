"""What the CLI drives over the definitions: backfills, announcements, the WRTD migration,
waiting for the site pool and stopping a session's runs. Imports ``wog_assets.defs``; nothing
there imports this."""
