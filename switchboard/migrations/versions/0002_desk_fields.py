"""Fields for the agent desk: how a call ended up (outcome), what it was about, who took it.

``outcome`` is one of bot, handoff, abandoned, callback (checked by the store, not by a
constraint: adding one on SQLite would mean copying the table). All four are nullable text,
so the upgrade is an ``ALTER TABLE ... ADD COLUMN`` on both databases. The index serves the
desk's "calls with outcome X that ended in this period" (equality column first).

Revision ID: 0002_desk_fields
Revises: 0001_calls_turns
Create Date: 2025-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_desk_fields"
down_revision = "0001_calls_turns"
branch_labels = None
depends_on = None

_FIELDS = ("outcome", "intent", "sentiment", "agent")


def upgrade() -> None:
    for name in _FIELDS:
        op.add_column("calls", sa.Column(name, sa.Text, nullable=True))
    op.create_index("calls_outcome_ended_at", "calls", ["outcome", "ended_at"])


def downgrade() -> None:
    op.drop_index("calls_outcome_ended_at", table_name="calls")
    # SQLite (3.35+) drops a column in place; a batch copy of "calls" is avoided on purpose:
    # dropping the old table with foreign keys on would cascade-delete every turn.
    for name in reversed(_FIELDS):
        op.drop_column("calls", name)
