"""Helpers for the console tests: an app without the call models (a real call store,
the handoff listener list telephony would hold, one account per role), signing in, a
server in a thread."""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from console.security import hash_password
from console.store import ConsoleStore
from switchboard.app import create_app
from switchboard.records import CallStore
from switchboard.settings import Settings
from tests.conftest import serve  # noqa: F401 - the one uvicorn-in-a-thread helper

PASSWORD = "correct horse battery"
ACCOUNTS = {"ana": "agent", "bo": "agent", "sue": "supervisor", "ada": "admin"}
"""Two agents, so that "calls they handled" has someone else's calls to hide."""
ROLE_USER = {"agent": "ana", "supervisor": "sue", "admin": "ada"}
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@dataclass
class ConsoleApp:
    app: Any
    store: ConsoleStore
    resources: Any
    settings: Settings
    clients: list[TestClient] = field(default_factory=list)

    def client(self, role_or_name: str | None = None, **kwargs) -> TestClient:
        """A client signed in as the user of a role (or a user name), or nobody. The first
        one runs the app's lifespan (the console starts); the others share that app."""
        client = TestClient(self.app, **kwargs)
        if not self.clients:
            client.__enter__()
        self.clients.append(client)
        if role_or_name is not None:
            sign_in(client, ROLE_USER.get(role_or_name, role_or_name))
        return client

    def handoff(self, **summary) -> str:
        """A handoff arriving the way telephony sends one; returns its id once stored."""
        event = types.SimpleNamespace(summary=FakeSummary({**SUMMARY, **summary}))
        for listener in self.resources.handoff_listeners:
            listener(event)
        self.app.state.console.hub.flush()
        stored = self.store.list_handoffs(call_id=summary.get("call_id", SUMMARY["call_id"]))
        return stored[-1].handoff_id


@dataclass
class FakeSummary:
    """Stands in for dialogue.handoff.HandoffSummary (the console only calls to_dict)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


SUMMARY: dict[str, Any] = {
    "reason": "fraud",
    "caller_name": "Dana Lee",
    "verified": True,
    "customer_id": "C-1001",
    "intent": "replace_card",
    "slots": {"card_number": "4532 1234 5678 9012", "pin": "4821"},
    "done": ["verified the caller"],
    "open": ["block the card"],
    "sentiment": "negative",
    "key_quotes": ["my card number is 4532 1234 5678 9012"],
    "prose": "Dana Lee (verified) called about card 4532 1234 5678 9012. Still open: block it.",
    "call_id": "CA1",
    "caller_number": "+15550001111",
    "created_at": "2025-03-01T09:31:00+00:00",
}


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once (argon2 is slow on purpose)."""
    return hash_password(PASSWORD)


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post(
        "/api/auth/signin",
        json={"name": name, "password": password},
        headers={"X-CSRF-Token": token},
    )
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return response


def build(url: str, data_dir: Path, **settings: Any) -> tuple[Any, ConsoleStore, Any, Settings]:
    options = {"environment": "test", **settings}
    config = Settings(_env_file=None, data_dir=data_dir, database_url=url, **options)
    calls = CallStore(url)
    store = ConsoleStore(calls)
    resources = types.SimpleNamespace(
        store=calls, handoff_listeners=[], active_calls={}, dialogue=None, settings=config
    )
    return create_app(config, resources=resources), store, resources, config


def build_console(url: str, data_dir: Path, **settings: Any) -> ConsoleApp:
    """The app with the four accounts (see ``ACCOUNTS``)."""
    app, store, resources, config = build(url, data_dir, **settings)
    for name, role in ACCOUNTS.items():
        store.add_user(name, role, password_hash())
    return ConsoleApp(app, store, resources, config)
