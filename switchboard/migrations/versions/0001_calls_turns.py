"""Calls and turns: the schema the store had before it used migrations.

On SQLite the tables match that store's files column for column (times as fixed-width
UTC ISO-8601 text, JSON as text), which is why such a file can be stamped at this revision.
On PostgreSQL times are ``timestamptz``, JSON is ``jsonb``, and an identity column ``rowid``
keeps insertion order the way SQLite's implicit rowid does (ties in ``started_at``).

Revision ID: 0001_calls_turns
Revises:
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_calls_turns"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_JSON = sa.Text().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    insertion_order = (
        []
        if op.get_context().dialect.name == "sqlite"
        else [sa.Column("rowid", sa.BigInteger, sa.Identity(), nullable=False)]
    )
    op.create_table(
        "calls",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("call_sid", sa.Text),
        sa.Column("stream_sid", sa.Text),
        sa.Column("from_number", sa.Text),
        sa.Column("to_number", sa.Text),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("ended_at", _TIME),
        sa.Column("end_reason", sa.Text),
        sa.Column("recording_path", sa.Text),
        *insertion_order,
    )
    op.create_index("calls_started_at", "calls", ["started_at"])
    op.create_table(
        "turns",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("speaker", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("started_ms", sa.Integer, nullable=False),
        sa.Column("ended_ms", sa.Integer),
        sa.Column("latency", _JSON),
        sa.Column("meta", _JSON),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("turns")
    op.drop_index("calls_started_at", table_name="calls")
    op.drop_table("calls")
