"""Incremental ingestion, the kb command line and /api/kb/search against a real local Qdrant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from knowledge.embeddings import get_embedder
from knowledge.ingest import ingest
from knowledge.store import KnowledgeStore

pytestmark = pytest.mark.slow

FAQ = [
    {"id": "hours", "question": "When are you open?", "answer": "We open at nine every weekday."},
    {"id": "card", "question": "I lost my card", "answer": "Freeze it in the app straight away."},
]


def write_kb(
    folder: Path,
    faq: list[dict],
    guide: str | None = "# Fees\n\n## Overdraft\n\n"
    "An overdraft costs 25 dollars, at most once a day.\n",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "faq.jsonl").write_text("\n".join(json.dumps(row) for row in faq) + "\n")
    if guide is not None:
        (folder / "fees.md").write_text(guide)
    elif (folder / "fees.md").exists():
        (folder / "fees.md").unlink()
    return folder


@pytest.fixture
def store(tmp_path: Path):
    with KnowledgeStore(path=tmp_path / "qdrant", embedder=get_embedder()) as store:
        yield store


def test_reingest_skips_unchanged_replaces_changed_and_prunes(store, tmp_path):
    kb = write_kb(tmp_path / "kb", FAQ)
    first = ingest(store, "bank", [kb])
    assert first.ok and sorted(first.added) == ["card", "fees", "hours"]
    again = ingest(store, "bank", [kb])
    assert sorted(again.unchanged) == ["card", "fees", "hours"] and again.chunks == 0

    changed = [FAQ[0], {**FAQ[1], "answer": "Call us and we will block it."}]
    write_kb(kb, changed, guide=None)
    third = ingest(store, "bank", [kb], prune=True)
    assert third.updated == ["card"] and third.deleted == ["fees"]
    top = store.search("bank", "I lost my card", top_k=1)[0]
    assert top.document_id == "card" and "block" in top.text
    assert "fees" not in store.document_hashes("bank")


def test_a_broken_file_is_reported_and_the_rest_goes_in(store, tmp_path):
    kb = write_kb(tmp_path / "kb", FAQ)
    (kb / "broken.jsonl").write_text('{"id": "x", "question": "q"}\nnot json\n')
    report = ingest(store, "bank", [kb], prune=True)
    assert not report.ok
    assert any("broken.jsonl" in str(e) for e in report.errors)
    assert sorted(report.added) == ["card", "fees", "hours"]
    assert report.deleted == []


def test_kb_cli_json_and_http_api(tmp_path, monkeypatch, capsys):
    from switchboard.app import create_app
    from switchboard.cli import main
    from switchboard.settings import Settings, get_settings

    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    kb = write_kb(tmp_path / "kb", FAQ)
    try:
        assert main(["kb", "ingest", str(kb), "--collection", "bank"]) == 0
        assert "3 added" in capsys.readouterr().out
        assert main(["kb", "search", "when do you open", "--collection", "bank", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["query"] == "when do you open"
        assert result["results"][0]["id"] == "hours"
        assert set(result["results"][0]) == {"id", "chunk_id", "score", "title", "text", "source"}
        assert main(["kb", "list"]) == 0
        assert "bank: 3 documents" in capsys.readouterr().out
        assert main(["kb", "search", "x", "--collection", "nope"]) == 1
        assert "does not exist" in capsys.readouterr().err
        assert main(["kb", "ingest", str(tmp_path / "missing"), "--collection", "bank"]) == 1
    finally:
        get_settings.cache_clear()

    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    app = create_app(settings, resources=object())  # the KB route needs no call models
    from console.users import create_user
    from switchboard.records import CallStore

    with CallStore(settings.call_store_url) as store:
        create_user(store, "kim", "agent", "a long enough password")
    with TestClient(app) as client:
        assert client.get("/api/kb/search", params={"q": "card"}).status_code == 401
        token = client.get("/api/auth/csrf").json()["csrf_token"]
        signed = client.post(
            "/api/auth/signin",
            json={"name": "kim", "password": "a long enough password"},
            headers={"X-CSRF-Token": token},
        )
        assert signed.status_code == 200
        ok = client.get("/api/kb/search", params={"q": "I lost my card", "collection": "bank"})
        missing = client.get("/api/kb/search", params={"q": "hi", "collection": "nope"})
        empty = client.get("/api/kb/search", params={"q": "", "collection": "bank"})
    assert ok.status_code == 200 and ok.json()["results"][0]["id"] == "card"
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
    assert empty.status_code == 422
