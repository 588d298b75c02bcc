"""Answer generators: turn a question and retrieved passages into a short spoken answer.

Every generator has the same interface (``AnswerGenerator``) so the dialogue can swap them.
The default, ``ExtractiveAnswerer``, uses no language model: it quotes the one or two
sentences of the best passage that share the most words with the question. It cannot invent
anything, which is what a bank's contact centre wants by default; the only rewriting is
``to_spoken``, which changes notation ("$5" -> "5 dollars"), never content.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np

from dialogue.spoken import to_spoken
from knowledge.embeddings import Embedder
from knowledge.types import Passage

_SENTENCE_CACHE = 20_000
_TITLE_WORD_WEIGHT = 0.5  # how much a word of the page title counts in picking a sentence
_BARE_YES_NO = re.compile(r"^(?:yes|no)\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """What to say, and where it came from.

    ``sources`` are document ids, the one that contributed most first. ``grounded`` is True
    when every statement in ``text`` is taken from ``sources``.
    """

    text: str
    sources: tuple[str, ...]
    grounded: bool


@runtime_checkable
class AnswerGenerator(Protocol):
    """Turns a question and ranked passages (best first) into an ``Answer``."""

    def answer(
        self, question: str, passages: list[Passage], *, context: list[str] | None = None
    ) -> Answer | None:
        """The answer, or None when nothing relevant was found (so the caller can offer a
        person). ``context`` holds the caller's earlier turns, oldest first."""
        ...

    def stream(
        self, question: str, passages: list[Passage], context: list[str] | None = None
    ) -> Iterator[str]:
        """Speakable sentences of the answer, as soon as each is ready (nothing if None)."""
        result = self.answer(question, passages, context=context)
        if result is not None:
            yield from split_sentences(result.text)


_STOP = frozenset(
    """a an and are am be can could do does did for from have how i i'm if in is it its me my
    of on or please so that the there this to was we what when where which who will with would
    you your yours our us hi hello hey um uh like just want wanted need know tell about get
    any some then than there's okay ok yes no all be will that'll what's whats it's that's s
    i'd i'll i've i'm yeah yep hmm oh guys""".split()
)
_WORD = re.compile(r"[a-z0-9']+")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("es") and (word[-3] in "sxz" or word[-4:-2] in ("ch", "sh")):
        return word[:-2]  # "buses" -> "bus", "boxes" -> "box", as "bus" and "box" stay
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, stop words dropped, lightly stemmed."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [_stem(w) for w in words if w not in _STOP]


# Full stops that do not end a sentence (compared lower-cased, with the stop).
_ABBREVIATIONS = frozenset(
    "e.g. i.e. approx. st. ave. rd. blvd. mr. mrs. ms. dr. vs. no. inc. ltd. co. jr. sr.".split()
)
_CAPITALISED_AFTER_TIME = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\b|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
)
_BOUNDARY = re.compile(r"(?<=[.!?])([\"')\]]*)\s+(?=[\"'(\[]*[A-Z0-9])")
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d+[.)]\s)")


def split_sentences(text: str) -> list[str]:
    """Split written or spoken text into sentences, in order, each stripped.

    Headings and list items are sentences of their own; lines wrapped inside a paragraph
    are joined; full stops of common abbreviations ("e.g.", "St.", "a.m." before a day)
    do not split.
    """
    sentences: list[str] = []
    for block in _blocks(text):
        start = 0
        for boundary in _BOUNDARY.finditer(block):
            end = boundary.end(1)  # after the stop and any closing quote
            before = block[start:end].split()
            last = before[-1].lower() if before else ""
            after = block[boundary.end() :]
            if last.strip("\"')]") in _ABBREVIATIONS:
                continue
            if last in ("a.m.", "p.m.") and _CAPITALISED_AFTER_TIME.match(after):
                continue
            sentences.append(block[start:end].strip())
            start = boundary.end()
        sentences.append(block[start:].strip())
    return [s for s in sentences if s]


