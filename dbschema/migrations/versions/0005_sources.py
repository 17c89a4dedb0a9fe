"""sources: OCAP2 communities beside the WOG site, each its own id space

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 20:20:00

'sources' names where games come from (the WOG site is number 0, registered here, so existing
ids stay as they are); 'source_replays' and 'source_players' give an OCAP source's games and
people their warehouse ids; games.source says which source a game is from ('wog' for every
existing row).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False, comment="Its id block"),
        sa.Column(
            "kind", sa.String(length=16), nullable=False, comment="wog, ocap-web or ocap-dir"
        ),
        sa.Column(
            "location", sa.Text(), nullable=False, comment="URL or directory when registered"
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("number >= 0", name=op.f("ck_sources_number_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sources")),
        sa.UniqueConstraint("number", name=op.f("uq_sources_number")),
        comment="Where games come from; the WOG site is source 0.",
    )
    op.execute(
        "INSERT INTO sources (name, number, kind, location) "
        "VALUES ('wog', 0, 'wog', 'https://stats.wogames.info')"
    )
    op.create_table(
        "source_replays",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "external_id", sa.Text(), nullable=False, comment="The source's own id or file name"
        ),
        sa.Column("replay_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source"], ["sources.name"], name=op.f("fk_source_replays_source_sources")
        ),
        sa.PrimaryKeyConstraint("source", "external_id", name=op.f("pk_source_replays")),
        sa.UniqueConstraint("replay_id", name=op.f("uq_source_replays_replay_id")),
        comment="The warehouse replay id of each game of an OCAP source.",
    )
    op.create_table(
        "source_players",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, comment="The player's name in that community"),
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source"], ["sources.name"], name=op.f("fk_source_players_source_sources")
        ),
        sa.PrimaryKeyConstraint("source", "name", name=op.f("pk_source_players")),
        sa.UniqueConstraint("player_id", name=op.f("uq_source_players_player_id")),
        comment="OCAP players are people known by name within their source; their warehouse ids.",
    )
    op.add_column(
        "games",
        sa.Column(
            "source",
            sa.Text(),
            server_default="wog",
            nullable=False,
            comment="Where the game was recorded: 'wog' (the stats site) or an OCAP source's name",
        ),
    )


def downgrade() -> None:
    op.drop_column("games", "source")
    op.drop_table("source_players")
    op.drop_table("source_replays")
    op.drop_table("sources")
