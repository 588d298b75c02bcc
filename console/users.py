"""Accounts made from code and the command line: :func:`create_user` and the demo
accounts that ``switchboard prepare`` (``make run``) makes with :func:`ensure_demo_users`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.security import generate_password, hash_password
from console.store import ConsoleStore, UserRecord
from switchboard.records import CallStore

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DEMO_USERS = (("demo-supervisor", "supervisor"), ("demo-agent", "agent"))


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    password: str | None
    """The new password, or ``None`` if the account was there already."""


def check_name(name: str) -> str:
    """``name`` in lower case; raises ``ValueError`` unless it is 1-64 of a-z 0-9 . _ -."""
    name = name.strip().lower()
    if not NAME.fullmatch(name):
        raise ValueError(f"a user name is 1-64 of a-z, 0-9, '.', '_', '-' (not {name!r})")
    return name


def create_user(
    store: ConsoleStore | CallStore, name: str, role: str, password: str | None = None
) -> tuple[UserRecord, str | None]:
    """Create an account; returns it and the generated password (``None`` if one was
    given). Raises ``ValueError`` for a bad name or role, a name in use, or a password
    shorter than 10 characters."""
    store = _console_store(store)
    if password is not None and len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    generated = None if password else generate_password()
    user = store.add_user(check_name(name), role, hash_password(password or generated))
    return user, generated


def ensure_demo_users(store: ConsoleStore | CallStore) -> list[DemoUser]:
    """A demo supervisor and agent: made with new random passwords when missing, left as
    they are otherwise (``switchboard users passwd NAME`` sets a new password)."""
    store = _console_store(store)
    made = []
    for name, role in DEMO_USERS:
        if store.get_user(name) is not None:
            made.append(DemoUser(name, role, None))
            continue
        try:
            _, password = create_user(store, name, role)
        except ValueError:  # made meanwhile by another process
            password = None
        made.append(DemoUser(name, role, password))
    return made


def _console_store(store: ConsoleStore | CallStore) -> ConsoleStore:
    return store if isinstance(store, ConsoleStore) else ConsoleStore(store)
