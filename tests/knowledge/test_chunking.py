"""Chunking: FAQ entries whole, sections apart, paragraphs packed, long ones overlapped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.loaders import load_path
from knowledge.types import Document, Section

KB = Path(__file__).resolve().parent / "data" / "kb"
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def words(text: str) -> int:
    return len(text.split())


def paragraph(tag: str, n_words: int) -> str:
    return " ".join(f"{tag}{i}" for i in range(n_words))


def sentences(count: int, length: int = 10) -> list[str]:
    """``count`` sentences of ``length`` words each, every word unique (``s3w0`` ...)."""
    return [
        " ".join(f"S{s}w{w}" if w == 0 else f"s{s}w{w}" for w in range(length)) + "."
        for s in range(count)
    ]


def doc(*sections: Section, title: str = "Guide", **kwargs) -> Document:
    return Document(
        id="guides/g", kind="markdown", source="kb/guides/g.md", title=title,
        sections=sections, **kwargs,
    )  # fmt: skip


def test_faq_is_one_chunk_with_title_question_and_answer():
    pin, hours, _ = load_path(KB / "faq" / "general.jsonl")
    [chunk] = chunk_document(pin, ingested_at=WHEN)
    assert chunk.chunk_id == "card-pin#0"
    assert chunk.text == (
        "Changing your PIN\nHow do I change my PIN?\nYou can change your PIN at any of our ATMs."
    )
    assert chunk.body == pin.answer
    assert (chunk.document_id, chunk.kind, chunk.entity) == ("card-pin", "faq", "acme-bank")
    assert (chunk.title, chunk.heading_path, chunk.source) == (pin.title, (), pin.source)
    assert chunk.metadata == {"product": "cards"}
    assert chunk.content_hash == pin.content_hash
    assert chunk.ingested_at == WHEN

    [chunk] = chunk_document(hours)  # the title is the question: not repeated
    assert chunk.text == "When are you open?\nOur phone lines are open 24 hours a day."
    assert chunk.ingested_at is None


def test_a_long_faq_answer_is_still_one_chunk():
    answer = " ".join(sentences(40))
    faq = Document(
        id="long", kind="faq", source="f.jsonl", title="Long", question="Why?", answer=answer,
        sections=(Section((), f"Why?\n{answer}"),),
    )  # fmt: skip
    assert len(chunk_document(faq, max_words=50)) == 1


def test_markdown_sections_become_chunks_with_a_context_line():
    document = load_path(KB / "cards" / "lost-card.md", root=KB)[0]
    chunks = chunk_document(document, ingested_at=WHEN)
    assert [c.chunk_id for c in chunks] == [f"cards/lost-card#{n}" for n in range(5)]
    assert [c.text.split("\n", 1)[0] for c in chunks] == [
        "Lost or stolen cards",  # the H1 repeats the title: said once
        "Lost or stolen cards > Reporting a lost card",
        "Lost or stolen cards > Reporting a lost card > Abroad",
        "Lost or stolen cards > Getting a replacement",
        "Lost or stolen cards > Fraud",
    ]
    abroad = chunks[2]
    assert abroad.body == "From abroad, call +44 20 7946 0000. Charges may apply."
    assert abroad.text == f"Lost or stolen cards > Reporting a lost card > Abroad\n{abroad.body}"
    assert abroad.heading_path == ("Lost or stolen cards", "Reporting a lost card", "Abroad")
    for chunk in chunks:
        assert chunk.document_id == "cards/lost-card"
        assert chunk.kind == "markdown"
        assert chunk.entity == "acme-bank"
        assert chunk.title == "Lost or stolen cards"
        assert chunk.source == document.source
        assert chunk.metadata == document.metadata
        assert chunk.metadata is not document.metadata
        assert chunk.content_hash == document.content_hash
        assert chunk.ingested_at == WHEN


def test_paragraphs_are_packed_whole_up_to_max_words():
    paras = [paragraph(t, n) for t, n in [("a", 50), ("b", 50), ("c", 50), ("d", 90), ("e", 10)]]
    chunks = chunk_document(doc(Section(("Fees",), "\n\n".join(paras))), max_words=120)
    assert [c.body for c in chunks] == [
        f"{paras[0]}\n\n{paras[1]}",
        paras[2],
        f"{paras[3]}\n\n{paras[4]}",
    ]
    assert all(c.text == f"Guide > Fees\n{c.body}" for c in chunks)


def test_text_is_never_merged_across_headings():
    chunks = chunk_document(
        doc(
            Section((), "Short intro."),
            Section(("A",), "Under A."),
            Section(("A", "B"), "Under B."),
            Section(("C",), "   \n\n  "),  # empty: nothing
            Section(("D",), "Under D."),
        )
    )
    assert [(c.chunk_id, c.heading_path, c.body) for c in chunks] == [
        ("guides/g#0", (), "Short intro."),
        ("guides/g#1", ("A",), "Under A."),
        ("guides/g#2", ("A", "B"), "Under B."),
        ("guides/g#3", ("D",), "Under D."),
    ]
    assert chunks[0].text == "Guide\nShort intro."
    assert chunks[2].text == "Guide > A > B\nUnder B."


def test_a_long_paragraph_is_split_on_sentences_with_overlap():
    all_sentences = sentences(50)  # 500 words
    before, after = paragraph("x", 20), paragraph("y", 20)
    text = "\n\n".join([before, " ".join(all_sentences), after])
    chunks = chunk_document(doc(Section(("Rates",), text)), max_words=100, overlap_words=30)
    bodies = [c.body for c in chunks]
    assert bodies[0] == before  # the paragraph before is not glued to the long one
    assert bodies[-1] == after
    pieces = bodies[1:-1]
    assert all(words(p) <= 100 for p in pieces)
    split = [re.findall(r"[^.]+\.", p) for p in pieces]
    split = [[s.strip() for s in piece] for piece in split]
    for piece in split:  # whole sentences only
        assert all(s in all_sentences for s in piece)
    for previous, current in zip(split, split[1:], strict=False):
        overlap = previous[-3:]  # 3 sentences of 10 words = 30 words
        assert current[:3] == overlap
    covered = [s for piece in split for s in piece]
    assert list(dict.fromkeys(covered)) == all_sentences  # everything, in order


def test_overlap_never_exceeds_overlap_words():
    text = " ".join(sentences(12, length=40))  # 40-word sentences, overlap 30: none fits
    chunks = chunk_document(doc(Section((), text)), max_words=100, overlap_words=30)
    assert [words(c.body) for c in chunks] == [80, 80, 80, 80, 80, 80]
    assert chunks[1].body.split()[0] == "S2w0"


def test_a_sentence_longer_than_max_words_is_cut_between_words_with_overlap():
    text = paragraph("w", 250)
    chunks = chunk_document(doc(Section((), text)), max_words=100, overlap_words=20)
    bodies = [c.body.split() for c in chunks]
    assert [len(b) for b in bodies] == [100, 100, 90]
    assert bodies[0][-20:] == bodies[1][:20]
    assert bodies[1][-20:] == bodies[2][:20]
    assert bodies[2][-1] == "w249"


def test_context_line_without_title_or_headings():
    chunks = chunk_document(doc(Section((), "Hello."), Section(("H",), "There."), title=""))
    assert [c.text for c in chunks] == ["Hello.", "H\nThere."]


def test_no_sections_no_chunks():
    assert chunk_document(doc()) == []


@pytest.mark.parametrize(("max_words", "overlap_words"), [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_refused(max_words, overlap_words):
    with pytest.raises(ValueError, match="max_words"):
        chunk_document(doc(Section((), "x")), max_words=max_words, overlap_words=overlap_words)
