"""The call-record store: one row per call, one row per turn, written as the call happens.

SQLite (stdlib ``sqlite3``) for now; the interface is kept narrow so that a later move to
SQLAlchemy + PostgreSQL only replaces this module. The public methods are synchronous and
short; async callers wrap them in ``asyncio.to_thread``. One connection is shared behind a
lock, so a store may be used from any thread.

Durability: every ``start_call``, ``add_turn`` and ``end_call`` is its own committed
transaction (WAL journal, ``synchronous=FULL``), so a crash mid-call loses at most the turn
that was being written. Several stores (or processes) may open the same file; turn numbers
are allocated inside a write transaction, so they stay unique per call.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

SPEAKERS = frozenset({"caller", "bot", "system"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id        TEXT PRIMARY KEY,
    call_sid       TEXT,
    stream_sid     TEXT,
    from_number    TEXT,
    to_number      TEXT,
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    end_reason     TEXT,
    recording_path TEXT
);
CREATE INDEX IF NOT EXISTS calls_started_at ON calls (started_at);
CREATE TABLE IF NOT EXISTS turns (
    call_id    TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    speaker    TEXT NOT NULL,
    text       TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms   INTEGER,
    latency    TEXT,
    meta       TEXT,
    PRIMARY KEY (call_id, seq)
);
"""

_CALL_COLUMNS = (
    "call_id, call_sid, stream_sid, from_number, to_number,"
    " started_at, ended_at, end_reason, recording_path"
)


@dataclass
class TurnRecord:
    """One utterance in a call. ``started_ms``/``ended_ms`` count from the call's start;
    ``latency`` holds per-stage milliseconds (``stt_ms``, ``total_ms``, ...); ``meta`` holds
    whatever the dialogue wants to keep (intent, action, DTMF digit, sources)."""

    call_id: str
    seq: int
    speaker: str
    text: str
    started_ms: int
    ended_ms: int | None = None
    latency: dict[str, float] | None = None
    meta: dict[str, Any] | None = None


@dataclass
class CallRecord:
    """One call. ``turns`` is filled by ``CallStore.get_call`` and left empty by ``list_calls``."""

    call_id: str
    call_sid: str | None
    stream_sid: str | None
    from_number: str | None
    to_number: str | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    recording_path: str | None
    turns: list[TurnRecord] = field(default_factory=list)


def sqlite_path(url_or_path: str) -> str:
    """Turn ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:`` or a plain
    path into a path for ``sqlite3.connect`` (the SQLAlchemy URL convention)."""
    if "://" not in url_or_path:
        return url_or_path
    scheme, _, rest = url_or_path.partition("://")
    if scheme != "sqlite":
        raise ValueError(
            f"CallStore supports sqlite URLs or plain paths only, not {scheme!r}: {url_or_path!r}"
        )
    if not rest.startswith("/"):
        raise ValueError(f"expected sqlite:///path, got {url_or_path!r}")
    path = rest[1:]
    if not path:
        raise ValueError(f"no database path in {url_or_path!r}")
    return path


