"""The small types that cross the knowledge boundary.

A loader turns a file into ``Document``s; chunking turns a document into ``Chunk``s; the
store returns ``Passage``s. Vendor types (Qdrant points, PDF pages) never leave their module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DocumentKind = Literal["markdown", "text", "html", "pdf", "faq"]


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under a heading path (``("Cards", "Lost or stolen")``)."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One source document, as a loader read it.

    ``id`` is stable across re-ingests: the FAQ ``id`` field for FAQ entries, otherwise the
    file's path relative to the ingested root, without its extension (``cards/lost-card``).
    A FAQ entry is one document whose single section is ``question`` + ``answer``.
    """

    id: str
    kind: DocumentKind
    source: str
    title: str
    sections: tuple[Section, ...]
    entity: str | None = None
    metadata: dict = field(default_factory=dict)
    question: str | None = None
    answer: str | None = None

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes."""
        digest = hashlib.sha256()
        for part in (
            self.id,
            self.kind,
            self.title,
            self.entity or "",
            self.question or "",
            self.answer or "",
            repr(sorted(self.metadata.items())),
        ):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        for section in self.sections:
            digest.update("/".join(section.heading_path).encode("utf-8"))
            digest.update(b"\0")
            digest.update(section.text.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document small enough to embed and to quote."""

    document_id: str
    chunk_id: str
    """``<document_id>#<n>``, n counting from 0 in document order."""
    text: str
    """What is embedded and searched: the heading path and title give it context."""
    body: str
    """What is quoted back: the chunk's own text."""
    title: str
    heading_path: tuple[str, ...]
    source: str
    kind: DocumentKind
    entity: str | None
    content_hash: str
    """The document's content hash (the same on every chunk of a document)."""
    metadata: dict = field(default_factory=dict)
    ingested_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """A search result: enough for a spoken citation and a link in the console."""

    text: str
    score: float
    document_id: str
    chunk_id: str
    title: str
    source: str
    heading_path: tuple[str, ...] = ()
    entity: str | None = None
    metadata: dict = field(default_factory=dict)
