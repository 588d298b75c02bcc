"""BM25 term weights as sparse vectors, for Qdrant's sparse index with ``Modifier.IDF``.

BM25 scores a document for a query as the sum over shared terms of
``idf(term) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``. Qdrant multiplies
in the IDF itself (the collection's sparse vector is created with ``modifier=IDF``, so the
statistics stay right as documents come and go); we store the rest of the formula as each
document's term values and send 1.0 per distinct query term.

``avg_len`` should be the corpus' mean length, which changes with every ingest. A fixed
constant keeps stored vectors valid forever; 60 content tokens (after stop words) is about
the length of the chunks our chunker makes, and BM25 is not sensitive to it (it only decides
how much a long chunk is penalised against a short one).

Term indices come from ``zlib.crc32`` (31 bits), stable across processes and machines;
Python's ``hash()`` is salted per process and would scramble the index on restart.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter

__all__ = ["STOP_WORDS", "SparseEncoder", "stem", "term_index"]

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he's her here here's hers herself him himself his how
    how's i i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves please just also
    """.replace("'", "").split()
)
# The tokenizer drops apostrophes, so contractions whose bare form is another word ("i'd" ->
# "id", "we'll" -> "well", "she'll" -> "shell") are not in the list.

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['\u2019]")
_VOWELS = set("aeiouy")


def stem(word: str) -> str:
    """A light suffix stripper: plurals, -ing, -ed and a final -e, so forms meet.

    "cards" -> "card", "charges"/"charged"/"charge" -> "charg", "opening" -> "open". It is
    deliberately conservative (no Porter rules); a stem must keep a vowel and three letters.
    Numbers pass unchanged.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            if len(base) >= 3 and _VOWELS & set(base):
                if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                    base = base[:-1]  # "stopped" -> "stop", but "billed" -> "bill"
                word = base
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def term_index(term: str) -> int:
    """The sparse-vector index of a term: 31 bits of CRC-32, the same in every process."""
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


class SparseEncoder:
    """Encodes documents as BM25 term weights and queries as their distinct terms.

    ``k1`` (1.2) sets how fast repeated terms saturate; ``b`` (0.75) how much length counts;
    ``avg_len`` (60 tokens) is the fixed length a chunk is normalised against.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, avg_len: float = 60.0) -> None:
        self.k1 = k1
        self.b = b
        self.avg_len = avg_len

    def tokenize(self, text: str) -> list[str]:
        """Lower-cased words and numbers, stop words removed, stemmed."""
        words = _WORD.findall(_APOSTROPHES.sub("", text.lower()))
        return [stem(word) for word in words if word not in STOP_WORDS]

    def encode_document(self, text: str) -> tuple[list[int], list[float]]:
        tokens = self.tokenize(text)
        if not tokens:
            return [], []
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.avg_len)
        weights: Counter[int] = Counter()
        for term, tf in Counter(tokens).items():
            # Two terms sharing a CRC (rare) add up: Qdrant wants each index once.
            weights[term_index(term)] += tf * (self.k1 + 1) / (tf + norm)
        indices = sorted(weights)
        return indices, [weights[index] for index in indices]

    def encode_query(self, text: str) -> tuple[list[int], list[float]]:
        indices = sorted({term_index(term) for term in self.tokenize(text)})
        return indices, [1.0] * len(indices)
