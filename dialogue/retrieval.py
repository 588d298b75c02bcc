"""Knowledge-base retrieval with the conversation's context.

Callers do not repeat themselves: after a question about the Elm Street branch, "and what
time do they open on Saturday?" is still about Elm Street. :class:`ConversationContext`
keeps the entity (a branch) and the topic (the last question answered) of one call;
:class:`KnowledgeRetriever` turns a caller's question plus that context into passages, and
says when nothing relevant was found or when the best candidates are about different
things (so the dialogue asks which one the caller means).

Relevance uses dense (cosine) scores, which mean the same across questions: on the demo
bank every in-scope question of the benchmark scores >= 0.37 and the off-topic ones
<= 0.28 (see ``benchmarks/results/dialogue.md``); the default threshold is 0.35.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from dialogue.answers import cross_references, tokens
from dialogue.flows import match_choice
from dialogue.understanding import BARE_DAY, normalise
from knowledge.embeddings import Embedder
from knowledge.store import KnowledgeStore, KnowledgeStoreError
from knowledge.types import Passage

logger = logging.getLogger(__name__)

_FOLLOW_UP_START = re.compile(
    r"^(?:and|also|so|then|but|what about|how about|and what about|plus|ok and|okay and)\b"
)
_REFERS_BACK = re.compile(
    r"\b(?:they|them|their|it|its|it's|that|those|these|this one|the same|the branch|"
    r"that branch|that one|he|she)\b|\b(?<!is )(?<!are )(?<!was )(?<!were )there\b(?! is| are|'s)"
    r"|\b(?:a|an|the|other) (?:\w+ )?ones?\b(?! time| off| of)"  # "how much is a medium one?"
)
_CANDIDATES = 20
_SAME_SECTION_MARGIN = 0.15
_LABEL_CACHE = 20_000  # title and heading-path vectors kept (a 384-wide vector is 1.5 kB)
VAGUE_WORDS = 2
"""A question with at most this many content words can be ambiguous between topics."""


@dataclass
class ConversationContext:
    """What the caller has been asking about in this call."""

    entity: str | None = None
    topic_question: str | None = None
    topic_document: str | None = None
    topic_label: str | None = None
    """What the last answer was about: its document title and section ("Harbor Road
    branch, Opening hours"), which a follow-up's words alone may not say."""
    caller_turns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Option:
    """One reading of an ambiguous question: what to call it, and what it points at."""

    label: str
    document_id: str
    entity: str | None = None


@dataclass(frozen=True)
class Retrieval:
    query: str
    passages: list[Passage]
    entity: str | None = None
    options: tuple[Option, ...] = ()
    """Two or more when the best passages are about different things."""

    @property
    def relevant(self) -> bool:
        return bool(self.passages)


class KnowledgeRetriever:
    """Searches one collection for the dialogue.

    Args:
        store: the knowledge store.
        collection: the company's knowledge base.
        min_score: dense score below which a passage is not relevant.
        ambiguity_margin: candidates from different topics within this score of the best
            make the question ambiguous.
        top_k: passages returned per search.
        lexical_weight: how much the exact words (BM25 relative to the best hit) add to the
            dense score when ordering: 0.2 was best on the demo bank's question set
            (recall@1 0.714 vs 0.704 dense-only and 0.684 with RRF fusion).
        reference_margin: when the best passage answers the question by pointing elsewhere
            ("for how long each step takes, see the document on the chargeback timeline"),
            the document it points at comes first if it scored within this of the best.
        title_margin: a document whose title the question names in full ("savings
            account" for "Savings accounts") comes first if it scored within this of a best
            passage whose title names something else ("Checking accounts").
        heading_margin, heading_gap, heading_similarity: among the passages within
            ``heading_margin`` of the best, another document's passage whose headings
            ("Fraud and suspicious activity > If you see a transaction you don't
            recognise") restate the question (cosine at least ``heading_similarity``) and
            are closer to it than the best passage's headings by ``heading_gap`` comes
            first. The words of a short section are few, so its headings say best what it
            answers.
        weak_score, min_title_similarity: a new question whose best passage scores under
            ``weak_score`` and whose document's title is further than
            ``min_title_similarity`` (cosine) from the question finds nothing: "what's the
            interest rate on a car loan?" shares "interest rate" with the credit card's page
            (0.56), but the question is not about that card (title 0.14), and quoting its
            rate would answer a question the knowledge base cannot. This needs titles that
            name their subject; 0 turns it off.
    """

    def __init__(
        self,
        store: KnowledgeStore,
        collection: str,
        *,
        min_score: float = 0.35,
        ambiguity_margin: float = 0.04,
        top_k: int = 6,
        lexical_weight: float = 0.2,
        reference_margin: float = 0.1,
        title_margin: float = 0.1,
        heading_margin: float = 0.05,
        heading_gap: float = 0.1,
        heading_similarity: float = 0.6,
        weak_score: float = 0.65,
        min_title_similarity: float = 0.2,
    ) -> None:
        self.store = store
        self.collection = collection
        self.min_score = min_score
        self.ambiguity_margin = ambiguity_margin
        self.top_k = top_k
        self.lexical_weight = lexical_weight
        self.reference_margin = reference_margin
        self.title_margin = title_margin
        self.heading_margin = heading_margin
        self.heading_gap = heading_gap
        self.heading_similarity = heading_similarity
        self.weak_score = weak_score
        self.min_title_similarity = min_title_similarity
        self._labels: dict[str, np.ndarray] = {}  # title or heading path -> its vector
        self._lock = threading.Lock()  # the warm-up fills ``_labels`` while calls read it
        self._entities: list[str] | None = None
        self._aliases: dict[str, str] = {}

    @property
    def entities(self) -> list[str]:
        if self._entities is None:
            try:
                tags = self.store.entity_tags(self.collection)
            except Exception as e:  # a missing collection answers nothing, it does not crash
                logger.warning("cannot list entities of %s: %s", self.collection, e)
                tags = {}
            self._entities = list(tags)
            self._aliases = _aliases(tags)
        return self._entities

    def find_entity(self, text: str) -> str | None:
        """The entity the caller names: "Elm Street", "the harbor road branch", or a tag only
        that entity has, with the entity's kind word ("the Westfield branch", "the branch by
        the marina")."""
        said = normalise(text)
        named = match_choice(said, self.entities, pending=False) or _partial(said, self.entities)
        if named is not None:
            return named
        padded = f" {said} "
        for alias, entity in self._aliases.items():
            kind = normalise(entity).split()[-1]  # "branch"
            if f" {alias} " in padded and f" {kind}" in padded:
                return entity
        return None

    def retrieve(self, question: str, context: ConversationContext) -> Retrieval:
        said = normalise(question)
        entity = self.find_entity(question)
        alias = self._alias_in(said, entity)
        if alias:  # "the Westfield branch": search for the branch, not for the word Westfield
            pattern = r"\b" + r"\W+".join(map(re.escape, alias.split())) + r"\b"
            question = re.sub(pattern, "", question, flags=re.IGNORECASE) + f" ({entity})"
        # "so what's your interest rate?" opening a call follows nothing
        follow_up = _is_follow_up(said) and bool(context.topic_document or context.entity)
        query = question
        if entity is None and follow_up and context.entity is not None:
            entity = context.entity
            query = f"{entity}: {question}"  # "and on Saturday?" alone matches nothing
        elif entity is not None and follow_up and context.topic_label:
            # "what about Elm Street?" after Harbor Road's opening hours
            query = f"{entity}: {_section(context.topic_label)} {question}"
        elif follow_up and context.topic_label and _vague(question):
            query = f"{context.topic_label}: {question}"
        passages = self.search(query, entity)
        if not passages or (
            entity is None and not follow_up and not self._about(query, passages[0])
        ):
            return Retrieval(query, [], entity)
        if follow_up and context.topic_document and entity is None and _vague(question):
            passages = _prefer(passages, context.topic_document, self.ambiguity_margin * 2)
        options = () if follow_up else self._options(passages, entity, question)
        return Retrieval(query, passages, entity, options)

    def prepare(self, passages: Iterable[Passage], embedder: Embedder | None = None) -> int:
        """Embed the titles and heading paths of ``passages`` ahead of time (at start-up,
        in the background). Returns how many were embedded."""
        labels = {label for p in passages for label in (p.title, _path(p))}
        missing = [label for label in sorted(labels) if label not in self._labels]
        missing = missing[: _LABEL_CACHE - len(self._labels)]
        embedder = embedder or self.store.embedder
        for start in range(0, len(missing), 32):
            part = missing[start : start + 32]
            vectors = embedder.embed(part)
            with self._lock:
                self._labels.update(zip(part, vectors, strict=True))
        return len(missing)

    def _similarity(self, question: str, labels: list[str]) -> list[float] | None:
        """Cosine of the question with each label (a title or heading path); None when the
        embedder fails (the search already worked, so the passages stand as found)."""
        embedder = self.store.embedder
        try:
            missing = [label for label in dict.fromkeys(labels) if label not in self._labels]
            vectors = dict(zip(missing, embedder.embed(missing), strict=True)) if missing else {}
            with self._lock:
                if vectors and len(self._labels) < _LABEL_CACHE:
                    self._labels.update(vectors)
            query = embedder.embed([question])[0]  # cached from the search
        except Exception as e:
            logger.warning("cannot compare the question with %s: %s", labels, e)
            return None
        return [float(self._labels.get(label, vectors.get(label)) @ query) for label in labels]

    def _prefer_heading(self, query: str, passages: list[Passage]) -> list[Passage]:
        """The passage whose headings restate the question first (see ``heading_margin``)."""
        if len(passages) < 2 or not self.heading_similarity:
            return passages
        best = passages[0]
        close = [
            p
            for p in passages[1:]
            if p.score >= best.score - self.heading_margin and p.document_id != best.document_id
        ]
        if not close:
            return passages
        similarity = self._similarity(query, [_path(best), *map(_path, close)])
        if similarity is None:
            return passages
        mine, theirs = similarity[0], similarity[1:]
        k = max(range(len(close)), key=theirs.__getitem__)
        if theirs[k] >= max(self.heading_similarity, mine + self.heading_gap):
            return _to_front(passages, close[k])
        return passages

    def _about(self, question: str, best: Passage) -> bool:
        """Whether the best passage is strong enough, or its document's title close enough
        in meaning, for the question to be about it (see ``weak_score``)."""
        if best.score >= self.weak_score or not self.min_title_similarity:
            return True
        similarity = self._similarity(question, [best.title])
        return similarity is None or similarity[0] >= self.min_title_similarity

    def _alias_in(self, said: str, entity: str | None) -> str | None:
        if entity is None or normalise(entity) in said:
            return None
        return next(
            (a for a, e in self._aliases.items() if e == entity and f" {a} " in f" {said} "), None
        )

    def retrieve_option(self, question: str, option: Option) -> Retrieval:
        """Passages of the option the caller chose, for the question they first asked."""
        passages = self.search(f"{question} {option.label}", option.entity)
        chosen = [p for p in passages if p.document_id == option.document_id]
        return Retrieval(question, chosen or passages, option.entity)

    def search(self, query: str, entity: str | None) -> list[Passage]:
        """Relevant passages, best first; none when the store cannot be searched (a missing
        collection, a server down): the caller is told and offered a person, not cut off."""
        try:
            dense, sparse = (
                self.store.search(
                    self.collection,
                    query,
                    top_k=_CANDIDATES,
                    mode=mode,
                    entity=entity,
                    entity_mode="boost",
                )
                for mode in ("dense", "sparse")
            )
        except KnowledgeStoreError as e:
            logger.error("knowledge search failed: %s", e)
            return []
        # Relevance is the meaning (cosine); the order also weighs the exact words (BM25,
        # scaled to the best hit), which picks "contactless" for "pay by tapping my card".
        top = max((p.score for p in sparse), default=0.0) or 1.0
        words = {p.chunk_id: p.score / top for p in sparse}
        fused = [
            replace(p, score=p.score + self.lexical_weight * words.get(p.chunk_id, 0.0))
            for p in dense
            if p.score >= self.min_score
        ]
        if entity is not None:  # keep the entity's passages first, as the store ordered them
            fused.sort(key=lambda p: (p.entity != entity, -p.score))
        else:
            fused.sort(key=lambda p: -p.score)
        # Reorder among the passages of the entity asked about (or all, when none was).
        mine = [p for p in fused if entity is None or p.entity == entity]
        mine = _prefer_named(query, mine, self.title_margin)
        mine = self._prefer_heading(query, mine)
        mine = _follow_reference(query, mine, self.reference_margin)
        return (mine + [p for p in fused if p not in mine])[: self.top_k]

    def _options(
        self, passages: list[Passage], entity: str | None, question: str
    ) -> tuple[Option, ...]:
        first = passages[0]
        if entity is None and first.entity is not None and len(first.heading_path) > 1:
            # The same section ("Parking") of several branches' pages: which branch?
            same = [
                p
                for p in passages
                if p.entity is not None
                and p.heading_path[-1:] == first.heading_path[-1:]
                and p.score >= first.score - _SAME_SECTION_MARGIN
            ]
            if len({p.entity for p in same}) > 1:
                return tuple(
                    Option(_entity_label(e), _best_of(same, e), e)
                    for e in self.entities
                    if any(p.entity == e for p in same)
                )
        best = first.score
        close = [p for p in passages if p.score >= best - self.ambiguity_margin]
        documents: dict[str, Passage] = {}
        for p in close:
            documents.setdefault(p.document_id, p)
        if len(documents) < 2:
            return ()
        candidates = list(documents.values())
        entities = {p.entity for p in candidates}
        if entity is None and None not in entities and len(entities) > 1:
            # the same question about different branches: ask which one, naming them all
            return tuple(
                Option(_entity_label(e), _best_of(passages, e), e)
                for e in self.entities
                if any(p.entity == e for p in passages)
            )
        # few content words, or one besides those asking for a kind of answer ("how long
        # does it take to arrive?"): the question may mean any of these pages
        vague = len(tokens(question)) <= VAGUE_WORDS or len(_subject(question)) <= 1
        if len({_topic(p) for p in candidates}) < 2 or not vague:
            return ()
        return tuple(Option(p.title, p.document_id, p.entity) for p in candidates[:3])


def topic_label(passage: Passage) -> str:
    """ "Card disputes, How long it takes": the document's title and the passage's section."""
    parts = [passage.title, *passage.heading_path[1:]]
    return ", ".join(dict.fromkeys(p for p in parts if p))


def _section(label: str) -> str:
    return label.split(", ", 1)[1] if ", " in label else ""


# Words that ask what kind of answer is wanted ("how long does it take"), not about what.
_FRAME = frozenset(tokens("long take takes much many often soon cost costs work works"))


def _subject(question: str) -> list[str]:
    """The content words that say what the question is about."""
    return [t for t in tokens(question) if t not in _FRAME]


# Words a caller puts before the question itself ("quick question, is it free?"), and
# verbs that say nothing of what "it" is ("how long does it take to go through?").
_PREAMBLE = frozenset(tokens("quick question real simple go through happen come done ready"))
_POINTS_AT = re.compile(r"\b(?:it|its|it's|that|this|them|they|those|these|one)\b")


def points_at_nothing(question: str) -> bool:
    """Whether the question is only about "it" ("how do I turn it on?", "is it free?",
    "how long is it good for?"): a pronoun and at most one word of its own. Asked with
    nothing said before, it needs asking what "it" is."""
    said = question.lower()
    if not _POINTS_AT.search(said):
        return False
    own = [t for t in _subject(question) if t not in _PREAMBLE and not _POINTS_AT.fullmatch(t)]
    return len(own) <= 1


def _vague(question: str) -> bool:
    """Few words of its own ("and how much is that?"): it leans on the last topic."""
    return len(tokens(question)) <= VAGUE_WORDS + 1


def _is_follow_up(said: str) -> bool:
    return bool(_FOLLOW_UP_START.match(said) or _REFERS_BACK.search(said) or BARE_DAY.match(said))


def _aliases(tags: dict[str, list[str]]) -> dict[str, str]:
    """Tags that belong to exactly one entity, normalised: "westfield" -> Oak Avenue branch."""
    owners: dict[str, set[str]] = {}
    for entity, entity_tags in tags.items():
        for tag in entity_tags:
            owners.setdefault(normalise(tag), set()).add(entity)
    return {tag: next(iter(es)) for tag, es in owners.items() if len(es) == 1 and tag}


def _partial(said: str, entities: list[str]) -> str | None:
    """ "elm" or "harbor" alone names the branch when no other entity shares the word."""
    words = set(said.split())
    hits = [e for e in entities if normalise(e).split()[0] in words]
    return hits[0] if len(hits) == 1 else None


def _prefer(passages: list[Passage], document_id: str, margin: float) -> list[Passage]:
    """Move the topic's document first when it is nearly as good as the best passage."""
    best = passages[0].score
    same = [p for p in passages if p.document_id == document_id and p.score >= best - margin]
    return same + [p for p in passages if p not in same] if same else passages


def _to_front(passages: list[Passage], first: Passage) -> list[Passage]:
    return [first] + [p for p in passages if p is not first]


def _prefer_named(question: str, passages: list[Passage], margin: float) -> list[Passage]:
    """Put first the passage of a document whose title the caller named, when the best one is
    another of the same kind: "does my savings account pay interest?" is about "Savings
    accounts", though "Checking accounts > Interest" scored higher. Titles that share no
    word are different kinds of thing ("Fees and charges" for "the fee on checking") and
    are left in their order."""
    if len(passages) < 2:
        return passages
    asked = set(tokens(question))
    best = passages[0]
    best_title = set(tokens(best.title))
    if not best_title or best_title <= asked:
        return passages
    for p in passages[1:]:
        if p.score < best.score - margin:
            break
        title = set(tokens(p.title))
        if title and title <= asked and title & best_title:  # two of a kind: which one?
            return _to_front(passages, p)
    return passages


def _follow_reference(question: str, passages: list[Passage], margin: float) -> list[Passage]:
    """Put first the document that the best passage sends the caller to, when the sentence
    that points there is about what was asked ("how long does a dispute take?" and "for
    how long each step takes, see the document on the chargeback timeline") and that
    document is nearly as relevant."""
    if len(passages) < 2:
        return passages
    best = passages[0]
    asked = set(tokens(question))
    for sentence, target in cross_references(best.text):
        wanted = set(tokens(target))
        if not wanted or not (asked & (set(tokens(sentence)) - wanted)):
            continue
        for p in passages[1:]:
            if (
                p.document_id != best.document_id
                and p.score >= best.score - margin
                and wanted <= set(tokens(p.title))
            ):
                return _to_front(passages, p)
    return passages


def _path(passage: Passage) -> str:
    """ "Fraud and suspicious activity > If you see a transaction you don't recognise"."""
    return " > ".join(passage.heading_path) or passage.title


def _topic(passage: Passage) -> str:
    return str(passage.metadata.get("topic") or passage.document_id.split("/")[0])


def _entity_label(entity: str) -> str:
    return f"the {entity}"


def _best_of(passages: list[Passage], entity: str) -> str:
    return next(p.document_id for p in passages if p.entity == entity)


__all__ = ["ConversationContext", "KnowledgeRetriever", "Option", "Retrieval", "topic_label"]
