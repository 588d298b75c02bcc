"""The knowledge store: chunks in Qdrant, found again by meaning, by words, or both.

One class serves both deployments through qdrant-client: local mode (a folder, no server,
the laptop default) and a Qdrant server or cluster. Each collection holds a named dense
vector ``dense`` (cosine) from the embedder and a sparse vector ``bm25`` whose IDF Qdrant
computes (``Modifier.IDF``) from the term weights ``SparseEncoder`` gives. Hybrid search
fuses the two rankings with reciprocal rank fusion inside Qdrant.

Qdrant's types stop here: callers pass ``Chunk``s and get ``Passage``s back, and every
Qdrant failure becomes a ``KnowledgeStoreError`` with a one-line message.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from knowledge.embeddings import Embedder
from knowledge.local_index import LocalIndex
from knowledge.sparse import SparseEncoder
from knowledge.types import Chunk, Passage

__all__ = ["DENSE", "SPARSE", "KnowledgeStore", "KnowledgeStoreError", "SearchMode"]

DENSE = "dense"
SPARSE = "bm25"
SearchMode = Literal["hybrid", "dense", "sparse"]
EntityMode = Literal["filter", "boost"]

# Point ids are uuid5 of the chunk id in this namespace, so re-ingesting a chunk overwrites it.
_POINT_NAMESPACE = uuid.UUID("5b0a9c1e-6d57-4c55-9a53-0c3f1a8e7d21")
_INDEXED_FIELDS = ("document_id", "entity", "kind", "content_hash", "version")
_UPSERT_BATCH = 256
_SCROLL_PAGE = 1024


class KnowledgeStoreError(RuntimeError):
    """A store operation failed; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


