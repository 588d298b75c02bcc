"""``switchboard users ...`` and the demo accounts."""

from __future__ import annotations

import os

import pytest

from console.security import verify_password
from console.store import ConsoleStore
from console.users import ensure_demo_users
from switchboard.cli import main
from switchboard.records import CallStore
from switchboard.settings import get_settings


@pytest.fixture
def data(tmp_path, monkeypatch):
    """Only the variables a test sets, no ``.env`` (cwd is empty), settings read afresh."""
    for name in list(os.environ):
        if name.upper().startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def users(path) -> ConsoleStore:
    return ConsoleStore(CallStore(path / "calls.db"))


def test_users_add_list_disable_enable_passwd(data, capsys):
    assert main(["users", "add", "Ana", "--role", "agent"]) == 0
    out = capsys.readouterr().out
    assert "added ana (agent)" in out
    password = out.split("password: ")[1].strip()
    store = users(data)
    assert verify_password(store.get_user("ana").password_hash, password)

    assert main(["users", "add", "sue", "--role", "supervisor", "--password", "long enough!"]) == 0
    assert "password:" not in capsys.readouterr().out
    assert main(["users", "add", "sue", "--role", "agent", "--password", "long enough!"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["users", "add", "x", "--role", "agent", "--password", "short"]) == 1
    capsys.readouterr()

    assert main(["users", "disable", "ana"]) == 0
    assert capsys.readouterr().out == "ana: disabled\n"
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("ana\tagent\t") and listing[0].endswith("disabled")
    assert listing[1].startswith("sue\tsupervisor\t")
    assert store.get_user("ana").disabled and store.get_user("ana").session_epoch == 1
    assert main(["users", "enable", "ana"]) == 0
    assert not store.get_user("ana").disabled
    assert main(["users", "passwd", "ana", "--password", "a new password"]) == 0
    assert verify_password(store.get_user("ana").password_hash, "a new password")
    assert main(["users", "disable", "nobody"]) == 1
    with pytest.raises(SystemExit):
        main(["users", "add", "bo", "--role", "boss"])
    store.calls.close()


def test_demo_users_are_made_once(data, capsys):
    assert main(["users", "demo"]) == 0
    out = capsys.readouterr().out
    assert "demo-supervisor (supervisor), password " in out
    assert "demo-agent (agent), password " in out
    assert "/signin" in out
    store = users(data)
    again = ensure_demo_users(store)
    assert [(u.name, u.role, u.password) for u in again] == [
        ("demo-supervisor", "supervisor", None),
        ("demo-agent", "agent", None),
    ]
    assert main(["users", "demo"]) == 0
    assert "exists (new password: switchboard users passwd demo-agent)" in capsys.readouterr().out
    store.calls.close()


def test_no_demo_users_in_production(data, capsys, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ENVIRONMENT", "production")
    monkeypatch.setenv("SWITCHBOARD_TWILIO__AUTH_TOKEN", "t" * 32)
    assert main(["users", "demo"]) == 0
    assert "no demo accounts in production" in capsys.readouterr().out
    assert not (data / "calls.db").exists()
