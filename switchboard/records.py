"""The call-record store: one row per call, one row per turn, written as the call happens.

SQLAlchemy Core over SQLite (a file, the default) or PostgreSQL (``postgresql+psycopg://``).
The schema is managed by Alembic (``switchboard/migrations``): opening a store migrates its
database to the newest revision, and :func:`upgrade` does only that, for deploy scripts.
The public methods are synchronous and short; async callers wrap them in
``asyncio.to_thread``. A store may be used from any thread (a connection pool; a single
connection behind a lock for ``sqlite:///:memory:``).

Durability: every ``start_call``, ``add_turn``, ``end_call`` and ``set_call_fields`` is its
own committed transaction (on SQLite: WAL journal, ``synchronous=FULL``), so a crash mid-call
loses at most the turn that was being written. Several stores (or processes) may open the
same database; a turn's number is allocated inside its write transaction (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: the call's row locked ``FOR UPDATE``), so it stays unique
per call.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from switchboard import migrations

SPEAKERS = frozenset({"caller", "bot", "system"})
OUTCOMES = frozenset({"bot", "handoff", "abandoned", "callback"})
DESK_FIELDS = ("outcome", "intent", "sentiment", "agent")
"""The call fields the agent desk sets afterwards (:meth:`CallStore.set_call_fields`)."""

_BEGIN = "switchboard_sqlite_begin"  # execution option: how a SQLite transaction begins
_SQLITE_BUSY_SECS = 10.0  # how long a SQLite connection waits for another writer


class _UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes, stored in UTC: ``timestamptz`` on PostgreSQL; on SQLite the
    fixed-width ISO-8601 text the store has always written (it sorts as text).
    A naive datetime is taken to be UTC already."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = _utc(value)
        return value.isoformat(timespec="microseconds") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return _utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


class _JSONObject(sa.TypeDecorator[dict[str, Any]]):
    """A JSON object: ``jsonb`` on PostgreSQL; on SQLite the text the store has always
    written (so a file from before the migrations reads the same)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: dict[str, Any] | None, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value  # jsonb's own processing serialises it
        return _json_text(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dict[str, Any] | None:
        return json.loads(value) if isinstance(value, str) else value


metadata = sa.MetaData()
"""The newest schema, as the code sees it; the migrations are what create it."""

calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("call_sid", sa.Text),
    sa.Column("stream_sid", sa.Text),
    sa.Column("from_number", sa.Text),
    sa.Column("to_number", sa.Text),
    sa.Column("started_at", _UTCDateTime, nullable=False),
    sa.Column("ended_at", _UTCDateTime),
    sa.Column("end_reason", sa.Text),
    sa.Column("recording_path", sa.Text),
    *(sa.Column(name, sa.Text) for name in DESK_FIELDS),
    sa.Index("calls_started_at", "started_at"),
    sa.Index("calls_outcome_ended_at", "outcome", "ended_at"),
)

turns = sa.Table(
    "turns",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("speaker", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("started_ms", sa.Integer, nullable=False),
    sa.Column("ended_ms", sa.Integer),
    sa.Column("latency", _JSONObject),
    sa.Column("meta", _JSONObject),
    sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], ondelete="CASCADE"),
)

ROLES = frozenset({"agent", "supervisor", "admin"})
HANDOFF_STATUSES = frozenset({"waiting", "taken", "completed", "abandoned", "callback"})

