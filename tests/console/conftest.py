"""Fixtures for the console tests (helpers are in console_support.py): ``console`` is an
app with one account per role on SQLite; ``make_console(url=None, **settings)`` makes more,
on PostgreSQL too through ``db_url``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import ConsoleApp, build_console
from pg import db_url, postgres  # noqa: F401 - fixtures, found by name


@pytest.fixture
def make_console(tmp_path: Path) -> Iterator[Callable[..., ConsoleApp]]:
    made: list[ConsoleApp] = []

    def make(url: str | None = None, **settings: Any) -> ConsoleApp:
        data = tmp_path / f"data{len(made)}"
        made.append(build_console(url or f"sqlite:///{data / 'calls.db'}", data, **settings))
        return made[-1]

    yield make
    for console in made:
        if console.clients:
            console.clients[0].__exit__(None, None, None)
        console.store.calls.close()


@pytest.fixture
def console(make_console) -> ConsoleApp:
    return make_console()
