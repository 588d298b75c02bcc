"""Alembic migrations for the call-record store, shipped inside the package.

There is no ``alembic.ini``: :func:`alembic_config` builds the configuration in code and
points it at this folder, so the scripts run the same from a checkout or an installed wheel.
:func:`upgrade_to_head` is what the store runs when it opens a database. A database written
before the store had migrations (tables ``calls`` and ``turns``, no ``alembic_version``) is
stamped at :data:`INITIAL` first, so it is upgraded in place and keeps its rows.

A new revision (the template is ``script.py.mako``), from a checkout::

    from alembic import command
    from switchboard.migrations import alembic_config
    command.revision(alembic_config(url="sqlite:///data/calls.db"), "what changes",
                     autogenerate=True)
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

INITIAL = "0001_calls_turns"
"""The revision whose schema the pre-migration store created."""

_LEGACY_COLUMNS = {
    "calls": {
        "call_id",
        "call_sid",
        "stream_sid",
        "from_number",
        "to_number",
        "started_at",
        "ended_at",
        "end_reason",
        "recording_path",
    },
    "turns": {"call_id", "seq", "speaker", "text", "started_ms", "ended_ms", "latency", "meta"},
}

# Any constant shared by every process that migrates the same PostgreSQL database.
_PG_LOCK_KEY = 0x5B_CA11


class SchemaError(RuntimeError):
    """The database holds tables the store does not know how to adopt; nothing was changed."""


def alembic_config(connection: sa.Connection | None = None, *, url: str | None = None) -> Config:
    """A configuration for ``alembic.command``: with ``connection`` the commands run on it
    (inside its transaction); with ``url`` alone ``env.py`` opens the store's own engine
    (or writes SQL for that dialect with ``sql=True``)."""
    config = Config()
    # The value goes through configparser interpolation, hence the doubled percent signs.
    config.set_main_option("script_location", str(Path(__file__).parent).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: sa.Connection) -> None:
    """Migrate the database behind ``connection`` to the newest revision, inside the
    connection's open transaction (the caller commits).

    Processes opening the same database at once take turns: on SQLite the caller's
    transaction is ``BEGIN IMMEDIATE``, on PostgreSQL a transaction-level advisory lock is
    taken here. Raises :class:`SchemaError` for unversioned tables that are not the store's.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" not in tables and tables & _LEGACY_COLUMNS.keys():
        _check_legacy(connection, tables)
        command.stamp(alembic_config(connection), INITIAL)
    command.upgrade(alembic_config(connection), "head")


def _check_legacy(connection: sa.Connection, tables: set[str]) -> None:
    inspector = sa.inspect(connection)
    for table, expected in _LEGACY_COLUMNS.items():
        found = (
            {column["name"] for column in inspector.get_columns(table)}
            if table in tables
            else set()
        )
        if found != expected:
            raise SchemaError(
                f"table {table!r} is not the call store's (columns {sorted(found)}, expected "
                f"{sorted(expected)}) and the database has no alembic_version: not adopting it"
            )
