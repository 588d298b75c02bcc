"""The knowledge store against a real local Qdrant folder and the real bundled embedder."""

from __future__ import annotations

import time

import numpy as np
import pytest
from qdrant_client.http.exceptions import ResponseHandlingException

from knowledge.embeddings import get_embedder
from knowledge.store import KnowledgeStore, KnowledgeStoreError
from knowledge.types import Chunk, Passage

pytestmark = pytest.mark.slow

KB = "kb"


def chunk(document_id: str, n: int, body: str, *, title: str, entity: str | None = None,
          version: str = "1", metadata: dict | None = None) -> Chunk:  # fmt: skip
    return Chunk(
        document_id=document_id,
        chunk_id=f"{document_id}#{n}",
        text=f"{title}\n{body}",
        body=body,
        title=title,
        heading_path=(title, f"part {n}"),
        source=f"kb/{document_id}.md",
        kind="markdown",
        entity=entity,
        content_hash=f"{document_id}-v{version}",
        metadata=metadata or {},
    )


DOCUMENTS = {
    "cards/lost-card": [
        chunk(
            "cards/lost-card",
            0,
            "If your debit card is lost or stolen, freeze it in the app straight away.",
            title="Lost or stolen cards",
            entity="acme-bank",
            metadata={"channel": "phone"},
        ),
        chunk(
            "cards/lost-card",
            1,
            "A replacement card arrives by post within five working days.",
            title="Lost or stolen cards",
            entity="acme-bank",
        ),
    ],
    "branches/hours": [
        chunk(
            "branches/hours",
            0,
            "Our branches open at 9am and close at 5pm, Monday to Friday.",
            title="Opening hours",
            entity="acme-bank",
            metadata={"channel": "branch"},
        )
    ],
    "gym/hours": [
        chunk(
            "gym/hours",
            0,
            "The gym opens at 6am and closes at 10pm every day of the week.",
            title="Gym opening times",
            entity="fit-gym",
        )
    ],
    "mortgages/overpay": [
        chunk(
            "mortgages/overpay",
            0,
            "You can overpay your mortgage by up to ten percent a year without an early "
            "repayment charge (ERC).",
            title="Overpayments",
            entity="acme-bank",
        )
    ],
}


@pytest.fixture(scope="module")
def embedder():
    return get_embedder("all-MiniLM-L6-v2")


@pytest.fixture
def store(tmp_path, embedder):
    with KnowledgeStore(path=tmp_path / "qdrant", embedder=embedder) as store:
        for chunks in DOCUMENTS.values():
            store.upsert_document(KB, chunks)
        yield store


def ids(passages: list[Passage]) -> list[str]:
    return [passage.chunk_id for passage in passages]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_each_mode_finds_the_right_chunk_first(store, mode):
    assert ids(store.search(KB, "I lost my card", mode=mode))[0].startswith("cards/lost-card#")
    assert ids(store.search(KB, "early repayment charge ERC", mode=mode))[0] == (
        "mortgages/overpay#0"
    )


def test_passages_carry_the_chunk_fields(store):
    (best,) = store.search(KB, "When do your branches open?", top_k=1)
    assert best == Passage(
        text="Our branches open at 9am and close at 5pm, Monday to Friday.",
        score=best.score,
        document_id="branches/hours",
        chunk_id="branches/hours#0",
        title="Opening hours",
        source="kb/branches/hours.md",
        heading_path=("Opening hours", "part 0"),
        entity="acme-bank",
        metadata={"kind": "markdown", "channel": "branch"},
    )
    assert best.score > 0


def test_hybrid_scores_are_best_first_and_top_k_is_honoured(store):
    passages = store.search(KB, "what time do you open", top_k=3)
    assert len(passages) == 3
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_only_stop_words_still_searches_by_meaning(store):
    assert len(store.search(KB, "what is it", top_k=2)) == 2
    assert store.search(KB, "what is it", mode="sparse") == []


def test_entity_filter_keeps_only_that_entity(store):
    passages = store.search(KB, "what time do you open", entity="fit-gym")
    assert ids(passages) == ["gym/hours#0"]
    bank = store.search(KB, "what time do you open", entity="acme-bank", top_k=10)
    assert {p.entity for p in bank} == {"acme-bank"}


def test_entity_boost_ranks_the_entity_first_without_excluding_others(store):
    passages = store.search(
        KB, "what time do you open", entity="fit-gym", entity_mode="boost", top_k=3
    )
    assert ids(passages)[0] == "gym/hours#0"
    assert len(passages) == 3 and len(set(ids(passages))) == 3
    assert {p.entity for p in passages[1:]} == {"acme-bank"}


def test_metadata_filters(store):
    passages = store.search(KB, "card", filters={"channel": "branch"})
    assert ids(passages) == ["branches/hours#0"]
    assert store.search(KB, "card", filters={"channel": "email"}) == []


def test_replacing_a_document_removes_its_old_chunks(store):
    new = [
        chunk(
            "cards/lost-card",
            0,
            "Report a lost card by calling 0800 123 456; we cancel it at once.",
            title="Lost cards",
            entity="acme-bank",
            version="2",
        )
    ]
    assert store.upsert_document(KB, new) == 1
    passages = store.search(KB, "replacement card by post", top_k=10)
    assert "cards/lost-card#1" not in ids(passages)
    lost = [p for p in passages if p.document_id == "cards/lost-card"]
    assert [p.text for p in lost] == [new[0].body]
    assert store.document_hashes(KB)["cards/lost-card"] == "cards/lost-card-v2"
    assert {"name": KB, "points": 4, "documents": 4} in store.list_collections()