def _blocks(text: str) -> list[str]:
    """Paragraphs, headings and list items, with wrapped lines joined."""
    blocks: list[str] = []
    joinable = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            joinable = False
            continue
        block_start = bool(_BLOCK_START.match(line))
        if joinable and not block_start:
            blocks[-1] = f"{blocks[-1]} {stripped}"
        else:
            blocks.append(stripped)
        heading = stripped.startswith("#")
        joinable = not heading and stripped[-1] not in ".!?:"
    return blocks


@dataclass(frozen=True)
class _Candidate:
    sentence: str
    rank: int
    """Which passage it came from: 0 for the best."""
    position: int
    score: float
    kinds: frozenset[str] = frozenset()
    """The kinds of answer asked for that it holds (and that added to its score)."""


class ExtractiveAnswerer(AnswerGenerator):
    """Quotes the sentences of the best passage that best match the question. No LLM.

    Args:
        max_sentences: the most sentences an answer has (default 2: one phone breath).
        min_score: a best passage whose retrieval score is below this gives no answer
            (default 0.0: trust the retriever's own threshold).
        use_second_passage: also take sentences from the second passage when it is a
            neighbouring chunk of the same document (default True).
        context_weight: how much a word from the caller's earlier turns counts against a
            word of the question itself (default 0.5), so "and the fee for that?" can
            follow a question about wire transfers.
        second_passage_margin: the second passage is used only when its score is within
            this of the best one's (default 0.05; scores are cosine similarities).

        embedder: a sentence embedder (the knowledge base's); with it a sentence's score
            also counts its meaning (cosine with the question, times ``semantic_weight``),
            so "do I need to let you know before I travel?" finds "You don't need to tell
            us" without a shared word. Sentence vectors are cached (the KB changes rarely).
        yes_no_score: a bare "Yes." or "No." sentence (an FAQ answer's first) is quoted
            only from a passage at least this relevant; below it the caller may have asked
            something else, and the rest of the answer still says what is true.
        min_passage_score: with an embedder, a passage at least this relevant (or whose
            document's title is this close to the question) may answer even when no word
            of the question appears in it.

    A sentence's words include its section heading's, so "Monday to Friday, 9 am to 5 pm"
    under "Opening hours" answers "when do you open?".
    """

    def __init__(
        self,
        *,
        max_sentences: int = 2,
        min_score: float = 0.0,
        use_second_passage: bool = True,
        context_weight: float = 0.5,
        second_passage_margin: float = 0.05,
        embedder: Embedder | None = None,
        semantic_weight: float = 2.0,
        min_passage_score: float = 0.45,
        yes_no_score: float = 0.75,
    ) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.use_second_passage = use_second_passage
        self.context_weight = context_weight
        self.second_passage_margin = second_passage_margin
        self.embedder = embedder
        self.semantic_weight = semantic_weight
        self.min_passage_score = min_passage_score
        self.yes_no_score = yes_no_score
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def answer(
        self, question: str, passages: list[Passage], *, context: list[str] | None = None
    ) -> Answer | None:
        if not passages:
            return None
        best = passages[0]
        if best.score < self.min_score:
            return None
        used = [best]
        if (
            self.use_second_passage
            and len(passages) > 1
            and passages[1].document_id == best.document_id
            and passages[1].chunk_id != best.chunk_id
            and passages[1].score >= best.score - self.second_passage_margin
        ):
            used.append(passages[1])

        sentences = [
            (rank, position, sentence, _heading(passage))
            for rank, passage in enumerate(used)
            for position, sentence in enumerate(split_sentences(passage.text))
            # a heading names a topic and a cross-reference points elsewhere: neither answers
            if not sentence.startswith("#")
            and not _CROSS_REFERENCE.search(sentence)
            # a bare "Yes." answers the page's own question: said only when that is the
            # caller's ("can I buy bitcoin?" must not get the foreign currency FAQ's "Yes.")
            and not (_BARE_YES_NO.match(sentence) and passage.score < self.yes_no_score)
        ]
        weights = _rarity(self._weights(question, context or []), sentences)
        # Every sentence of "Oak Avenue branch" is about Oak Avenue: the words of the title
        # pick no sentence ("close" should pick the hours, not "Oak Avenue is closed ...").
        for word in _words(best.title):
            if word in weights:
                weights[word] *= _TITLE_WORD_WEIGHT
        wanted = _answer_types(question)
        candidates = []
        previous = (-1, False)  # (passage, shared a word) of the sentence before
        for rank, position, sentence, heading in sentences:
            score = _overlap(sentence, weights, heading)
            # The kind of answer counts only where the topic is shared: by the sentence, or
            # by the one before when this one goes on about it ("Call phone banking on ...
            # It is open 24 hours a day.").
            shared = score > 0 or (_CONTINUES.match(sentence) and previous == (rank, True))
            kinds = wanted & _types(sentence) if shared else set()
            previous = (rank, score > 0)
            score += _TYPE_BONUS * len(kinds)
            candidates.append(_Candidate(sentence, rank, position, score, frozenset(kinds)))
        if self.embedder is not None and candidates:
            candidates = self._add_meaning(question, candidates, used)
        scoring = [c for c in candidates if c.score > 0]
        if not scoring:
            return None

        chosen: list[_Candidate] = []
        asked = set(_PLAIN_WORD.findall(question.lower())) - _FUNCTION_WORDS
        heading = set(_PLAIN_WORD.findall(_heading(best).lower())) - _FUNCTION_WORDS
        if (
            candidates[0].rank == 0
            and candidates[0].score > 0
            and (_is_faq(best) or asked & heading)
            and not (_ASKS_HOW_TO_GET.match(question) and _DEFINITION.match(candidates[0].sentence))
        ):
            # An FAQ answer's first sentence is its gist; so is a section's whose heading
            # is what was asked about ("What you need" for "what do I need to bring"). But
            # a caller asking how to get a thing knows what it is: "A cashier's check is a
            # check guaranteed by the bank" does not answer "how do I get one?".
            chosen.append(candidates[0])
        while len(chosen) < self.max_sentences:
            # A question that asks for two kinds of answer ("what number do I call at 2 in
            # the morning?": a phone number and hours) is answered with one of each: a kind
            # already given no longer adds to the other sentences' scores.
            given = set().union(*(c.kinds for c in chosen))
            left = [c for c in scoring if c not in chosen]
            # "It is often needed for buying a car." means nothing without the sentence
            # before it: a sentence that goes on about the one before waits for it.
            placed = {(c.rank, c.position) for c in chosen}
            free = [
                c
                for c in left
                if not _CONTINUES.match(c.sentence) or (c.rank, c.position - 1) in placed
            ]
            left = free if free or not chosen else []
            if not left:
                break
            chosen.append(
                max(
                    left,
                    key=lambda c: (
                        c.score - _TYPE_BONUS * len(given & c.kinds),
                        -c.rank,
                        -c.position,
                    ),
                )
            )
        # A sentence that goes on about a chosen one ("You must pay at least the minimum
        # payment." "That is 25 dollars, ...") completes it: it comes along, once.
        by_place = {(c.rank, c.position): c for c in candidates}
        for c in list(chosen):
            after = by_place.get((c.rank, c.position + 1))
            if (
                len(chosen) <= self.max_sentences
                and after is not None
                and after not in chosen
                and _CONTINUES.match(after.sentence)
            ):
                chosen.append(after)
        chosen.sort(key=lambda c: (c.rank, c.position))

        sources = tuple(dict.fromkeys(used[c.rank].document_id for c in chosen))
        text = to_spoken("\n".join(c.sentence for c in chosen))
        return Answer(text=text, sources=sources, grounded=True)

    def prepare(
        self, passages: Iterable[Passage], batch: int = 16, embedder: Embedder | None = None
    ) -> int:
        """Embed the sentences of ``passages`` ahead of time (the knowledge base, at start-up,
        in the background), so no caller waits for a passage seen for the first time.
        Returns how many sentences (and titles) were embedded."""
        if self.embedder is None:
            return 0
        embedder = embedder or self.embedder
        passages = list(passages)
        texts = [
            f"{_heading(p)}: {sentence}"
            for p in passages
            for sentence in split_sentences(p.text)
            if not sentence.startswith("#")
        ] + [p.title for p in passages]  # a title can vouch for its passage (`_relevant`)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        missing = missing[:_SENTENCE_CACHE]
        for start in range(0, len(missing), batch):
            part = missing[start : start + batch]
            vectors = embedder.embed(part)
            with self._lock:
                self._vectors.update(zip(part, vectors, strict=True))
        return len(missing)

    def _add_meaning(
        self, question: str, candidates: list[_Candidate], used: list[Passage]
    ) -> list[_Candidate]:
        """Each sentence's score plus its cosine with the question (weighted); sentences of
        a passage that shares no word with the question count only if the passage is
        relevant enough on its own."""
        assert self.embedder is not None
        texts = [f"{_heading(used[c.rank])}: {c.sentence}" for c in candidates]
        query = self.embedder.embed([question])[0]
        similarity = [float(v @ query) for v in self._vectors_of(texts)]
        lexical = any(c.score > 0 for c in candidates)
        if not lexical and not self._relevant(used[0], query):
            return candidates
        return [
            replace(c, score=c.score + self.semantic_weight * max(0.0, s))
            for c, s in zip(candidates, similarity, strict=True)
        ]

    def _relevant(self, passage: Passage, query: np.ndarray) -> bool:
        """Whether the passage, or its document's title, is close enough in meaning to
        answer without a shared word: the page "Travelling abroad: do you need to tell us?"
        answers "I'm going to Italy, do I need to let you know?" (the passage itself,
        diluted by its other sentences, scores lower than its title)."""
        if passage.score >= self.min_passage_score:
            return True
        (title,) = self._vectors_of([passage.title])
        return float(title @ query) >= self.min_passage_score

    def _vectors_of(self, texts: list[str]) -> list[np.ndarray]:
        """The vectors of ``texts``, from the cache or embedded now (and cached, oldest
        dropped beyond ``_SENTENCE_CACHE``)."""
        assert self.embedder is not None
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.embedder.embed(missing), strict=True))
            with self._lock:
                self._vectors.update((t, found[t]) for t in missing)
                while len(self._vectors) > _SENTENCE_CACHE:
                    self._vectors.pop(next(iter(self._vectors)))
        return [found[t] for t in texts]

    def _weights(self, question: str, context: list[str]) -> dict[str, float]:
        weights = {word: self.context_weight for turn in context for word in _words(turn)}
        weights.update({word: 1.0 for word in _words(question)})
        return weights


