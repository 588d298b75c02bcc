"""Fixtures for the switchboard tests: ``db_url`` runs a test on SQLite and on PostgreSQL,
``postgres`` is the session's server (both from tests/pg.py)."""

from pg import db_url, postgres  # noqa: F401 - fixtures, found by name
