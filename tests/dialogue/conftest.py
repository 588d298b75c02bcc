"""Dialogue fixtures: the demo knowledge base in a temporary local store, shared services."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from dialogue.bank import DemoBank
from dialogue.flows import load_flows
from dialogue.intents import get_intent_model
from dialogue.manager import DialogueServices
from dialogue.retrieval import KnowledgeRetriever

TODAY = date(2026, 11, 27)  # a Friday, as in the scenarios


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """The demo bank's knowledge base, ingested once into a temporary local Qdrant."""
    from knowledge.embeddings import get_embedder
    from knowledge.ingest import ingest
    from knowledge.store import KnowledgeStore
    from switchboard.cli import DEMO_KB

    store = KnowledgeStore(path=tmp_path_factory.mktemp("qdrant"), embedder=get_embedder())
    report = ingest(store, "demo_bank", [DEMO_KB])
    assert not report.errors
    yield store
    store.close()


@pytest.fixture(scope="session")
def shared_services(demo_store) -> DialogueServices:
    return DialogueServices(
        intents=get_intent_model(),
        retriever=KnowledgeRetriever(demo_store, "demo_bank"),
        bank=DemoBank(":memory:"),
        flows=load_flows(),
        today=lambda: TODAY,
    )


@pytest.fixture
def services(shared_services) -> DialogueServices:
    """Shared models and knowledge, but a fresh demo bank per test (10:00 on ``TODAY``)."""
    bank = DemoBank(":memory:", clock=lambda: datetime(2026, 11, 27, 10, 0))
    yield replace(shared_services, bank=bank)
    bank.close()


@pytest.fixture
def talk(services):
    """A new conversation; ``talk(*lines)`` says each line and returns the replies."""
    events: list = []
    manager = services.conversation(call_id="test", on_event=events.append)
    manager.greeting()

    def say(*lines: str):
        replies = []
        for line in lines:
            if line.startswith("#"):
                reply = None
                for key in line[1:]:
                    reply = manager.on_dtmf(key) or reply
                replies.append(reply)
            else:
                replies.append(manager.on_text(line))
        return replies

    say.manager = manager
    say.events = events
    return say