def test_document_hashes_and_delete_document(store):
    assert store.document_hashes(KB) == {
        "cards/lost-card": "cards/lost-card-v1",
        "branches/hours": "branches/hours-v1",
        "gym/hours": "gym/hours-v1",
        "mortgages/overpay": "mortgages/overpay-v1",
    }
    assert store.delete_document(KB, "cards/lost-card") == 2
    assert store.delete_document(KB, "cards/lost-card") == 0
    assert "cards/lost-card" not in store.document_hashes(KB)
    assert not any(p.document_id == "cards/lost-card" for p in store.search(KB, "lost card"))


def unreachable(*args, **kwargs):
    raise ResponseHandlingException(ConnectionError("connection reset"))


def test_a_failed_write_leaves_the_old_version(store, monkeypatch):
    new = [chunk("cards/lost-card", 0, "new text", title="t", version="2")]
    monkeypatch.setattr(store._client, "upsert", unreachable)
    with pytest.raises(KnowledgeStoreError, match="unreachable during upsert") as error:
        store.upsert_document(KB, new)
    assert error.value.retryable
    assert store.document_hashes(KB)["cards/lost-card"] == "cards/lost-card-v1"
    assert store.search(KB, "replacement card by post")[0].chunk_id == "cards/lost-card#1"


def test_an_interrupted_replacement_reads_as_changed_until_rewritten(store, monkeypatch):
    """The new version written, the old one's deletion failed: both are there, mixed."""
    new = [chunk("cards/lost-card", 0, "new text", title="t", version="2")]
    with monkeypatch.context() as patch:
        patch.setattr(store._client, "delete", unreachable)
        with pytest.raises(KnowledgeStoreError):
            store.upsert_document(KB, new)
    assert store.document_hashes(KB)["cards/lost-card"] == ""
    store.upsert_document(KB, new)
    assert store.document_hashes(KB)["cards/lost-card"] == "cards/lost-card-v2"
    assert store.list_collections() == [{"name": KB, "points": 4, "documents": 4}]


def test_collections_are_listed_and_deleted(store):
    store.upsert_document("other", DOCUMENTS["gym/hours"])
    assert store.list_collections() == [
        {"name": KB, "points": 5, "documents": 4},
        {"name": "other", "points": 1, "documents": 1},
    ]
    store.delete_collection("other")
    assert [c["name"] for c in store.list_collections()] == [KB]
    with pytest.raises(KnowledgeStoreError, match="'other' does not exist"):
        store.delete_collection("other")


def test_missing_collection_is_a_clear_error(store):
    with pytest.raises(KnowledgeStoreError) as error:
        store.search("nope", "I lost my card")
    assert str(error.value) == "collection 'nope' does not exist; ingest first"
    with pytest.raises(KnowledgeStoreError, match="'nope' does not exist"):
        store.document_hashes("nope")
    with pytest.raises(KnowledgeStoreError, match="'nope' does not exist"):
        store.delete_document("nope", "x")


def test_a_collection_of_another_width_is_refused(tmp_path, embedder):
    class Wide:
        dimension = 768
        name = "wide"

        def embed(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 768), dtype=np.float32) / np.sqrt(768)

    with KnowledgeStore(path=tmp_path / "q", embedder=embedder) as store:
        store.upsert_document(KB, DOCUMENTS["gym/hours"])
    with KnowledgeStore(path=tmp_path / "q", embedder=Wide()) as store:
        with pytest.raises(KnowledgeStoreError, match="384-dim vectors but embedder 'wide'"):
            store.upsert_document(KB, DOCUMENTS["gym/hours"])


def test_upsert_refuses_chunks_of_several_documents(store):
    with pytest.raises(ValueError, match="several documents"):
        store.upsert_document(KB, DOCUMENTS["gym/hours"] + DOCUMENTS["branches/hours"])


def test_the_folder_reopens_with_its_data(tmp_path, embedder):
    with KnowledgeStore(path=tmp_path / "q", embedder=embedder) as store:
        store.upsert_document(KB, DOCUMENTS["gym/hours"])
        with pytest.raises(KnowledgeStoreError, match="open in another process"):
            KnowledgeStore(path=tmp_path / "q", embedder=embedder)
    with KnowledgeStore(path=tmp_path / "q", embedder=embedder) as store:
        assert ids(store.search(KB, "gym")) == ["gym/hours#0"]


def test_embedding_throughput(embedder):
    """Not an assertion: prints chunks/second for batches of 32 on this machine."""
    text = (
        "To report a lost or stolen card, call us or use the app. We block the card at once "
        "and send a replacement within five working days; your PIN stays the same. "
    ) * 2  # about 80 tokens, a typical chunk
    texts = [f"{i} {text}" for i in range(128)]
    embedder.embed(texts[:32])  # warm up
    start = time.perf_counter()
    for begin in range(0, len(texts), 32):
        embedder.embed(texts[begin : begin + 32])
    rate = len(texts) / (time.perf_counter() - start)
    print(f"\nembedding throughput: {rate:.0f} chunks/s ({embedder.name}, batches of 32)")
