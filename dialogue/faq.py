"""A small FAQ matcher: the simple dialogue step until the knowledge base arrives.

Questions are matched with BM25 over each entry's question and title (answers count
for less), after lower-casing, dropping stop words and a light suffix stemmer. It is
deliberately dependency-free and fast (well under a millisecond for a few dozen entries).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DEMO_FAQ = Path(__file__).parent / "data" / "demo_faq.jsonl"

_STOP = frozenset(
    """a an and are am be can could do does did for from have how i i'm if in is it its me my
    of on or please so that the there this to was we what when where which who will with would
    you your yours our us hi hello hey um uh like just want wanted need know tell about get
    any some then than there's okay ok yes no all be will that'll""".split()
)
_WORD = re.compile(r"[a-z0-9']+")


class FAQError(ValueError):
    """The FAQ file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class FAQEntry:
    id: str
    question: str
    answer: str
    title: str


@dataclass(frozen=True, slots=True)
class FAQMatch:
    entry: FAQEntry
    score: float


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Content words of ``text``, stemmed."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    return [_stem(w) for w in words if w not in _STOP]


def load_faq(path: Path) -> list[FAQEntry]:
    """Read FAQ JSONL (``{"id", "question", "answer", "title"?}`` per line)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise FAQError(f"cannot read FAQ file {path}: {e.strerror}") from e
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            entries.append(
                FAQEntry(
                    id=str(item["id"]),
                    question=str(item["question"]),
                    answer=str(item["answer"]),
                    title=str(item.get("title") or item["id"]),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise FAQError(f"{path}:{number}: not a FAQ entry ({e})") from e
    if not entries:
        raise FAQError(f"{path} holds no FAQ entries")
    return entries


class FAQIndex:
    """BM25 over FAQ entries."""

    def __init__(self, entries: list[FAQEntry], *, k1: float = 1.2, b: float = 0.75):
        self.entries = entries
        self._k1, self._b = k1, b
        self._docs = [
            Counter(tokens(f"{e.title} {e.question} {e.question}") + tokens(e.answer))
            for e in entries
        ]
        self._lengths = [sum(d.values()) for d in self._docs]
        self._avg = sum(self._lengths) / len(self._lengths)
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(entries)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, top_k: int = 3) -> list[FAQMatch]:
        """Entries ranked by BM25 score; empty when no content word matches."""
        terms = tokens(query)
        scored = []
        for entry, doc, length in zip(self.entries, self._docs, self._lengths, strict=True):
            score = 0.0
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    norm = tf + self._k1 * (1 - self._b + self._b * length / self._avg)
                    score += self._idf[term] * tf * (self._k1 + 1) / norm
            if score > 0:
                scored.append(FAQMatch(entry, score))
        scored.sort(key=lambda m: m.score, reverse=True)
        return scored[:top_k]
