"""BM25 sparse vectors: tokens, stable indices, saturation and length normalisation."""

from __future__ import annotations

import subprocess
import sys
import zlib

import pytest

from knowledge.sparse import SparseEncoder, stem, term_index


@pytest.fixture
def encoder() -> SparseEncoder:
    return SparseEncoder()


def test_tokens_are_lower_case_words_without_stop_words(encoder):
    assert encoder.tokenize("I've LOST my card's PIN, and the 2 cards!") == [
        "lost",
        "card",
        "pin",
        "2",
        "card",
    ]
    assert encoder.tokenize("What is it? Is it you?") == []
    # contractions whose bare form is a word are not dropped as stop words
    assert encoder.tokenize("customer ID") == ["customer", "id"]


@pytest.mark.parametrize(
    ("words", "stem_"),
    [
        (["card", "cards"], "card"),
        (["charge", "charges", "charged", "charging"], "charg"),
        (["open", "opens", "opened", "opening"], "open"),
        (["stop", "stopped", "stopping"], "stop"),
        (["bill", "billed", "billing"], "bill"),
        (["policy", "policies"], "policy"),
        (["address", "addresses"], "address"),
    ],
)
def test_light_stemming_joins_word_forms(words, stem_):
    assert {stem(word) for word in words} == {stem_}


def test_short_words_and_numbers_are_kept(encoder):
    assert stem("need") == "need"
    assert stem("bus") == "bus"
    assert stem("2024s") == "2024s"


def test_term_index_is_crc32_and_stable_across_processes():
    assert term_index("card") == zlib.crc32(b"card") & 0x7FFFFFFF
    code = "from knowledge.sparse import term_index; print(term_index('card'))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PYTHONPATH": "."},
    )
    assert int(other.stdout) == term_index("card")


def test_query_has_one_per_distinct_term(encoder):
    indices, values = encoder.encode_query("card card lost card")
    assert sorted(indices) == sorted({term_index("card"), term_index("lost")})
    assert values == [1.0, 1.0]
    assert indices == sorted(indices)
    assert encoder.encode_query("the and of") == ([], [])


def test_document_values_follow_bm25(encoder):
    k1, b, avg = encoder.k1, encoder.b, encoder.avg_len
    indices, values = encoder.encode_document("card card card lost")
    weights = dict(zip(indices, values, strict=True))
    norm = k1 * (1 - b + b * 4 / avg)
    assert weights[term_index("card")] == pytest.approx(3 * (k1 + 1) / (3 + norm))
    assert weights[term_index("lost")] == pytest.approx(1 * (k1 + 1) / (1 + norm))
    assert encoder.encode_document("") == ([], [])


def test_repeats_saturate_and_long_documents_weigh_less(encoder):
    def weight(text: str, term: str = "card") -> float:
        indices, values = encoder.encode_document(text)
        return dict(zip(indices, values, strict=True))[term_index(term)]

    once, twice, many = weight("card"), weight("card card"), weight("card " * 50)
    assert once < twice < many < encoder.k1 + 1
    assert twice - once > weight("card " * 11) - weight("card " * 10)
    filler = " ".join(f"word{i}" for i in range(200))
    assert weight(f"card {filler}") < weight("card")
