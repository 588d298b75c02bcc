"""Alembic's entry point for the call store's migrations (see ``__init__.py``).

Run by ``alembic.command`` with a configuration from ``alembic_config``: on the connection
it was handed (the store's own, inside its transaction), else on an engine opened the way the
store opens one, else (``sql=True``) writing SQL for the URL's dialect.
"""

from __future__ import annotations

from alembic import context

from switchboard.records import metadata, open_engine


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # PostgreSQL's "rowid" column stands in for SQLite's implicit rowid (insertion order);
    # the store's metadata does not declare it, so autogenerate must not try to drop it.
    return not (type_ == "column" and name == "rowid")


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, include_object=_include)
    # A no-op when the connection is already in a transaction (the store's case).
    with context.begin_transaction():
        context.run_migrations()


config = context.config
if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    engine = open_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()
