"""The BM25 FAQ index and the FAQ file loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogue.faq import DEMO_FAQ, FAQEntry, FAQError, FAQIndex, load_faq, tokens


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _entry(**item) -> str:
    return json.dumps(item)


@pytest.fixture(scope="module")
def demo_index() -> FAQIndex:
    return FAQIndex(load_faq(DEMO_FAQ))


def test_demo_faq_loads() -> None:
    entries = load_faq(DEMO_FAQ)
    assert len(entries) == 12
    ids = [e.id for e in entries]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == ["opening-hours", "lost-card"]
    assert all(e.question and e.answer and e.title for e in entries)


def test_load_faq_reads_fields_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "faq.jsonl",
        _entry(id="a", question="Q one?", answer="A one.", title="Topic A"),
        "",
        "   ",
        _entry(id=7, question="Q two?", answer="A two."),
    )
    first, second = load_faq(path)
    assert first == FAQEntry(id="a", question="Q one?", answer="A one.", title="Topic A")
    # A missing title falls back to the id; ids are always strings.
    assert second == FAQEntry(id="7", question="Q two?", answer="A two.", title="7")


def test_load_faq_accepts_str_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "faq.jsonl", _entry(id="a", question="q", answer="x"))
    assert [e.id for e in load_faq(str(path))] == ["a"]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FAQError, match="cannot read FAQ file") as info:
        load_faq(missing)
    assert str(missing) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_json_line_names_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "faq.jsonl",
        _entry(id="a", question="q", answer="x"),
        '{"id": "b", "question": ',
    )
    with pytest.raises(FAQError, match=r"faq\.jsonl:2: not a FAQ entry"):
        load_faq(path)


@pytest.mark.parametrize("missing", ["id", "question", "answer"])
def test_missing_field(tmp_path: Path, missing: str) -> None:
    item = {"id": "a", "question": "q", "answer": "x"}
    del item[missing]
    path = _write(tmp_path / "faq.jsonl", _entry(**item))
    with pytest.raises(FAQError, match=rf":1: not a FAQ entry .*{missing}"):
        load_faq(path)


def test_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = _write(tmp_path / "faq.jsonl", '["id", "question", "answer"]')
    with pytest.raises(FAQError, match=":1: not a FAQ entry"):
        load_faq(path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FAQError, match="holds no FAQ entries"):
        load_faq(path)


def test_tokens_drop_stop_words_and_stem() -> None:
    assert tokens("How do I reset my Passwords?") == ["reset", "password"]
    assert tokens("Blocking cards") == ["block", "card"]
    # Short words are not stemmed ("fees" keeps its "s": stripping would leave 2 letters).
    assert tokens("fees bus") == ["fees", "bus"]
    # Typographic apostrophes are read as plain ones, so "I’m" is a stop word.
    assert tokens("I’m locked out") == ["lock", "out"]
    assert tokens("the and of") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("when do you open on saturday", "opening-hours"),
        ("my card was stolen", "lost-card"),
        ("how do I reset my online banking password", "reset-password"),
        ("what's the overdraft fee", "overdraft"),
        ("monthly maintenance fee on checking", "account-fees"),
        ("send a wire transfer", "wire-transfer"),
        ("routing number for direct deposit", "routing-number"),
        ("order a checkbook", "order-checks"),
        ("where is the nearest branch", "branch-locations"),
    ],
)
def test_search_ranks_the_right_entry_first(
    demo_index: FAQIndex, query: str, expected: str
) -> None:
    matches = demo_index.search(query)
    assert matches, query
    assert matches[0].entry.id == expected
    assert matches[0].score > 0


def test_search_orders_by_score_and_honours_top_k(demo_index: FAQIndex) -> None:
    matches = demo_index.search("what fees do you charge for an overdraft", top_k=5)
    assert 2 <= len(matches) <= 5
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert {m.entry.id for m in matches[:2]} == {"overdraft", "account-fees"}
    assert len(demo_index.search("what fees do you charge for an overdraft", top_k=1)) == 1


@pytest.mark.parametrize("query", ["", "what's the weather", "how do I do it", "hello"])
def test_search_without_content_words_in_common_is_empty(demo_index: FAQIndex, query: str) -> None:
    assert demo_index.search(query) == []


def test_question_and_title_outweigh_answer() -> None:
    index = FAQIndex(
        [
            FAQEntry("in-answer", "Something else entirely", "You can pay by cheque.", "Other"),
            FAQEntry("in-question", "How do I pay by cheque?", "Post it to us.", "Cheques"),
        ]
    )
    assert [m.entry.id for m in index.search("cheque")] == ["in-question", "in-answer"]


def test_rare_terms_weigh_more_than_common_ones() -> None:
    entries = [FAQEntry(str(n), f"account question {n}", "answer", f"title {n}") for n in range(5)]
    entries.append(FAQEntry("mortgage", "account mortgage", "answer", "title"))
    index = FAQIndex(entries)
    best = index.search("account mortgage")
    assert best[0].entry.id == "mortgage"
    assert best[0].score > 2 * best[1].score