def _to_text(moment: datetime) -> str:
    """Store times as UTC ISO-8601 with a fixed width, so they sort as text.
    A naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dump(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), ensure_ascii=False)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


class CallStore:
    """Calls and their turns in a SQLite file. Thread-safe; see the module docstring."""

    def __init__(self, url_or_path: str | os.PathLike[str]) -> None:
        path = sqlite_path(os.fspath(url_or_path))
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE below).
        self._conn = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start_call(
        self,
        call_id: str,
        *,
        call_sid: str | None = None,
        stream_sid: str | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        started_at: datetime | None = None,
    ) -> None:
        """Record a new call. Raises ``ValueError`` if ``call_id`` is already stored."""
        started = _to_text(started_at or datetime.now(UTC))
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO calls (call_id, call_sid, stream_sid, from_number, to_number,"
                    " started_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (call_id, call_sid, stream_sid, from_number, to_number, started),
                )
            except sqlite3.IntegrityError as e:
                raise ValueError(f"call {call_id!r} is already recorded") from e

    def add_turn(
        self,
        call_id: str,
        speaker: str,
        text: str,
        *,
        started_ms: int,
        ended_ms: int | None = None,
        latency: Mapping[str, float] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a turn to a call and commit it; returns its ``seq`` (0, 1, 2, ... per call).

        Raises ``KeyError`` for a call that was never started, ``ValueError`` for an unknown
        speaker, ``TypeError`` if ``latency``/``meta`` cannot be written as JSON."""
        if speaker not in SPEAKERS:
            raise ValueError(f"speaker must be one of {sorted(SPEAKERS)}, not {speaker!r}")
        latency_json, meta_json = _dump(latency), _dump(meta)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._require_call(call_id, "add a turn to")
                (seq,) = self._conn.execute(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM turns WHERE call_id = ?", (call_id,)
                ).fetchone()
                self._conn.execute(
                    "INSERT INTO turns (call_id, seq, speaker, text, started_ms, ended_ms,"
                    " latency, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (call_id, seq, speaker, text, started_ms, ended_ms, latency_json, meta_json),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return seq

    def end_call(
        self,
        call_id: str,
        *,
        reason: str,
        recording_path: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Mark a call as ended. The first end wins (a hang-up and the stream closing may both
        report it); a ``recording_path`` given later is still stored.
        Raises ``KeyError`` for a call that was never started."""
        ended = _to_text(ended_at or datetime.now(UTC))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._require_call(call_id, "end")
                self._conn.execute(
                    "UPDATE calls SET ended_at = COALESCE(ended_at, ?),"
                    " end_reason = COALESCE(end_reason, ?),"
                    " recording_path = COALESCE(?, recording_path) WHERE call_id = ?",
                    (ended, reason, recording_path, call_id),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def end_unfinished_calls(self, reason: str) -> int:
        """End every call that has no end (the process serving it died); returns how many.

        Called when the single service process starts: any call still open then was cut off
        by the restart. Their turns up to the crash are kept.
        """
        ended = _to_text(datetime.now(UTC))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._conn.execute(
                    "UPDATE calls SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL",
                    (ended, reason),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return cursor.rowcount

    def get_call(self, call_id: str) -> CallRecord | None:
        """The call with all its turns in order, or ``None`` if it is not stored."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                row = self._conn.execute(
                    f"SELECT {_CALL_COLUMNS} FROM calls WHERE call_id = ?", (call_id,)
                ).fetchone()
                turn_rows = self._conn.execute(
                    "SELECT call_id, seq, speaker, text, started_ms, ended_ms, latency, meta"
                    " FROM turns WHERE call_id = ? ORDER BY seq",
                    (call_id,),
                ).fetchall()
            finally:
                self._conn.execute("COMMIT")
        if row is None:
            return None
        call = _call_from_row(row)
        call.turns = [
            TurnRecord(*turn[:6], latency=_load(turn[6]), meta=_load(turn[7])) for turn in turn_rows
        ]
        return call

    def list_calls(self, limit: int = 50, offset: int = 0) -> list[CallRecord]:
        """Calls, newest first, without their turns (``turns`` is empty)."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls"
                " ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_call_from_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            self._conn.close()

    def _require_call(self, call_id: str, action: str) -> None:
        found = self._conn.execute("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if found is None:
            raise KeyError(f"cannot {action} call {call_id!r}: no such call (start_call first)")


def _call_from_row(row: tuple[Any, ...]) -> CallRecord:
    call_id, call_sid, stream_sid, from_number, to_number, started, ended, reason, rec = row
    return CallRecord(
        call_id=call_id,
        call_sid=call_sid,
        stream_sid=stream_sid,
        from_number=from_number,
        to_number=to_number,
        started_at=datetime.fromisoformat(started),
        ended_at=_from_text(ended),
        end_reason=reason,
        recording_path=rec,
        turns=[],
    )
