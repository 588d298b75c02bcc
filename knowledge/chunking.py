"""Documents -> ``Chunk``s that follow the document's structure.

A FAQ entry is one chunk. Elsewhere each section is chunked on its own, so a chunk never
mixes text from two headings; whole paragraphs are packed up to ``max_words``, and only a
paragraph longer than that is cut, between sentences, with up to ``overlap_words`` of the
previous piece repeated so that no chunk starts without its context. Each chunk's ``text``
starts with a context line (``Title > Heading > Subheading``) that helps retrieval find it;
its ``body`` is the document's own words, for quoting back.
"""

from __future__ import annotations

import re
from datetime import datetime

from knowledge.types import Chunk, Document, Section

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def _words(text: str) -> int:
    return len(text.split())


def _units(paragraph: str, max_words: int, overlap_words: int) -> list[str]:
    """A long paragraph's sentences (and lines), each cut to ``max_words`` if it must be."""
    units: list[str] = []
    for line in paragraph.split("\n"):
        for sentence in _SENTENCE_END.split(line.strip()):
            words = sentence.split()
            if len(words) <= max_words:
                if words:
                    units.append(sentence)
                continue
            step = max_words - overlap_words  # no sentence boundary to cut at: cut words
            for start in range(0, len(words) - overlap_words, step):
                units.append(" ".join(words[start : start + max_words]))
    return units


def _split_paragraph(paragraph: str, max_words: int, overlap_words: int) -> list[str]:
    """Windows of whole sentences, each ending sentences repeated at the next one's start."""
    units = _units(paragraph, max_words, overlap_words)
    sizes = [_words(u) for u in units]
    pieces: list[str] = []
    start = 0
    while start < len(units):
        end, total = start, 0
        while end < len(units) and total + sizes[end] <= max_words:
            total += sizes[end]
            end += 1
        end = max(end, start + 1)
        pieces.append(" ".join(units[start:end]))
        if end == len(units):
            break
        back, overlap = end, 0
        while back - 1 > start and overlap + sizes[back - 1] <= overlap_words:
            back -= 1
            overlap += sizes[back]
        start = back
    return pieces


def _section_bodies(section: Section, max_words: int, overlap_words: int) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", section.text) if p.strip()]
    bodies: list[str] = []
    packed: list[str] = []
    packed_words = 0
    for paragraph in paragraphs:
        size = _words(paragraph)
        if packed and packed_words + size > max_words:
            bodies.append("\n\n".join(packed))
            packed, packed_words = [], 0
        if size > max_words:
            bodies.extend(_split_paragraph(paragraph, max_words, overlap_words))
            continue
        packed.append(paragraph)
        packed_words += size
    if packed:
        bodies.append("\n\n".join(packed))
    return bodies


def _context_line(title: str, heading_path: tuple[str, ...]) -> str:
    """``Title > Heading > Subheading``; a first heading that repeats the title is left out."""
    headings = list(heading_path)
    if headings and title and headings[0].strip().casefold() == title.strip().casefold():
        headings = headings[1:]
    return " > ".join(part for part in [title, *headings] if part)


def chunk_document(
    document: Document,
    *,
    max_words: int = 180,
    overlap_words: int = 30,
    ingested_at: datetime | None = None,
) -> list[Chunk]:
    """The chunks of ``document``, numbered ``<document id>#0``, ``#1``... in document order.

    ``max_words`` bounds every chunk's body (180 words is about a minute of speech and well
    inside a small embedding model's window); ``overlap_words`` bounds the repeated sentences
    between the pieces of one long paragraph.
    """
    if max_words < 1 or not 0 <= overlap_words < max_words:
        raise ValueError(
            f"need max_words >= 1 and 0 <= overlap_words < max_words, "
            f"got {max_words} and {overlap_words}"
        )
    content_hash = document.content_hash

    def chunk(n: int, text: str, body: str, heading_path: tuple[str, ...]) -> Chunk:
        return Chunk(
            document_id=document.id,
            chunk_id=f"{document.id}#{n}",
            text=text,
            body=body,
            title=document.title,
            heading_path=heading_path,
            source=document.source,
            kind=document.kind,
            entity=document.entity,
            content_hash=content_hash,
            metadata=dict(document.metadata),
            ingested_at=ingested_at,
        )

    if document.kind == "faq" and document.question and document.answer:
        question, answer = document.question.strip(), document.answer.strip()
        title = document.title.strip()
        lines = [title] if title and title != question else []
        return [chunk(0, "\n".join([*lines, question, answer]), answer, ())]

    chunks: list[Chunk] = []
    for section in document.sections:
        context = _context_line(document.title, section.heading_path)
        for body in _section_bodies(section, max_words, overlap_words):
            text = f"{context}\n{body}" if context else body
            chunks.append(chunk(len(chunks), text, body, section.heading_path))
    return chunks


__all__ = ["chunk_document"]