def _heading(passage: Passage) -> str:
    """The passage's own section heading (not the document title), if it has one."""
    return passage.heading_path[-1] if len(passage.heading_path) > 1 else ""


def _rarity(
    weights: dict[str, float], sentences: list[tuple[int, int, str, str]]
) -> dict[str, float]:
    """Scale each question word by how few of the candidate sentences hold it: in "how much is
    a large safe deposit box", every sentence says "safe deposit box"; "large" picks one."""
    if len(sentences) < 2:
        return weights
    holding = [_words(s) | _words(to_spoken(s)) | _words(h) for _, _, s, h in sentences]
    n = len(holding)
    scaled = {}
    for word, weight in weights.items():
        df = sum(word in words for words in holding)
        scaled[word] = weight * (math.log((n + 1) / (df + 0.5)) / math.log(n + 1)) if df else weight
    return scaled


def _overlap(sentence: str, weights: dict[str, float], heading: str = "") -> float:
    """Weighted count of the question's words in the sentence (and its section heading),
    as it will be spoken ("Sat" matches "Saturday"); each word counts once."""
    words = _words(sentence) | _words(to_spoken(sentence)) | _words(heading)
    return sum(weights.get(word, 0.0) for word in words)


# What kind of answer a question wants, and which sentences hold one: "how much" wants an
# amount, "how long" a duration, "what number" a phone number, "when" a time or day.
_TYPE_BONUS = 0.75
_ASKS = {
    "money": re.compile(r"\b(?:how much|cost|costs|fee|fees|price|charge|charges|pay for)\b", re.I),
    "duration": re.compile(r"\b(?:how long|how many days|how soon|when will|how quickly)\b", re.I),
    "time": re.compile(r"\b(?:when|what time|open|opening|hours|morning|night|evening)\b", re.I),
    "phone": re.compile(r"\b(?:number|phone|call|ring)\b", re.I),
    "steps": re.compile(
        r"\b(?:how (?:do|can|should|would) (?:i|we)|how to|what (?:do|should|can) (?:i|we) do)\b",
        re.I,
    ),
}
_HOLDS = {
    "money": re.compile(r"\$\d|\b\d[\d,.]*\s*(?:dollars?|cents?|percent)\b|\bfree\b", re.I),
    "duration": re.compile(
        r"\b(?:\d+|one|two|three|four|five|six|seven|ten|a few|several|a couple of)\s+"
        r"(?:working\s+|business\s+)?(?:days?|weeks?|months?|hours?|minutes?)\b"
        r"|\b(?:instantly|immediately|straight away|right away)\b",
        re.I,
    ),
    "time": re.compile(
        r"\b\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|\b24 hours\b|\bclosed\b", re.I
    ),
    "phone": re.compile(r"\b\d{3}[-. ]\d{4}\b"),
    # an instruction: "To stop one, contact the company first.", "Go to Cards, then ..."
    "steps": re.compile(
        r"^(?:To [a-z]+\b[^,.]*,|(?:Go|Call|Choose|Open|Contact|Visit|Tap|Sign|Use|Ask|Bring|Fill"
        r"|Select|Enter|Send|Write|Freeze|Report|Cancel|Log|Add|Set)\b)"
    ),
}


