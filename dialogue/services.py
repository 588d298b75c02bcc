"""What every call's dialogue shares (models, knowledge, bank, flows), its options, and the
events it emits. Built once per process (``switchboard.engines.dialogue_services``); each
call gets its own :class:`~dialogue.manager.DialogueManager` from
:meth:`DialogueServices.conversation`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from dialogue.answers import AnswerGenerator, ExtractiveAnswerer
from dialogue.bank import BankBackend
from dialogue.flows import FlowSpec
from dialogue.handoff import HandoffSummary
from dialogue.intents import IntentModel
from dialogue.retrieval import KnowledgeRetriever

if TYPE_CHECKING:
    from dialogue.manager import DialogueManager

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialogueConfig:
    company_name: str = "Northwind Bank"
    flow_confidence: float = 0.6
    """An intent at least this sure starts its flow."""
    switch_confidence: float = 0.9
    """Mid-flow, another task's intent at least this sure replaces the running flow."""
    max_failures: int = 2
    max_unintelligible: int = 2
    context_turns: int = 3
    """Earlier caller turns given to the answer generator."""


@dataclass(frozen=True)
class HandoffRequested:
    """Emitted when the assistant decides a person should take over."""

    summary: HandoffSummary


@dataclass(frozen=True)
class TaskCompleted:
    """Emitted when a self-service flow has done its action."""

    flow: str
    slots: dict[str, Any]
    result: dict[str, Any]


DialogueEvent = HandoffRequested | TaskCompleted


@dataclass
class DialogueServices:
    """What every call's dialogue shares: models, knowledge, bank, flows. Thread-safe to
    share; each call gets its own :class:`DialogueManager` from :meth:`conversation`."""

    intents: IntentModel
    retriever: KnowledgeRetriever | None
    bank: BankBackend
    flows: dict[str, FlowSpec]
    answerer: AnswerGenerator = field(default_factory=ExtractiveAnswerer)
    fallback_answerer: AnswerGenerator = field(default_factory=ExtractiveAnswerer)
    config: DialogueConfig = field(default_factory=DialogueConfig)
    today: Callable[[], date] = date.today
    write_prose: Callable[[str, str], str] | None = None

    def __post_init__(self) -> None:
        # The quoting answerer reads meaning with the knowledge base's own embedder.
        if self.retriever is not None:
            for answerer in (self.answerer, self.fallback_answerer):
                if isinstance(answerer, ExtractiveAnswerer) and answerer.embedder is None:
                    answerer.embedder = self.retriever.store.embedder

    def warm_up(self, *, background: bool = True) -> threading.Thread | None:
        """Load what the first caller would otherwise wait for: the intent model's session,
        the knowledge index, the entity list; then (in a background thread unless told
        otherwise) the vectors of the knowledge base's titles and headings that the
        retriever compares questions with, and the sentence vectors the extractive answerer
        uses: a few seconds of work."""
        self.intents.classify(["hello"])
        if self.retriever is None:
            return None
        self.retriever.search("opening hours", None)
        _ = self.retriever.entities
        if not background:
            self._prepare_vectors(background=False)
            return None
        thread = threading.Thread(target=self._prepare_vectors, name="answer-warm-up",
                                  daemon=True)  # fmt: skip
        thread.start()
        return thread

    def _prepare_vectors(self, *, background: bool = True) -> None:
        assert self.retriever is not None
        started = time.monotonic()
        embedder = self.retriever.store.embedder
        if background:
            # One core at the lowest priority: calls arriving meanwhile keep theirs.
            if not hasattr(embedder, "with_threads"):
                return  # a remote embedder: vectors are made as passages are first used
            embedder = embedder.with_threads(1)
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            passages = list(self.retriever.store.passages(self.retriever.collection))
            count = self.retriever.prepare(passages, embedder=embedder)
            if isinstance(self.answerer, ExtractiveAnswerer):
                count += self.answerer.prepare(passages, embedder=embedder)
        except Exception as e:  # a missing collection or a closed store: answers still work
            logger.warning("answer warm-up skipped: %s", e)
            return
        logger.info("answer warm-up: %d vectors in %.1f s", count, time.monotonic() - started)

    def close(self) -> None:
        if self.retriever is not None:
            self.retriever.store.close()
        close = getattr(self.bank, "close", None)
        if close is not None:
            close()

    def conversation(
        self,
        *,
        call_id: str | None = None,
        caller_number: str | None = None,
        on_event: Callable[[DialogueEvent], None] | None = None,
        stream_answers: bool = False,
    ) -> DialogueManager:
        """A new call's dialogue. With ``stream_answers`` (telephony), an LLM's answer comes
        as ``Reply.stream`` so speech starts with its first sentence."""
        from dialogue.manager import DialogueManager  # the manager imports this module

        return DialogueManager(
            self,
            call_id=call_id,
            caller_number=caller_number,
            on_event=on_event,
            stream_answers=stream_answers,
        )


__all__ = [
    "DialogueConfig",
    "DialogueEvent",
    "DialogueServices",
    "HandoffRequested",
    "TaskCompleted",
]
