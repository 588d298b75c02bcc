"""PII redaction: the phrasing corpus, spans, Whisper punctuation, odd and long input, mappings."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from switchboard.redaction import Redaction, redact, redact_mapping, redact_with_spans

CORPUS = yaml.safe_load(
    (Path(__file__).parent / "data" / "redaction_corpus.yaml").read_text(encoding="utf-8")
)
KINDS = {"CARD", "ACCOUNT", "SSN", "PHONE", "EMAIL", "PIN", "NUMBER"}


def test_corpus_covers_every_kind_and_negatives():
    assert len(CORPUS) >= 80
    said = {kind for case in CORPUS for kind in case["kinds"]}
    assert said == KINDS
    assert sum(1 for case in CORPUS if not case["kinds"]) >= 30


@pytest.mark.parametrize("case", CORPUS, ids=[c["text"][:60] for c in CORPUS])
def test_corpus(case):
    text = case["text"]
    out, spans = redact_with_spans(text)
    assert [r.kind for r in spans] == case["kinds"]
    if not case["kinds"]:
        assert out == text
    if "expected" in case:
        assert out == case["expected"]
    for kept in case.get("keep", []):
        assert kept in out
    assert redact(text) == out
    assert redact(out) == out  # placeholders are never redacted again


def test_spans_point_into_the_original_text():
    text = "my card is four five seven two one one two two three three four four five five six"
    out, spans = redact_with_spans(text)
    assert out == "my card is [CARD]"
    assert spans == [Redaction("CARD", 11, len(text))]
    assert text[spans[0].start : spans[0].end].startswith("four five")
    assert spans[0].placeholder == "[CARD]"


def test_spans_are_ordered_and_rebuild_the_output():
    text = "pin 4821, phone (555) 123-4567, email a.b@c.com, acct 12345678"
    out, spans = redact_with_spans(text)
    assert [r.kind for r in spans] == ["PIN", "PHONE", "EMAIL", "ACCOUNT"]
    rebuilt, pos = [], 0
    for r in spans:
        assert pos <= r.start < r.end
        rebuilt += [text[pos : r.start], r.placeholder]
        pos = r.end
    assert "".join([*rebuilt, text[pos:]]) == out
    assert text[spans[1].start : spans[1].end] == "(555) 123-4567"


def test_redaction_holds_no_text():
    (r,) = redact_with_spans("my pin is 4821")[1]
    assert not any("4821" in str(getattr(r, f)) for f in ("kind", "start", "end"))


@pytest.mark.parametrize("text", ["", " ", "\n\t", "...", "?", "[CARD]"])
def test_empty_and_trivial_input(text):
    assert redact_with_spans(text) == (text, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("José’s number is 555-123-4567 ✓", "José’s number is [PHONE] ✓"),
        ("it’s john dot smith at gmail dot com", "it’s [EMAIL]"),
        ("📞 555-123-4567 📞", "📞 [PHONE] 📞"),
        ("my pin is ٤٨٢١", "my pin is [PIN]"),  # Arabic-Indic digits
        ("Müller, Straße 12, 80331 München", "Müller, Straße 12, [NUMBER] München"),
        ("café au lait, deux euros", "café au lait, deux euros"),
    ],
)
def test_unicode(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4,821", "4,821"),  # four digits alone: kept (last four of a card)
        ("ending in 4,821.", "ending in 4,821."),
        ("my pin is 4,821.", "my pin is [PIN]."),
        ("4-8-2-1", "4-8-2-1"),
        ("PIN: 4-8-2-1!", "PIN: [PIN]!"),
        ("My PIN is 4. 8. 2. 1.", "My PIN is [PIN]."),
        ("Card number: 4532-1234-5678-9012?", "Card number: [CARD]?"),
        ("Card number... 4532, 1234, 5678, 9012...", "Card number... [CARD]..."),
        ("(555)123-4567.", "[PHONE]."),
        ("“555-123-4567”", "“[PHONE]”"),
        ("Is it 12,345?", "Is it 12,345?"),  # a quantity with a thousands separator
        ("It's 12345678, my account.", "It's [ACCOUNT], my account."),
    ],
)
def test_whisper_punctuation(text, expected):
    assert redact(text) == expected


def test_oh_is_zero_only_among_digits():
    assert redact("oh, my pin is one oh oh two") == "oh, my pin is [PIN]"
    assert redact("oh oh oh") == "oh oh oh"
    assert redact("double oh seven") == "double oh seven"  # three digits


def test_long_transcript():
    turn = (
        "so my card is four five three two one two three four five six seven eight nine "
        "zero one two and I paid a hundred and thirty five dollars on the fifth of May, "
        "call me on 555-123-4567 or at john dot smith at gmail dot com. "
    )
    text = turn * 500
    out, spans = redact_with_spans(text)
    assert [r.kind for r in spans[:3]] == ["CARD", "PHONE", "EMAIL"]
    assert len(spans) == 1500
    assert out.count("a hundred and thirty five dollars") == 500
    assert not any(c.isdigit() for c in out)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "one " * 20_000,
        "oh " * 20_000,
        "double " * 20_000,
        "triple double " * 10_000,
        "at " * 20_000,
        "a dot " * 20_000 + "at b dot com",
        "a dot at dot " * 10_000 + "com",
        "4 - " * 20_000,
        "1, " * 20_000,
        "- , . ( ) " * 10_000,
    ],
)
def test_odd_long_input_finishes(text):
    out, spans = redact_with_spans(text)
    assert isinstance(out, str)
    assert all(0 <= r.start < r.end <= len(text) for r in spans)


def test_redact_mapping():
    slots = {
        "account_number": "it's 12345678",
        "amount": "two thousand dollars",
        "nested": {"contacts": ["555-123-4567", ("pin 4821", 7)], "note": None},
        "count": 3,
        "ok": True,
    }
    before = copy.deepcopy(slots)
    assert redact_mapping(slots) == {
        "account_number": "it's [ACCOUNT]",
        "amount": "two thousand dollars",
        "nested": {"contacts": ["[PHONE]", ("pin [PIN]", 7)], "note": None},
        "count": 3,
        "ok": True,
    }
    assert slots == before  # the input is not changed


def test_redact_mapping_reads_keys_as_cues():
    slots = {
        "pin": "4821",
        "accountNumber": "12345678",
        "zip-code": "62704",
        "card": {"number": "4532 1234 5678 9012", "last_four": "4821"},
        "phone": ["555 1234", "none given"],
        "security_code": "123",
        "amount": "2000",
        "note": "ending in 4821",
    }
    assert redact_mapping(slots) == {
        "pin": "[PIN]",
        "accountNumber": "[ACCOUNT]",
        "zip-code": "[NUMBER]",
        "card": {"number": "[CARD]", "last_four": "4821"},
        "phone": ["[PHONE]", "none given"],
        "security_code": "[PIN]",
        "amount": "2000",
        "note": "ending in 4821",
    }
    assert redact("4821") == "4821"  # the same value as plain text is kept


def test_redact_mapping_keeps_keys_and_plain_values():
    assert redact_mapping({"5551234567": "x"}) == {"5551234567": "x"}
    assert redact_mapping("pin 4821") == "pin [PIN]"
    assert redact_mapping([]) == []
    assert redact_mapping(12345678) == 12345678


def test_identifiers_in_a_mapping_are_kept():
    summary = {
        "call_id": "CA51108a30f9b8484396657ee26885b22f",
        "created_at": "2026-11-28T09:00:00+00:00",
        "key_quotes": ["my account number is 12345678"],
    }
    kept = redact_mapping(summary)
    assert kept["call_id"] == summary["call_id"]
    assert kept["created_at"] == summary["created_at"]
    assert kept["key_quotes"] == ["my account number is [ACCOUNT]"]