# The console's tables (migration 0003); their store is console/store.py, over this engine.
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", _UTCDateTime, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
)

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("handoff_id", sa.Text, primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("created_at", _UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("summary", _JSONObject, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("agent", sa.Text),
    sa.Column("taken_at", _UTCDateTime),
    sa.Column("closed_at", _UTCDateTime),
    sa.Index("handoffs_status_created_at", "status", "created_at"),
    sa.Index("handoffs_call_id", "call_id"),
)

wrapups = sa.Table(
    "wrapups",
    metadata,
    sa.Column("handoff_id", sa.Text, primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("agent", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("disposition", sa.Text, nullable=False),
    sa.Column("saved_at", _UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.handoff_id"], ondelete="CASCADE"),
    sa.Index("wrapups_call_id", "call_id"),
)

# Insertion order, for calls that started at the same moment: SQLite's implicit rowid, and a
# column of that name on PostgreSQL (see the first migration).
_INSERTION_ORDER = sa.literal_column("calls.rowid")


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
    """One call. ``turns`` is filled by ``CallStore.get_call`` and left empty by ``list_calls``.
    ``outcome`` (one of :data:`OUTCOMES`), ``intent``, ``sentiment`` and ``agent`` are set by
    the agent desk afterwards (``CallStore.set_call_fields``); ``None`` until then."""

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
    outcome: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    agent: str | None = None


def sqlite_path(url_or_path: str) -> str:
    """Turn ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:`` or a plain
    path into a path for ``sqlite3.connect`` (the SQLAlchemy URL convention)."""
    if "://" not in url_or_path:
        return url_or_path
    scheme, _, rest = url_or_path.partition("://")
    if scheme != "sqlite":
        raise ValueError(f"not a SQLite URL (scheme {scheme!r}): {url_or_path!r}")
    if not rest.startswith("/"):
        raise ValueError(f"expected sqlite:///path, got {url_or_path!r}")
    path = rest[1:]
    if not path:
        raise ValueError(f"no database path in {url_or_path!r}")
    return path


def open_engine(url_or_path: str | os.PathLike[str]) -> sa.Engine:
    """The engine a store uses for ``url_or_path``: a SQLite path or ``sqlite:///`` URL (its
    folder is created; WAL, ``synchronous=FULL``, foreign keys, a 10 s busy timeout), or a
    PostgreSQL URL (``postgresql://`` and ``postgres://`` get the psycopg 3 driver).
    Raises ``ValueError`` for any other database."""
    text = os.fspath(url_or_path)
    scheme = text.partition("://")[0] if "://" in text else "sqlite"
    if scheme == "sqlite":
        return _sqlite_engine(sqlite_path(text))
    if scheme.partition("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(
            "the call store takes a SQLite path or sqlite:///path, or a postgresql+psycopg:// "
            f"URL, not {scheme!r}"
        )
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        # Not the parser's message: it would repeat the URL, password included.
        raise ValueError(f"not a valid {scheme} URL") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=_json_text)


def upgrade(url_or_path: str | os.PathLike[str]) -> None:
    """Migrate the database to the newest schema (what opening a store does first), adopting
    a file written before the store had migrations. For ``switchboard db upgrade``-style
    commands; safe to run while stores are open and to run twice."""
    engine = open_engine(url_or_path)
    try:
        _migrate(engine)
    finally:
        engine.dispose()


class CallStore:
    """Calls and their turns in SQLite or PostgreSQL. Thread-safe; see the module docstring."""

    def __init__(self, url_or_path: str | os.PathLike[str]) -> None:
        self._engine = open_engine(url_or_path)
        # SQLite writes one transaction at a time anyway: this store's threads queue on a
        # lock rather than in SQLite's busy handler, which sleeps. The single connection of
        # an in-memory database must not be shared by two threads at once, so there reads
        # take the lock too. Other processes, and PostgreSQL, are left to the database.
        sqlite = self._engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._lock_writes = sqlite
        self._lock_reads = sqlite and self._engine.url.database == ":memory:"
        try:
            with self._lock:
                _migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

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
        row = {
            "call_id": call_id,
            "call_sid": call_sid,
            "stream_sid": stream_sid,
            "from_number": from_number,
            "to_number": to_number,
            "started_at": started_at or datetime.now(UTC),
        }
        try:
            with self._transaction(write=True) as conn:
                conn.execute(sa.insert(calls).values(row))
        except sa.exc.IntegrityError as e:
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
        speaker, ``TypeError`` if ``latency``/``meta`` cannot be written as JSON (and
        ``ValueError`` if they hold NaN or infinity, which PostgreSQL's JSON refuses)."""
        if speaker not in SPEAKERS:
            raise ValueError(f"speaker must be one of {sorted(SPEAKERS)}, not {speaker!r}")
        row = {
            "call_id": call_id,
            "speaker": speaker,
            "text": text,
            "started_ms": started_ms,
            "ended_ms": ended_ms,
            "latency": _json_ready(latency),
            "meta": _json_ready(meta),
        }
        with self._transaction(write=True) as conn:
            # Locking the call's row makes concurrent writers to one call take turns on
            # PostgreSQL; SQLite ignores FOR UPDATE, its BEGIN IMMEDIATE already did that.
            self._require_call(conn, call_id, "add a turn to", lock=True)
            seq = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(turns.c.seq) + 1, 0)).where(
                    turns.c.call_id == call_id
                )
            ).scalar_one()
            conn.execute(sa.insert(turns).values({**row, "seq": seq}))
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
        ended = sa.literal(ended_at or datetime.now(UTC), calls.c.ended_at.type)
        statement = (
            sa.update(calls)
            .where(calls.c.call_id == call_id)
            .values(
                ended_at=sa.func.coalesce(calls.c.ended_at, ended),
                end_reason=sa.func.coalesce(calls.c.end_reason, sa.literal(reason, sa.Text)),
                recording_path=sa.func.coalesce(
                    sa.literal(recording_path, sa.Text), calls.c.recording_path
                ),
            )
        )
        with self._transaction(write=True) as conn:
            if conn.execute(statement).rowcount == 0:
                raise _no_such_call(call_id, "end")

    def end_unfinished_calls(self, reason: str) -> int:
        """End every call that has no end (the process serving it died); returns how many.

        Called when the single service process starts: any call still open then was cut off
        by the restart. Their turns up to the crash are kept.
        """
        statement = (
            sa.update(calls)
            .where(calls.c.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC), end_reason=reason)
        )
        with self._transaction(write=True) as conn:
            return conn.execute(statement).rowcount

    def set_call_fields(self, call_id: str, **fields: str | None) -> None:
        """Set the agent desk's fields of a call (any of :data:`DESK_FIELDS`; ``None`` clears
        one); the last write wins. Raises ``TypeError`` for another name or a value that is
        not text, ``ValueError`` for an outcome outside :data:`OUTCOMES`, ``KeyError`` for a
        call that was never started."""
        unknown = sorted(set(fields) - set(DESK_FIELDS))
        if unknown:
            raise TypeError(f"set_call_fields takes only {list(DESK_FIELDS)}, not {unknown}")
        for name, value in fields.items():
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be text or None, not {type(value).__name__}")
        _check_outcome(fields.get("outcome"))
        with self._transaction(write=True) as conn:
            if not fields:
                self._require_call(conn, call_id, "set fields of")
                return
            statement = sa.update(calls).where(calls.c.call_id == call_id).values(fields)
            if conn.execute(statement).rowcount == 0:
                raise _no_such_call(call_id, "set fields of")

    def get_call(self, call_id: str) -> CallRecord | None:
        """The call with all its turns in order, or ``None`` if it is not stored."""
        with self._transaction(write=False) as conn:
            row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).first()
            turn_rows = conn.execute(
                sa.select(turns).where(turns.c.call_id == call_id).order_by(turns.c.seq)
            ).all()
        if row is None:
            return None
        call = _call_from_row(row)
        call.turns = [TurnRecord(**turn._mapping) for turn in turn_rows]
        return call

    def list_calls(
        self,
        limit: int = 50,
        offset: int = 0,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: str | None = None,
        intent: str | None = None,
        sentiment: str | None = None,
        agent: str | None = None,
        text: str | None = None,
    ) -> list[CallRecord]:
        """Calls, newest first, without their turns (``turns`` is empty).

        Filters, all optional and combined with AND: calls that started at or after
        ``since`` and before ``until``; whose ``outcome``/``intent``/``sentiment``/``agent``
        equals the one given; with a turn containing ``text`` (case-insensitive for ASCII
        letters, a plain substring: ``%`` and ``_`` are not wildcards)."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        _check_outcome(outcome)
        query = sa.select(calls)
        if since is not None:
            query = query.where(calls.c.started_at >= since)
        if until is not None:
            query = query.where(calls.c.started_at < until)
        for name, value in (
            ("outcome", outcome),
            ("intent", intent),
            ("sentiment", sentiment),
            ("agent", agent),
        ):
            if value is not None:
                query = query.where(calls.c[name] == value)
        if text:
            query = query.where(
                sa.exists().where(
                    turns.c.call_id == calls.c.call_id,
                    turns.c.text.icontains(text, autoescape=True),
                )
            )
        query = (
            query.order_by(calls.c.started_at.desc(), _INSERTION_ORDER.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [_call_from_row(row) for row in rows]

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        """A connection in a transaction on this store's database, committed when the block
        ends without an error; for stores of other tables in the same database (the
        console's). Writers queue the way this store's own writes do."""
        with self._transaction(write=write) as conn:
            yield conn

    def close(self) -> None:
        """Close every connection. Safe to call twice."""
        with self._lock:
            self._engine.dispose()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        """A connection in a transaction, committed when the block ends without an error."""
        locked = self._lock_writes if write else self._lock_reads
        with self._lock if locked else nullcontext(), self._engine.connect() as conn:
            if write:
                conn.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
            with conn.begin():
                yield conn

    @staticmethod
    def _require_call(conn: sa.Connection, call_id: str, action: str, lock: bool = False) -> None:
        query = sa.select(calls.c.call_id).where(calls.c.call_id == call_id)
        if conn.execute(query.with_for_update() if lock else query).first() is None:
            raise _no_such_call(call_id, action)


def _migrate(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
        with conn.begin():
            migrations.upgrade_to_head(conn)


def _sqlite_engine(path: str) -> sa.Engine:
    in_memory = path == ":memory:"
    if not in_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        sa.URL.create("sqlite+pysqlite", database=path),
        connect_args={"timeout": _SQLITE_BUSY_SECS, "check_same_thread": False},
        poolclass=sa.StaticPool if in_memory else sa.QueuePool,
        json_serializer=_json_text,
    )
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    # The sqlite3 module's own transaction handling would defer BEGIN until the first write;
    # it is switched off so that _sqlite_begin decides (the SQLAlchemy pysqlite recipe).
    dbapi_connection.isolation_level = None
    busy_ms = int(_SQLITE_BUSY_SECS * 1000)
    for pragma in (f"busy_timeout={busy_ms}", "synchronous=FULL", "foreign_keys=ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")
    _switch_to_wal(dbapi_connection)


def _switch_to_wal(dbapi_connection: Any) -> None:
    # Switching a new file to WAL takes an exclusive lock. When several connections switch
    # at once, SQLite may refuse one at once, without waiting out the busy timeout (both
    # hold a shared lock and want the exclusive one), so the switch is tried again here.
    deadline = time.monotonic() + _SQLITE_BUSY_SECS
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers begin IMMEDIATE: they queue for the write lock (busy timeout) before reading
    # anything, so a read-then-write such as allocating a turn's seq cannot race.
    conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN, "BEGIN"))


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_ready(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plain dict, checked to be writable as JSON before any transaction starts."""
    if value is None:
        return None
    value = dict(value)
    _json_text(value)
    return value


def _check_outcome(outcome: str | None) -> None:
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _no_such_call(call_id: str, action: str) -> KeyError:
    return KeyError(f"cannot {action} call {call_id!r}: no such call (start_call first)")


def _call_from_row(row: sa.Row[Any]) -> CallRecord:
    return CallRecord(**row._mapping, turns=[])
