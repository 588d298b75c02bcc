"""Answers from the knowledge base, for the dialogue manager.

:class:`KnowledgeAnswers` holds the manager's behaviour around questions: retrieve with the
call's context, ask which one when the best pages are about different things (and use the
answer), word the answer with the configured generator (streamed into speech when it is an
LLM), say so and offer a person when nothing relevant was found, and answer a side question
in the middle of a task. It is a mixin: the state it reads and writes (history, context,
failure count, the pending clarification) belongs to :class:`~dialogue.manager.DialogueManager`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

from dialogue.answers import Answer, ExtractiveAnswerer, split_sentences, tokens
from dialogue.bank import BRANCHES
from dialogue.engine import Step
from dialogue.flows import match_choice, say_list
from dialogue.intents import UNKNOWN_INTENT
from dialogue.retrieval import Option, Retrieval, points_at_nothing, topic_label
from dialogue.spoken import to_spoken
from dialogue.types import Reply
from dialogue.understanding import ASKS_TO_DO, QUESTION, is_repeat_request, normalise, yes_or_no

logger = logging.getLogger(__name__)

ANYTHING_ELSE = "Is there anything else I can help you with?"
_ABOUT_HOURS = re.compile(r"\b(?:open|opens|opening|close|closes|closing|closed|hours)\b", re.I)
_RELATIVE_DAY = re.compile(r"\b(?:today|tonight|tomorrow)\b", re.I)


@dataclass(frozen=True)
class _Clarification:
    question: str
    options: tuple[Option, ...]


def _names_option(said: str, pending: _Clarification) -> bool:
    return match_choice(said, [o.label for o in pending.options], pending=True) is not None


def _branch_of(entity: str) -> str | None:
    return next((b for b in BRANCHES if entity.lower().startswith(b.lower())), None)


class KnowledgeAnswers:
    """The knowledge-base half of :class:`~dialogue.manager.DialogueManager`."""

    def _side_question(self, text: str, said: str) -> Reply | None:
        """A knowledge question asked in the middle of a flow: answer it, then ask again."""
        retriever = self.services.retriever
        if retriever is None:
            return None
        found = retriever.retrieve(text, self.context)
        if not found.relevant:
            return None
        answer = self._generate(found.query, found, text)  # a follow-up carries its topic
        if answer is None:
            return None
        assert self.flow is not None
        again = self.flow.ask_again().text
        return Reply(
            f"{answer.text} {again}",
            action="answer",
            intent="faq",
            sources=answer.sources,
            meta={"slots": self.flow.slots()},
        )

    def _knowledge_flow(
        self, step: Step, intent: str, confidence: float | None, meta: dict
    ) -> Reply:
        retriever = self.services.retriever
        assert step.query is not None
        question = self._on_weekdays(self._last_caller())
        if retriever is None:
            return self._no_answer(intent, confidence)
        if step.entity:
            self.context.entity = step.entity
        passages = retriever.search(f"{step.query} {question}", step.entity)
        found = Retrieval(step.query, passages, step.entity)
        answer = self._generate(question, found) if passages else None
        if answer is None:
            return self._no_answer(intent, confidence)
        self._note_topic(question, found, answer.sources)
        self._asked_anything_else = True
        return Reply(
            f"{answer.text} {ANYTHING_ELSE}",
            action="answer",
            intent=intent,
            confidence=confidence,
            sources=answer.sources,
            meta=meta,
        )

    def _answer(
        self, text: str, intent: str, confidence: float, *, quiet: bool = False
    ) -> Reply | None:
        """A grounded answer, a clarifying question, or "I don't know" (None instead when
        ``quiet``: the caller has something else to try)."""
        retriever = self.services.retriever
        if retriever is None:
            return None if quiet else self._no_answer(intent, confidence)
        if self._about_nothing_yet(text):
            # "how do I turn it on?" as the call's first question: what is "it"?
            self._clarifying = _Clarification(text, ())
            return Reply(
                "Sure. What is it you're asking about?",
                action="clarify",
                intent="faq",
                confidence=confidence,
                meta={"options": []},
            )
        text = self._on_weekdays(text)
        found = retriever.retrieve(text, self.context)
        if not found.relevant:
            return None if quiet else self._no_answer(intent, confidence)
        if found.entity:
            self.context.entity = found.entity
        if len(found.options) >= 2:
            self._clarifying = _Clarification(text, found.options)
            labels = say_list([o.label for o in found.options])
            return Reply(
                f"Just to check, do you mean {labels}?",
                action="clarify",
                intent="faq",
                confidence=confidence,
                meta={"options": [o.label for o in found.options]},
            )
        if self.stream_answers and not isinstance(self.services.answerer, ExtractiveAnswerer):
            return self._streamed(text, found, intent, confidence)
        answer = self._generate(found.query, found, text)  # a follow-up carries its topic
        if (
            answer is not None
            and len(found.passages) > 1
            and self._said_before(answer.text)
            and not set(tokens(text)) & set(tokens(answer.text))
        ):
            # "and how do I avoid it?" must not get the last answer again: try the next page
            found = replace(found, passages=found.passages[1:])
            answer = self._generate(found.query, found, text) or answer
        if answer is None:
            return None if quiet else self._no_answer(intent, confidence)
        self._failures = 0
        self._last_intent = "faq"
        self._first_intent = self._first_intent or "faq"
        self._note_topic(text, found, answer.sources)
        self._asked_anything_else = True
        branch = _branch_of(found.entity) if found.entity else None
        return Reply(
            f"{answer.text} {ANYTHING_ELSE}",
            action="answer",
            intent="faq" if intent in (UNKNOWN_INTENT, "out_of_scope") else intent,
            confidence=confidence,
            sources=answer.sources,
            meta={"slots": {"branch": branch}} if intent == "branch_hours" and branch else {},
        )

    def _about_nothing_yet(self, text: str) -> bool:
        """A question about "it" with nothing before it for "it" to be: no topic, no task,
        no branch named, and not about opening hours ("when does it close?" is the bank).
        Asked once: a caller who says "is it free?" again gets the best answer there is."""
        assert self.services.retriever is not None
        return (
            self.context.topic_document is None
            and (self._last is None or self._last.action != "clarify")
            and self.flow is None
            and not self.done
            and points_at_nothing(text)
            and not _ABOUT_HOURS.search(text)
            and self.services.retriever.find_entity(text) is None
        )

    def _resolve_clarification(self, text: str, said: str) -> Reply | None:
        pending = self._clarifying
        assert pending is not None
        self._clarifying = None
        labels = [o.label for o in pending.options]
        if is_repeat_request(said):
            self._clarifying = pending
            return Reply(f"Do you mean {say_list(labels)}?", action="clarify", intent="repeat")
        if len(said.split()) > 5 and QUESTION.match(said):
            return None  # a new question, not a choice
        chosen = match_choice(said, labels, pending=True)
        if chosen is None and self.services.retriever is not None:
            entity = self.services.retriever.find_entity(text)
            chosen = next((o.label for o in pending.options if entity and o.entity == entity), None)
        describes = chosen is None or len(set(tokens(text)) - set(tokens(chosen))) >= 2
        if describes and not QUESTION.match(said) and not ASKS_TO_DO.search(said):
            # "it's a bill pay one for my electric bill" to "do you mean stopping a check
            # or a Northwind Pay payment?": no option (a word of one is not a choice), but
            # it says what the question was about
            refined = self._refined(pending, text)
            if refined is not None:
                return refined
        if not labels:
            return None  # "what is it you're asking about?" had no options: a new request
        if chosen is None:
            prediction = self._classify(text)
            if len(said.split()) > 4 or prediction.intent in self.services.flows:
                return None  # a new request: handle it as one
            self._failures += 1
            if self._failures >= self.config.max_failures:
                self._open.append(f"the question {pending.question!r} (clarification unresolved)")
                return self._handoff("repeated_failures", text)
            self._clarifying = pending
            return Reply(f"Sorry, which one: {say_list(labels)}?", action="clarify", intent="faq")
        return self._chosen(pending, next(o for o in pending.options if o.label == chosen))

    def _chosen(self, pending: _Clarification, option: Option) -> Reply:
        """The answer to the question that was clarified, about the option chosen."""
        assert self.services.retriever is not None
        found = self.services.retriever.retrieve_option(pending.question, option)
        if option.entity:
            self.context.entity = option.entity
        answer = self._generate(pending.question, found) if found.relevant else None
        return self._clarified(pending.question, found, answer) or self._no_answer("faq", None)

    def _on_weekdays(self, text: str) -> str:
        """ "when does Oak Avenue close today?" asked on a Friday is about Friday: the
        knowledge base lists opening hours by weekday, not by "today"."""
        if not _ABOUT_HOURS.search(text):
            return text
        today = self.services.today()

        def weekday(m: re.Match[str]) -> str:
            later = 1 if m.group(0).lower() == "tomorrow" else 0
            return (today + timedelta(days=later)).strftime("%A")

        return _RELATIVE_DAY.sub(weekday, text)

    def _refined(self, pending: _Clarification, detail: str) -> Reply | None:
        """The answer to the question made specific by ``detail`` (said in reply to a
        clarifying question), or None when that finds nothing."""
        retriever = self.services.retriever
        if retriever is None or yes_or_no(normalise(detail)) is not None:
            return None
        found = retriever.retrieve(f"{pending.question} {detail}", self.context)
        best = found.passages[0] if found.relevant else None
        if best is None or not set(tokens(detail)) & set(
            tokens(" ".join([best.title, *best.heading_path, best.text]))
        ):
            return None  # "um, whatever" says nothing the knowledge base knows
        option = next((o for o in pending.options if o.document_id == best.document_id), None)
        if option is not None:  # one of the options after all
            return self._chosen(pending, option)
        answer = self._generate(pending.question, found, found.query, topic=detail)
        return self._clarified(found.query, found, answer)

    def _clarified(self, question: str, found: Retrieval, answer: Answer | None) -> Reply | None:
        if answer is None:
            return None
        self._failures = 0
        self._note_topic(question, found, answer.sources)
        self._asked_anything_else = True
        return Reply(
            f"{answer.text} {ANYTHING_ELSE}", action="answer", intent="faq", sources=answer.sources
        )

    def _streamed(
        self, text: str, found: Retrieval, intent: str, confidence: float | None
    ) -> Reply:
        """An LLM's answer as it is written: the reply's sentences come from a generator the
        speech stage drives. What was said is recorded when the generator finishes."""
        question = found.query  # for the quoting fallback; the model gets the caller's words
        context = [t for s, t in self.history[:-1] if s == "caller"][-self.config.context_turns :]
        sources = tuple(dict.fromkeys(p.document_id for p in found.passages[:3]))
        reply_intent = "faq" if intent in (UNKNOWN_INTENT, "out_of_scope") else intent

        def sentences() -> Iterator[str]:
            said: list[str] = []
            try:
                for sentence in self.services.answerer.stream(
                    text, found.passages, context=context
                ):
                    said.append(to_spoken(sentence))
                    yield said[-1]
            except Exception as e:  # the endpoint failed: quote the passage if nothing was said
                logger.warning("streamed answer failed: %s", e)
                if not said:
                    fallback = self.services.fallback_answerer.answer(
                        question, found.passages, context=context
                    )
                    for sentence in split_sentences(fallback.text) if fallback else []:
                        said.append(sentence)
                        yield sentence
            if said:
                self._failures = 0
                self._note_topic(text, found, sources)
                self._asked_anything_else = True
                closing = ANYTHING_ELSE
            else:
                closing = self._no_answer(intent, confidence).text
            said.append(closing)
            yield closing
            spoken = " ".join(said)
            self.history.append(("assistant", spoken))
            self._last = Reply(spoken, action="answer", intent=reply_intent, sources=sources)

        return Reply(
            "",
            action="answer",
            intent=reply_intent,
            confidence=confidence,
            sources=sources,
            stream=sentences(),
        )

    def _said_before(self, text: str) -> bool:
        said = to_spoken(text)
        return any(s == "assistant" and t.startswith(said) for s, t in self.history[-4:])

    def _generate(
        self, question: str, found: Retrieval, said: str | None = None, topic: str | None = None
    ):
        """The answer to ``question`` (the search query, which for a follow-up names its
        topic: "Elm Street branch: and on Saturday?"). A language model is given what the
        caller ``said`` instead, with their earlier turns as context; the quoting answerer,
        which matches words, keeps the query. ``topic`` says what the question is about
        without being what it asks ("the overdraft protection thing" for "how do I turn it
        on?"): it joins the context, whose words count less in picking a sentence."""
        context = [t for s, t in self.history[:-1] if s == "caller"][-self.config.context_turns :]
        if topic:
            context.append(topic)
        answerer = self.services.answerer
        asked = question if isinstance(answerer, ExtractiveAnswerer) else (said or question)
        try:
            answer = answerer.answer(asked, found.passages, context=context)
        except Exception as e:  # an LLM endpoint down: quote the passage instead
            logger.warning("answer generator failed, using extractive: %s", e)
            answer = self.services.fallback_answerer.answer(
                question, found.passages, context=context
            )
        return _naming_the_place(answer, found)

    def _note_topic(self, question: str, found: Retrieval, sources: tuple[str, ...]) -> None:
        """Remember what was answered, so a follow-up can lean on it."""
        self.context.topic_question = question
        self.context.topic_document = sources[0] if sources else None
        best = next((p for p in found.passages if sources and p.document_id == sources[0]), None)
        if best is not None:
            self.context.entity = best.entity  # a question on another subject drops the branch
            self.context.topic_label = topic_label(best)
        self.context.caller_turns.append(question)
        self.done.append(f"answered {question!r} from {', '.join(sources)}")

    def _no_answer(self, intent: str, confidence: float | None) -> Reply:
        self._failures += 1
        if self._failures >= self.config.max_failures:
            self._open.append(f"the question {self._last_caller()!r} (no answer found)")
            return self._handoff("repeated_failures", self._last_caller())
        self._offered_person = True
        if intent == "out_of_scope":
            text = (
                "I'm sorry, I can't help with that. I can help with your accounts, cards, "
                f"payments and questions about {self.config.company_name}. "
                "Would you like to speak to a person?"
            )
        else:
            text = (
                "I'm sorry, I don't have information about that. "
                "Would you like me to put you through to a colleague?"
            )
        return Reply(text, action="fallback", intent=intent, confidence=confidence)


__all__ = ["ANYTHING_ELSE", "KnowledgeAnswers"]


def _naming_the_place(answer: Answer | None, found: Retrieval) -> Answer | None:
    """An answer quoted from one branch's page, to a question that named no branch, says
    which branch: "There are two cash machines at the front of the branch" alone does not
    tell the caller where ("do any of your branches have a drive-up ATM?")."""
    if answer is None or found.entity is not None or not answer.sources:
        return answer
    page = next((p for p in found.passages if p.document_id == answer.sources[0]), None)
    entity = page.entity if page is not None else None
    if not entity or _place_name(entity).lower() in answer.text.lower():
        return answer
    return replace(answer, text=f"At the {entity}: {answer.text}")


def _place_name(entity: str) -> str:
    """ "Harbor Road" of "Harbor Road branch"."""
    return entity.rsplit(" ", 1)[0] if " " in entity else entity
