"""The admin page (``/console/admin``): users and the knowledge base as an admin sees them,
and the API calls its forms make (``static/admin.js``) working end to end. Who may open the
page is in test_console_routes.py's table."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from test_console_api import FakeKnowledge

from console import pages

STATIC = Path(pages.__file__).parent / "static"


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


def user_rows(html: str) -> dict[str, str]:
    """Each user row's name and its shown state (active / disabled); the empty row of the
    ``<template>`` (for rows the add-user form makes) is left out."""
    rows = re.findall(
        r'data-testid="user-row" data-name="([^"]+)".*?data-testid="user-state">(\w+)<', html, re.S
    )
    return dict(rows)


def collection_rows(html: str) -> dict[str, tuple[int, int]]:
    found = re.findall(
        r'data-testid="kb-collection" data-name="([^"]+)">\s*'
        r"<th[^>]*>[^<]*</th><td>(\d+)</td><td>(\d+)</td>",
        html,
    )
    return {name: (int(docs), int(chunks)) for name, docs, chunks in found}


def with_fake_knowledge(console) -> FakeKnowledge:
    knowledge = FakeKnowledge()
    console.resources.dialogue = types.SimpleNamespace(
        retriever=types.SimpleNamespace(store=knowledge)
    )
    return knowledge


def test_the_admin_page_lists_users_and_collections(console):
    knowledge = with_fake_knowledge(console)
    knowledge.documents["bank"] = {"fees": "h1", "hours": "h2"}
    ada = console.client("admin")
    console.store.update_user("bo", disabled=True)
    response = ada.get("/console/admin")
    assert response.status_code == 200, response.text
    html = response.text
    assert {
        "admin-users",
        "user-row",
        "add-user-form",
        "kb-collections",
        "kb-upload-form",
        "kb-reingest",
        "admin-status",
    } <= ids_in(html)
    assert user_rows(html) == {"ada": "active", "ana": "active", "bo": "disabled", "sue": "active"}
    assert collection_rows(html) == {"bank": (2, 2)}
    assert "/console/static/admin.js" in html and 'aria-current="page"' in html
    # the admin cannot disable or demote themselves: no controls on their own row
    own = re.search(r'data-name="ada".*?</tr>', html, re.S).group(0)
    assert "(you)" in own and "toggle-user" not in own and "<select" not in own
    bo = re.search(r'data-name="bo".*?</tr>', html, re.S).group(0)
    assert '<option value="agent" selected>' in bo and ">Enable</button>" in bo
    # the upload form accepts the types the loaders read, into the default collection
    assert 'accept=".csv,.htm,.html,.jsonl,.markdown,.md,.pdf,.txt"' in html
    assert 'value="demo_bank"' in html
    assert '<template id="user-row-template">' in html


@pytest.mark.parametrize("role,shown", [("agent", False), ("supervisor", False), ("admin", True)])
def test_only_admins_see_the_admin_link(console, role, shown):
    html = console.client(role).get("/console/calls").text
    assert ("nav-admin" in ids_in(html)) is shown


def test_the_page_still_manages_users_when_the_knowledge_base_cannot_be_read(console):
    from knowledge.store import KnowledgeStoreError

    knowledge = with_fake_knowledge(console)

    def broken():
        raise KnowledgeStoreError("qdrant is not answering")

    knowledge.list_collections = broken
    html = console.client("admin").get("/console/admin").text
    assert "kb-error" in ids_in(html) and "qdrant is not answering" in html
    assert set(user_rows(html)) == {"ada", "ana", "bo", "sue"}


def test_the_script_sends_the_csrf_token_to_the_admin_api(console):
    assert console.client().get("/console/static/admin.js").status_code == 200
    script = (STATIC / "admin.js").read_text(encoding="utf-8")
    for call in ('"/api/users"', '"/api/users/"', '"/api/kb/documents"', '"/api/kb/reingest"'):
        assert call in script, call
    assert '"X-CSRF-Token": S.csrf()' in script  # the upload (multipart); S.api sends it too


def test_the_user_forms_api_calls_show_on_the_page(console):
    ada = console.client("admin")
    token = ada.headers.pop("X-CSRF-Token")
    refused = ada.post("/api/users", json={"name": "cy", "role": "agent"})
    assert refused.status_code == 403  # no CSRF token, nothing changed
    ada.headers["X-CSRF-Token"] = token

    made = ada.post("/api/users", json={"name": "cy", "role": "agent"})
    assert made.status_code == 201, made.text
    password = made.json()["password"]
    assert password and len(password) >= 10
    assert user_rows(ada.get("/console/admin").text)["cy"] == "active"
    assert password not in ada.get("/console/admin").text  # shown once, by the form only

    assert ada.patch("/api/users/cy", json={"role": "supervisor"}).status_code == 200
    assert ada.patch("/api/users/cy", json={"disabled": True}).status_code == 200
    html = ada.get("/console/admin").text
    cy = re.search(r'data-name="cy".*?</tr>', html, re.S).group(0)
    assert user_rows(html)["cy"] == "disabled" and '<option value="supervisor" selected>' in cy
    assert ada.patch("/api/users/cy", json={"disabled": False}).status_code == 200
    assert user_rows(ada.get("/console/admin").text)["cy"] == "active"


@pytest.mark.slow  # the real knowledge store: local Qdrant and the bundled ONNX embedder
def test_an_uploaded_document_is_listed_and_found_by_an_agent(console):
    ada = console.client("admin")
    text = (
        "# Travel notice\n\n"
        "Tell us before you travel abroad so that your card keeps working in other countries.\n"
    )
    upload = ada.post(
        "/api/kb/documents",
        files={"files": ("travel.md", text.encode(), "text/markdown")},
        data={"collection": "admin_page_test"},
    )
    assert upload.status_code == 201, upload.text
    result = upload.json()
    assert result["added"] == ["uploads/travel"] and result["errors"] == []
    assert result["summary"]
    assert collection_rows(ada.get("/console/admin").text)["admin_page_test"][0] == 1

    again = ada.post("/api/kb/reingest", json={"collection": "admin_page_test"})
    assert again.status_code == 200 and again.json()["unchanged"] == ["uploads/travel"]

    agent = console.client("agent")
    found = agent.get(
        "/api/kb/search",
        params={"q": "I am going abroad, will my card work?", "collection": "admin_page_test"},
    )
    assert found.status_code == 200, found.text
    top = found.json()["results"][0]
    assert top["id"] == "uploads/travel" and "travel abroad" in top["text"]