class KnowledgeStore:
    """Chunks of documents in Qdrant collections, with dense, sparse and hybrid search.

    Give ``path`` for local mode (one process at a time may open the folder) or ``url``
    (and ``api_key``) for a server. ``sparse`` defaults to ``SparseEncoder()``; the same
    encoder must be used for ingest and search.
    """

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        embedder: Embedder,
        sparse: SparseEncoder | None = None,
    ) -> None:
        if (path is None) == (url is None):
            raise ValueError("KnowledgeStore needs exactly one of path (local mode) or url")
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()
        self.local = path is not None
        try:
            if path is not None:
                Path(path).mkdir(parents=True, exist_ok=True)
                self._client = QdrantClient(path=str(path))
            else:
                self._client = QdrantClient(url=url, api_key=api_key)
        except RuntimeError as e:  # local mode: the folder is locked by another client
            raise KnowledgeStoreError(
                f"knowledge store folder {str(path)!r} is open in another process; "
                "stop it, or run a Qdrant server to share the store"
            ) from e
        # Local mode keeps everything in Python objects: one operation at a time.
        self._lock: contextlib.AbstractContextManager = (
            threading.RLock() if self.local else contextlib.nullcontext()
        )
        self._ready: set[str] = set()
        self._indexes: dict[str, LocalIndex] = {}
        self._entities: dict[str, dict[str, list[str]]] = {}
        self._indexed: set[tuple[str, str]] = set()

    def close(self) -> None:
        with self._lock:
            self._client.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- collections -------------------------------------------------------------------------

    def list_collections(self) -> list[dict[str, Any]]:
        """Each collection's name, number of points (chunks) and of distinct documents."""
        with self._errors("list collections"):
            names = sorted(c.name for c in self._client.get_collections().collections)
        result = []
        for name in names:
            documents = {payload["document_id"] for payload in self._scroll(name, ["document_id"])}
            with self._errors("count points", name):
                points = self._client.count(name, exact=True).count
            result.append({"name": name, "points": points, "documents": len(documents)})
        return result

    def delete_collection(self, name: str) -> None:
        with self._errors("delete collection", name):
            if not self._client.collection_exists(name):
                raise KnowledgeStoreError(f"collection {name!r} does not exist")
            self._client.delete_collection(name)
        self._ready.discard(name)
        self._indexed = {key for key in self._indexed if key[0] != name}

    def ensure_collection(self, name: str) -> None:
        """Create the collection if it is missing; refuse one built with another width."""
        if name in self._ready:
            return
        with self._errors("create collection", name):
            if not self._client.collection_exists(name):
                self._client.create_collection(
                    name,
                    vectors_config={
                        DENSE: models.VectorParams(
                            size=self.embedder.dimension, distance=models.Distance.COSINE
                        )
                    },
                    sparse_vectors_config={
                        SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                )
                for field in _INDEXED_FIELDS:
                    self._ensure_index(name, field)
            else:
                vectors = self._client.get_collection(name).config.params.vectors
                size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else 0
                if size != self.embedder.dimension:
                    raise KnowledgeStoreError(
                        f"collection {name!r} holds {size}-dim vectors but embedder "
                        f"{self.embedder.name!r} makes {self.embedder.dimension}; "
                        "re-ingest into a new collection"
                    )
        self._ready.add(name)

    def _ensure_index(self, collection: str, field: str) -> None:
        """A keyword payload index (servers only: local mode scans and ignores indexes)."""
        if self.local or (collection, field) in self._indexed:
            return
        with self._errors("create payload index", collection):
            self._client.create_payload_index(
                collection, field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True
            )
        self._indexed.add((collection, field))

    # --- documents ---------------------------------------------------------------------------

    def upsert_documents(
        self,
        collection: str,
        documents: list[list[Chunk]],
        *,
        replacing: set[str] | None = None,
    ) -> int:
        """Write several documents at once, each replacing its previous version whole.

        Ingestion is dominated by embedding, which is much faster in full batches than one
        small document (an FAQ entry is one chunk) at a time. All points of the call share a
        fresh ``version``; the stale versions of these documents are deleted only after every
        new point is written, so a failure leaves old versions in place (and
        ``document_hashes`` reports such documents as changed). ``replacing`` names the
        documents that may have older versions (default: all of them); new documents need no
        clean-up, which saves a filtered scan of the collection per batch.
        """
        chunks = [chunk for document in documents for chunk in document]
        if not chunks:
            return 0
        for document in documents:
            if len({chunk.document_id for chunk in document}) != 1:
                raise ValueError("each document's chunks must share one document_id")
        self.ensure_collection(collection)
        dense = self.embedder.embed([chunk.text for chunk in chunks])
        version = uuid.uuid4().hex
        now = datetime.now(UTC)
        points = []
        for chunk, vector in zip(chunks, dense, strict=True):
            indices, values = self.sparse.encode_document(chunk.text)
            points.append(
                models.PointStruct(
                    id=point_id(chunk.chunk_id),
                    vector={
                        DENSE: vector.tolist(),
                        SPARSE: models.SparseVector(indices=indices, values=values),
                    },
                    payload=_payload(chunk, version, chunk.ingested_at or now),
                )
            )
        document_ids = sorted({chunk.document_id for chunk in chunks})
        if replacing is not None:
            document_ids = [d for d in document_ids if d in replacing]
        with self._errors("upsert", collection):
            for start in range(0, len(points), _UPSERT_BATCH):
                self._client.upsert(collection, points[start : start + _UPSERT_BATCH], wait=True)
            if not document_ids:
                return len(points)
            stale = models.Filter(
                must=[
                    models.FieldCondition(
                        key="document_id", match=models.MatchAny(any=document_ids)
                    )
                ],
                must_not=[_match("version", version)],
            )
            self._client.delete(collection, models.FilterSelector(filter=stale), wait=True)
        return len(points)

    def upsert_document(self, collection: str, chunks: list[Chunk]) -> int:
        """Write one document's chunks, replacing its previous version whole; returns the count.

        The new points carry a fresh ``version``; only after they are all written are the
        document's points of any other version deleted. If writing fails, the old chunks
        that were not overwritten stay, and ``document_hashes`` reports the document as
        changed (empty hash) so the next ingest rewrites it.
        """
        if not chunks:
            raise ValueError("upsert_document needs at least one chunk")
        document_ids = {chunk.document_id for chunk in chunks}
        if len(document_ids) != 1:
            raise ValueError(f"chunks of several documents in one upsert: {sorted(document_ids)}")
        return self.upsert_documents(collection, [chunks])

    def document_hashes(self, collection: str) -> dict[str, str]:
        """document_id -> content_hash for every stored document.

        A document whose points carry more than one version (an interrupted upsert) maps to
        "" so that it never matches and is rewritten.
        """
        hashes: dict[str, str] = {}
        versions: dict[str, str] = {}
        fields = ["document_id", "content_hash", "version"]
        for payload in self._scroll(collection, fields):
            document_id = payload["document_id"]
            if versions.setdefault(document_id, payload.get("version", "")) != payload.get(
                "version", ""
            ):
                hashes[document_id] = ""
            else:
                hashes.setdefault(document_id, payload.get("content_hash", ""))
        return hashes

    def entities(self, collection: str) -> list[str]:
        """The distinct entities (a branch, a hotel) the collection's documents are about,
        sorted. Read once and cached until the collection is next written."""
        return sorted(self.entity_tags(collection))

    def entity_tags(self, collection: str) -> dict[str, list[str]]:
        """Each entity with the tags of its documents (front matter ``tags:``), which name
        it in other ways ("westfield", "marina"). Cached like :meth:`entities`."""
        with self._lock:
            cached = self._entities.get(collection)
        if cached is not None:
            return cached
        if not self._exists(collection):
            raise _missing(collection)
        found: dict[str, set[str]] = {}
        for payload in self._scroll(collection, ["entity", "metadata"]):
            if entity := payload.get("entity"):
                tags = (payload.get("metadata") or {}).get("tags") or []
                found.setdefault(entity, set()).update(
                    str(t) for t in (tags if isinstance(tags, list) else [tags])
                )
        result = {entity: sorted(tags) for entity, tags in sorted(found.items())}
        with self._lock:
            self._entities[collection] = result
        return result

    def passages(self, collection: str) -> Iterator[Passage]:
        """Every chunk of the collection as a passage (score 0), in storage order."""
        if not self._exists(collection):
            raise _missing(collection)
        for payload in self._scroll(collection, list(_PASSAGE_FIELDS)):
            yield _passage(payload, 0.0)

    def delete_document(self, collection: str, document_id: str) -> int:
        """Remove every chunk of a document; returns how many there were."""
        selector = models.Filter(must=[_match("document_id", document_id)])
        with self._errors("delete document", collection):
            count = self._client.count(collection, count_filter=selector, exact=True).count
            if count:
                self._client.delete(collection, models.FilterSelector(filter=selector), wait=True)
        return count

    # --- search ------------------------------------------------------------------------------

    def search(
        self,
        collection: str,
        query: str,
        *,
        top_k: int = 5,
        mode: SearchMode = "hybrid",
        entity: str | None = None,
        entity_mode: EntityMode = "filter",
        filters: dict[str, str] | None = None,
    ) -> list[Passage]:
        """The ``top_k`` passages best matching ``query``, best first.

        ``entity`` with ``entity_mode="filter"`` keeps only that entity's chunks; with
        ``"boost"`` the entity's best chunks come first and other chunks fill the remaining
        places. ``filters`` match ``metadata`` fields exactly. Scores are cosine similarity
        ("dense"), BM25 ("sparse") or reciprocal-rank-fusion scores ("hybrid"), so they are
        comparable only within one mode.
        """
        if mode not in ("hybrid", "dense", "sparse"):
            raise ValueError(f"unknown search mode {mode!r}")
        if entity_mode not in ("filter", "boost"):
            raise ValueError(f"unknown entity mode {entity_mode!r}")
        for key in filters or {}:
            self._ensure_index(collection, f"metadata.{key}")
        conditions = [_match(f"metadata.{key}", value) for key, value in (filters or {}).items()]
        entity_condition = [_match("entity", entity)] if entity is not None else []

        dense = self.embedder.embed([query])[0].tolist() if mode != "sparse" else None
        indices, values = self.sparse.encode_query(query) if mode != "dense" else ([], [])
        sparse = models.SparseVector(indices=indices, values=values) if indices else None
        if mode == "hybrid" and sparse is None:
            mode = "dense"  # nothing but stop words: words cannot rank anything
        if mode == "sparse" and sparse is None:
            return []

        if self.local:
            return self._search_local(
                collection, mode, dense, indices, values, top_k, entity, entity_mode, filters or {}
            )
        requests = [_request(mode, dense, sparse, conditions + entity_condition, top_k)]
        if entity is not None and entity_mode == "boost":
            requests.append(_request(mode, dense, sparse, conditions, top_k))
        with self._errors("search", collection):
            responses = self._client.query_batch_points(collection, requests)

        passages: list[Passage] = []
        seen: set[str] = set()
        for response in responses:  # the entity's own results first when boosting
            for point in response.points:
                passage = _passage(point.payload or {}, point.score)
                if passage.chunk_id not in seen:
                    seen.add(passage.chunk_id)
                    passages.append(passage)
        return passages[:top_k]

    def _search_local(
        self,
        collection: str,
        mode: SearchMode,
        dense: list[float] | None,
        indices: list[int],
        values: list[float],
        top_k: int,
        entity: str | None,
        entity_mode: EntityMode,
        filters: dict[str, str],
    ) -> list[Passage]:
        """Local mode: the same search as the server's, on the in-memory index."""
        index = self._local_index(collection)

        def matches(with_entity: bool) -> Callable[[dict], bool] | None:
            if not filters and not (with_entity and entity is not None):
                return None

            def keep(payload: dict) -> bool:
                metadata = payload.get("metadata") or {}
                if any(metadata.get(k) != v for k, v in filters.items()):
                    return False
                return not with_entity or entity is None or payload.get("entity") == entity

            return keep

        def run(mask) -> list:
            if mode == "dense":
                return index.search_dense(np.asarray(dense), top_k, mask)
            if mode == "sparse":
                return index.search_sparse(indices, values, top_k, mask)
            return LocalIndex.fuse(
                [
                    index.search_dense(np.asarray(dense), top_k * 4, mask),
                    index.search_sparse(indices, values, top_k * 4, mask),
                ],
                top_k,
            )

        rankings = [run(index.mask(matches(True)))]
        if entity is not None and entity_mode == "boost":
            rankings.append(run(index.mask(matches(False))))
        passages: list[Passage] = []
        seen: set[str] = set()
        for ranking in rankings:
            for hit in ranking:
                passage = _passage(index.payloads[hit.position], hit.score)
                if passage.chunk_id not in seen:
                    seen.add(passage.chunk_id)
                    passages.append(passage)
        return passages[:top_k]

    def _local_index(self, collection: str) -> LocalIndex:
        """The collection's in-memory index, read from Qdrant after each write."""
        with self._lock:
            index = self._indexes.get(collection)
            if index is not None:
                return index
            dense, sparse, payloads = [], [], []
            offset = None
            while True:
                with self._errors("search", collection):
                    points, offset = self._client.scroll(
                        collection,
                        limit=_SCROLL_PAGE,
                        offset=offset,
                        with_payload=True,
                        with_vectors=True,
                    )
                for point in points:
                    vectors = point.vector or {}
                    dense.append(vectors[DENSE])
                    vector = vectors.get(SPARSE)
                    sparse.append(
                        (list(vector.indices), list(vector.values))
                        if vector is not None
                        else ([], [])
                    )
                    payloads.append(point.payload or {})
                if offset is None:
                    break
            width = self.embedder.dimension
            matrix = np.asarray(dense, dtype=np.float32).reshape(len(payloads), width)
            index = self._indexes[collection] = LocalIndex(matrix, sparse, payloads)
            return index

    # --- helpers -----------------------------------------------------------------------------

    def _scroll(self, collection: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Payloads (only ``fields``) of every point, page by page."""
        offset = None
        while True:
            with self._errors("scroll", collection):
                points, offset = self._client.scroll(
                    collection,
                    limit=_SCROLL_PAGE,
                    offset=offset,
                    with_payload=fields,
                    with_vectors=False,
                )
            for point in points:
                yield point.payload or {}
            if offset is None:
                return

    @contextlib.contextmanager
    def _errors(self, operation: str, collection: str | None = None) -> Iterator[None]:
        """Serialise local-mode calls and translate Qdrant's failures at this edge."""
        with self._lock:
            if collection is not None and operation in _WRITES:
                self._indexes.pop(collection, None)
                self._entities.pop(collection, None)
            try:
                yield
            except (KnowledgeStoreError, ValueError) as e:
                if isinstance(e, KnowledgeStoreError) or collection is None:
                    raise
                if not self._exists(collection):  # local mode: "Collection x not found"
                    raise _missing(collection) from e
                raise KnowledgeStoreError(f"{operation} on {collection!r} failed: {e}") from e
            except UnexpectedResponse as e:
                if collection is not None and e.status_code == 404 and not self._exists(collection):
                    raise _missing(collection) from e
                where = f" on {collection!r}" if collection else ""
                reason = (e.content or b"").decode("utf-8", "replace").splitlines()[:1]
                raise KnowledgeStoreError(
                    f"qdrant {operation}{where} failed ({e.status_code}): {' '.join(reason)}",
                    retryable=e.status_code in (429, 500, 502, 503, 504),
                ) from e
            except ResponseHandlingException as e:
                raise KnowledgeStoreError(
                    f"qdrant unreachable during {operation}: {e}", retryable=True
                ) from e

    def _exists(self, collection: str) -> bool:
        try:
            return self._client.collection_exists(collection)
        except Exception:  # the server is gone as well: report the original failure
            return True


_WRITES = frozenset({"upsert", "delete document", "delete collection", "create collection"})


def _missing(collection: str) -> KnowledgeStoreError:
    return KnowledgeStoreError(f"collection {collection!r} does not exist; ingest first")


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _request(
    mode: SearchMode,
    dense: list[float] | None,
    sparse: models.SparseVector | None,
    conditions: list[models.FieldCondition],
    top_k: int,
) -> models.QueryRequest:
    query_filter = models.Filter(must=list(conditions)) if conditions else None
    if mode == "dense":
        return models.QueryRequest(
            query=dense, using=DENSE, filter=query_filter, limit=top_k, with_payload=True
        )
    if mode == "sparse":
        return models.QueryRequest(
            query=sparse, using=SPARSE, filter=query_filter, limit=top_k, with_payload=True
        )
    prefetch = [
        models.Prefetch(query=dense, using=DENSE, filter=query_filter, limit=top_k * 4),
        models.Prefetch(query=sparse, using=SPARSE, filter=query_filter, limit=top_k * 4),
    ]
    return models.QueryRequest(
        prefetch=prefetch,
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=top_k,
        with_payload=True,
    )


def _payload(chunk: Chunk, version: str, ingested_at: datetime) -> dict[str, Any]:
    return {
        "text": chunk.text,
        "body": chunk.body,
        "title": chunk.title,
        "heading_path": list(chunk.heading_path),
        "source": chunk.source,
        "kind": chunk.kind,
        "entity": chunk.entity,
        "document_id": chunk.document_id,
        "chunk_id": chunk.chunk_id,
        "content_hash": chunk.content_hash,
        "metadata": dict(chunk.metadata),
        "ingested_at": ingested_at.isoformat(),
        "version": version,
    }


_PASSAGE_FIELDS = (
    "body", "document_id", "chunk_id", "title", "source", "heading_path", "entity", "kind",
    "metadata",
)  # fmt: skip


def _passage(payload: dict[str, Any], score: float) -> Passage:
    return Passage(
        text=payload.get("body", ""),
        score=float(score),
        document_id=payload.get("document_id", ""),
        chunk_id=payload.get("chunk_id", ""),
        title=payload.get("title", ""),
        source=payload.get("source", ""),
        heading_path=tuple(payload.get("heading_path") or ()),
        entity=payload.get("entity"),
        # The document kind rides along so answerers can treat FAQ answers specially.
        metadata={"kind": payload.get("kind"), **(payload.get("metadata") or {})},
    )