# "how do I get one?", also after a preamble (not understanding.HOW_TO, which is any
# question about how something works)
_ASKS_HOW_TO_GET = re.compile(
    r"(?:.*[,.]\s*)?(?:how (?:do|can|would|should) (?:i|we)|where (?:do|can) (?:i|we))\b", re.I
)
_DEFINITION = re.compile(r"(?:an?|the) [\w' -]+? (?:is|are) (?:an?|the) ", re.I)
_CONTINUES = re.compile(r"(?:It|They|This|That|These|Those|He|She)\b")


def _answer_types(question: str) -> set[str]:
    return {kind for kind, pattern in _ASKS.items() if pattern.search(question)}


def _types(sentence: str) -> set[str]:
    return {kind for kind, pattern in _HOLDS.items() if pattern.search(sentence)}


_CROSS_REFERENCE = re.compile(
    r"\b(?:see|read|check) (?:the|our) (?:document|page|section|article|guide)s? (?:on|about)\b",
    re.IGNORECASE,
)


def cross_references(text: str) -> list[tuple[str, str]]:
    """(sentence, what it points at) for each "see the document on X" sentence of ``text``:
    "For how long each step takes, see the document on the chargeback timeline." points at
    "the chargeback timeline"."""
    found = []
    for sentence in split_sentences(text):
        match = _CROSS_REFERENCE.search(sentence)
        if match:
            target = sentence[match.end() :].strip().rstrip(".!?").strip()
            if target:
                found.append((sentence, target))
    return found


_PLAIN_WORD = re.compile(r"[a-z]+")
_FUNCTION_WORDS = frozenset(
    "a an the and or of to in on at for with from by is are was be do does did i you we they it"
    " my your our their me what how when where which who why can could will would should this"
    " that these those there here".split()
)
# Function words the FAQ matcher's stop list keeps but that say nothing about a topic.
_MORE_STOP = frozenset("as at by into off out up via onto per".split())


def _words(text: str) -> set[str]:
    return {word for word in tokens(text) if word not in _MORE_STOP}


def _is_faq(passage: Passage) -> bool:
    """Whether the passage is an FAQ answer (the store puts the document kind in metadata)."""
    return passage.metadata.get("kind") == "faq"


__all__ = [
    "Answer",
    "AnswerGenerator",
    "ExtractiveAnswerer",
    "cross_references",
    "split_sentences",
]
