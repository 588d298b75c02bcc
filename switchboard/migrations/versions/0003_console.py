"""The console's tables: users, handoffs (the agent desk's queue) and wrap-ups.

``users.name`` is the key (lower case, checked by the console). ``session_epoch`` counts
sign-outs and password changes: a session cookie carries the epoch it was issued in, so
bumping it ends every session of that user. ``handoffs.call_id`` is not a foreign key on
purpose: a handoff can come from a conversation that has no call row (the text chat), and
the queue must not lose it. ``handoffs.summary`` is the dialogue's ``HandoffSummary`` as
JSON, already redacted. A wrap-up belongs to one handoff and goes with it. Statuses and
roles are checked by the console's store, not by constraints (as in 0002).

Revision ID: 0003_console
Revises: 0002_desk_fields
Create Date: 2025-03-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_console"
down_revision = "0002_desk_fields"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_JSON = sa.Text().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "handoffs",
        sa.Column("handoff_id", sa.Text, primary_key=True),
        sa.Column("call_id", sa.Text),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("agent", sa.Text),
        sa.Column("taken_at", _TIME),
        sa.Column("closed_at", _TIME),
    )
    op.create_index("handoffs_status_created_at", "handoffs", ["status", "created_at"])
    op.create_index("handoffs_call_id", "handoffs", ["call_id"])
    op.create_table(
        "wrapups",
        sa.Column("handoff_id", sa.Text, primary_key=True),
        sa.Column("call_id", sa.Text),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("disposition", sa.Text, nullable=False),
        sa.Column("saved_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.handoff_id"], ondelete="CASCADE"),
    )
    op.create_index("wrapups_call_id", "wrapups", ["call_id"])


def downgrade() -> None:
    op.drop_index("wrapups_call_id", table_name="wrapups")
    op.drop_table("wrapups")
    op.drop_index("handoffs_call_id", table_name="handoffs")
    op.drop_index("handoffs_status_created_at", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_table("users")
