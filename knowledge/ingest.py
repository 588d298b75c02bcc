"""Incremental ingestion: files -> documents -> chunks -> the store.

Re-ingesting is cheap: a document whose content hash is already in the collection is
skipped, a changed one is replaced whole, and with ``prune`` a document that is no longer
among the sources is deleted. A file that cannot be read is reported with its path and the
reason, and the rest goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from knowledge.chunking import chunk_document
from knowledge.loaders import LoadError, load_paths
from knowledge.store import KnowledgeStore
from knowledge.types import Chunk

BATCH_CHUNKS = 256
"""Chunks embedded and written together: full embedding batches, bounded memory."""


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        rate = self.chunks / self.seconds if self.seconds else 0.0
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.deleted)} deleted, "
            f"{len(self.errors)} failed; {self.chunks} chunks in {self.seconds:.1f} s "
            f"({rate:.0f} chunks/s)"
        )


def ingest(
    store: KnowledgeStore,
    collection: str,
    paths: list[Path],
    *,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Bring ``collection`` up to date with the documents under ``paths``."""
    started = time.monotonic()
    loaded = load_paths([Path(p) for p in paths])
    report = IngestReport(errors=list(loaded.errors), skipped=list(loaded.skipped))
    store.ensure_collection(collection)
    existing = store.document_hashes(collection)
    seen: set[str] = set()
    now = datetime.now(UTC)
    total = len(loaded.documents)
    pending: list[list[Chunk]] = []
    pending_chunks = 0

    def flush() -> None:
        nonlocal pending, pending_chunks
        if pending:
            report.chunks += store.upsert_documents(
                collection, pending, replacing={d[0].document_id for d in pending} & set(existing)
            )
        pending, pending_chunks = [], 0

    for number, document in enumerate(loaded.documents, 1):
        if document.id in seen:
            report.errors.append(
                LoadError(Path(document.source), f"duplicate document id {document.id!r}")
            )
            continue
        seen.add(document.id)
        previous = existing.get(document.id)
        if previous == document.content_hash:
            report.unchanged.append(document.id)
        else:
            chunks = chunk_document(document, ingested_at=now)
            if chunks:
                pending.append(chunks)
                pending_chunks += len(chunks)
            elif previous is not None:
                store.delete_document(collection, document.id)
            (report.added if previous is None else report.updated).append(document.id)
        if pending_chunks >= BATCH_CHUNKS:
            flush()
        if progress is not None:
            progress(number, total)
    flush()
    if prune:
        failed_sources = {str(e.path) for e in report.errors}
        for document_id in sorted(set(existing) - seen):
            if failed_sources:
                # A file that failed to load may hold this document: keep it this time.
                continue
            store.delete_document(collection, document_id)
            report.deleted.append(document_id)
    report.seconds = time.monotonic() - started
    return report
