"""The console's records: users, the handoff queue and wrap-ups, in the call store's database.

A :class:`ConsoleStore` shares a :class:`~switchboard.records.CallStore`'s engine and its
transactions (so it migrates, queues writers and works on SQLite and PostgreSQL the same
way); the tables are declared in ``switchboard/records.py`` and created by migration 0003.
Methods are synchronous and short, like the call store's: async callers use
``asyncio.to_thread``. What a method takes is stored as given; redaction happens before
(``console.handoffs``) and on the way out (``console.views``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from switchboard.records import HANDOFF_STATUSES, ROLES, CallStore, handoffs, users, wrapups

OPEN_STATUSES = frozenset({"waiting", "taken"})
CLOSED_STATUSES = HANDOFF_STATUSES - OPEN_STATUSES


class HandoffConflict(Exception):
    """The handoff is not in a state that allows this (taken by someone else, closed)."""


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: str
    password_hash: str
    created_at: datetime
    disabled: bool
    session_epoch: int


@dataclass(frozen=True)
class HandoffRecord:
    """One caller handed over: ``summary`` is ``HandoffSummary.to_dict()``, redacted."""

    handoff_id: str
    call_id: str | None
    created_at: datetime
    reason: str
    summary: dict[str, Any]
    status: str
    agent: str | None
    taken_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class WrapupRecord:
    handoff_id: str
    call_id: str | None
    agent: str
    summary: str
    disposition: str
    saved_at: datetime


class ConsoleStore:
    """Users, handoffs and wrap-ups over ``calls``'s engine (it does not own the store)."""

    def __init__(self, calls: CallStore) -> None:
        self.calls = calls

    # --- users ---------------------------------------------------------------------------

    def add_user(
        self, name: str, role: str, password_hash: str, *, created_at: datetime | None = None
    ) -> UserRecord:
        """Create a user. Raises ``ValueError`` for an unknown role or a name in use."""
        _check_role(role)
        row = {
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "created_at": created_at or datetime.now(UTC),
            "disabled": False,
            "session_epoch": 0,
        }
        try:
            with self.calls.transaction(write=True) as conn:
                conn.execute(sa.insert(users).values(row))
        except sa.exc.IntegrityError as e:
            raise ValueError(f"user {name!r} already exists") from e
        return UserRecord(**row)

    def get_user(self, name: str) -> UserRecord | None:
        with self.calls.transaction(write=False) as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else UserRecord(**row._mapping)

    def list_users(self) -> list[UserRecord]:
        with self.calls.transaction(write=False) as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        return [UserRecord(**row._mapping) for row in rows]

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        end_sessions: bool = False,
    ) -> UserRecord:
        """Change what is given; a new password or ``end_sessions`` ends every session of
        the user (the session epoch moves on). Raises ``KeyError`` for an unknown user."""
        values: dict[str, Any] = {}
        if role is not None:
            _check_role(role)
            values["role"] = role
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values["password_hash"] = password_hash
        if password_hash is not None or end_sessions:
            values["session_epoch"] = users.c.session_epoch + 1
        with self.calls.transaction(write=True) as conn:
            if values:
                statement = sa.update(users).where(users.c.name == name).values(values)
                if conn.execute(statement).rowcount == 0:
                    raise KeyError(f"no user {name!r}")
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            raise KeyError(f"no user {name!r}")
        return UserRecord(**row._mapping)

    # --- handoffs ------------------------------------------------------------------------

    def add_handoff(
        self,
        call_id: str | None,
        reason: str,
        summary: dict[str, Any],
        *,
        created_at: datetime | None = None,
        handoff_id: str | None = None,
    ) -> HandoffRecord:
        """Queue a handoff (status ``waiting``); ``summary`` must be JSON-ready."""
        row = {
            "handoff_id": handoff_id or uuid.uuid4().hex,
            "call_id": call_id,
            "created_at": created_at or datetime.now(UTC),
            "reason": reason,
            "summary": dict(summary),
            "status": "waiting",
            "agent": None,
            "taken_at": None,
            "closed_at": None,
        }
        with self.calls.transaction(write=True) as conn:
            conn.execute(sa.insert(handoffs).values(row))
        return HandoffRecord(**row)

    def get_handoff(self, handoff_id: str) -> HandoffRecord | None:
        with self.calls.transaction(write=False) as conn:
            row = conn.execute(
                sa.select(handoffs).where(handoffs.c.handoff_id == handoff_id)
            ).first()
        return None if row is None else HandoffRecord(**row._mapping)

    def list_handoffs(
        self,
        *,
        statuses: set[str] | frozenset[str] | None = None,
        agent: str | None = None,
        waiting_or_agent: str | None = None,
        call_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[HandoffRecord]:
        """Handoffs, oldest first (the order a queue is served in). Filters combine with
        AND: ``statuses``; taken by ``agent``; ``waiting_or_agent``: waiting, or taken by
        that agent (what an agent may see); ``call_id``."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        query = sa.select(handoffs)
        if statuses is not None:
            unknown = set(statuses) - HANDOFF_STATUSES
            if unknown:
                raise ValueError(f"unknown handoff status {sorted(unknown)}")
            query = query.where(handoffs.c.status.in_(sorted(statuses)))
        if agent is not None:
            query = query.where(handoffs.c.agent == agent)
        if waiting_or_agent is not None:
            query = query.where(
                sa.or_(handoffs.c.status == "waiting", handoffs.c.agent == waiting_or_agent)
            )
        if call_id is not None:
            query = query.where(handoffs.c.call_id == call_id)
        query = (
            query.order_by(handoffs.c.created_at, handoffs.c.handoff_id).limit(limit).offset(offset)
        )
        with self.calls.transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [HandoffRecord(**row._mapping) for row in rows]

    def take_handoff(
        self, handoff_id: str, agent: str, *, at: datetime | None = None
    ) -> HandoffRecord:
        """Give a waiting handoff to ``agent``; only one agent wins. Taking one's own again is
        a no-op. Raises ``KeyError`` (no such handoff) or :class:`HandoffConflict`."""
        at = at or datetime.now(UTC)
        with self.calls.transaction(write=True) as conn:
            taken = conn.execute(
                sa.update(handoffs)
                .where(handoffs.c.handoff_id == handoff_id, handoffs.c.status == "waiting")
                .values(status="taken", agent=agent, taken_at=at)
            ).rowcount
            row = conn.execute(
                sa.select(handoffs).where(handoffs.c.handoff_id == handoff_id)
            ).first()
        if row is None:
            raise KeyError(f"no handoff {handoff_id!r}")
        record = HandoffRecord(**row._mapping)
        if not taken and not (record.status == "taken" and record.agent == agent):
            who = f" by {record.agent}" if record.agent else ""
            raise HandoffConflict(f"handoff {handoff_id} is already {record.status}{who}")
        return record

    def set_handoff_status(
        self, handoff_id: str, status: str, *, at: datetime | None = None
    ) -> HandoffRecord:
        """Move an open handoff on (``abandoned``, ``callback``, ``completed``; ``waiting``
        to put a taken one back in the queue). Raises ``KeyError``, ``ValueError`` for an
        unknown status, :class:`HandoffConflict` if the handoff is already closed."""
        if status not in HANDOFF_STATUSES:
            raise ValueError(f"status must be one of {sorted(HANDOFF_STATUSES)}, not {status!r}")
        at = at or datetime.now(UTC)
        values: dict[str, Any] = {"status": status}
        if status in CLOSED_STATUSES:
            values["closed_at"] = at
        elif status == "waiting":
            values.update(agent=None, taken_at=None)
        elif status == "taken":
            raise ValueError("use take_handoff to give a handoff to an agent")
        with self.calls.transaction(write=True) as conn:
            changed = conn.execute(
                sa.update(handoffs)
                .where(
                    handoffs.c.handoff_id == handoff_id,
                    handoffs.c.status.in_(sorted(OPEN_STATUSES)),
                )
                .values(values)
            ).rowcount
            row = conn.execute(
                sa.select(handoffs).where(handoffs.c.handoff_id == handoff_id)
            ).first()
        if row is None:
            raise KeyError(f"no handoff {handoff_id!r}")
        record = HandoffRecord(**row._mapping)
        if not changed:
            raise HandoffConflict(f"handoff {handoff_id} is already {record.status}")
        return record

    # --- wrap-ups ------------------------------------------------------------------------

    def save_wrapup(
        self,
        handoff_id: str,
        agent: str,
        summary: str,
        disposition: str,
        *,
        at: datetime | None = None,
    ) -> WrapupRecord:
        """Save (or replace) the wrap-up of a handoff and complete it. The handoff must be
        taken or completed (a correction); raises ``KeyError`` or :class:`HandoffConflict`."""
        at = at or datetime.now(UTC)
        with self.calls.transaction(write=True) as conn:
            row = conn.execute(
                sa.select(handoffs).where(handoffs.c.handoff_id == handoff_id).with_for_update()
            ).first()
            if row is None:
                raise KeyError(f"no handoff {handoff_id!r}")
            if row.status not in ("taken", "completed"):
                raise HandoffConflict(f"handoff {handoff_id} is {row.status}, not taken")
            record = {
                "handoff_id": handoff_id,
                "call_id": row.call_id,
                "agent": agent,
                "summary": summary,
                "disposition": disposition,
                "saved_at": at,
            }
            exists = conn.execute(
                sa.select(wrapups.c.handoff_id).where(wrapups.c.handoff_id == handoff_id)
            ).first()
            if exists:
                conn.execute(
                    sa.update(wrapups).where(wrapups.c.handoff_id == handoff_id).values(record)
                )
            else:
                conn.execute(sa.insert(wrapups).values(record))
            if row.status == "taken":
                conn.execute(
                    sa.update(handoffs)
                    .where(handoffs.c.handoff_id == handoff_id)
                    .values(status="completed", closed_at=at)
                )
        return WrapupRecord(**record)

    def get_wrapup(self, handoff_id: str) -> WrapupRecord | None:
        with self.calls.transaction(write=False) as conn:
            row = conn.execute(sa.select(wrapups).where(wrapups.c.handoff_id == handoff_id)).first()
        return None if row is None else WrapupRecord(**row._mapping)

    def wrapups_for_call(self, call_id: str) -> list[WrapupRecord]:
        with self.calls.transaction(write=False) as conn:
            rows = conn.execute(
                sa.select(wrapups).where(wrapups.c.call_id == call_id).order_by(wrapups.c.saved_at)
            ).all()
        return [WrapupRecord(**row._mapping) for row in rows]

    def handled_call(self, call_id: str, agent: str) -> bool:
        """Whether ``agent`` took a handoff of this call (what lets an agent see a call)."""
        query = sa.select(handoffs.c.handoff_id).where(
            handoffs.c.call_id == call_id, handoffs.c.agent == agent
        )
        with self.calls.transaction(write=False) as conn:
            return conn.execute(query.limit(1)).first() is not None


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, not {role!r}")
