"""The dialogue manager: one per call, deciding what the assistant says next.

Each caller turn goes through the same short list, first match wins:

1. Speech that was not words: ask again; the second time in a row, hand off.
2. Handoff triggers that must never be missed: a request for a person (any phrasing, or
   keypad 0), frustration, a fraud report or a dispute.
3. A pending clarification ("the card limits or the transfer limits?"): use the answer.
4. A running self-service flow takes the turn, unless the caller cancels, says goodbye,
   clearly starts another task, or asks a side question (answered, then the flow's question
   is asked again).
5. Small talk: goodbye, "say that again", hello, thanks, yes/no to "anything else?".
6. The intent model: a task intent starts its flow.
7. Everything else is a question for the knowledge base, retrieved with the call's context
   and answered only from what was found; nothing relevant -> say so and offer a person.

Two failures in a row (no answer found, a flow answer not understood, a clarification not
resolved) hand the caller to a person. A handoff produces a :class:`HandoffSummary` and
a :class:`HandoffRequested` event; the call goes on (the transfer itself is telephony's).

The manager never raises for what a caller says; it is synchronous and takes a few
milliseconds without an LLM (see ``benchmarks/dialogue_benchmark.py``). Its knowledge-base
half is :mod:`dialogue.answering`; what calls share is :mod:`dialogue.services`; the phrase
rules it routes on are in :mod:`dialogue.understanding`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from dialogue.answering import (
    ANYTHING_ELSE,
    KnowledgeAnswers,
    _branch_of,
    _Clarification,
    _names_option,
)
from dialogue.bank import BRANCHES
from dialogue.engine import FlowRun, Identity, Step
from dialogue.flows import json_value
from dialogue.handoff import HandoffReason, HandoffSummary, build_summary
from dialogue.intents import UNKNOWN_INTENT, IntentPrediction
from dialogue.retrieval import (
    ConversationContext,
)
from dialogue.services import (
    DialogueConfig,
    DialogueEvent,
    DialogueServices,
    HandoffRequested,
    TaskCompleted,
)
from dialogue.slots import extract_name
from dialogue.spoken import to_spoken
from dialogue.types import Action, Reply
from dialogue.understanding import (
    ALERTS,
    ASKS_ABOUT,
    ASKS_TO_DO,
    BARE_DAY,
    FOLLOW_UP,
    HAS_NEED,
    HOW_TO,
    KB_QUESTION,
    ONE_MORE,
    OWN_MONEY,
    PAYS_SOMEONE,
    QUESTION,
    THERE,
    WH_QUESTION,
    Sentiment,
    about_me,
    drops_task,
    is_agent_request,
    is_cancel,
    is_frustrated,
    is_goodbye,
    is_greeting,
    is_hold_on,
    is_repeat_request,
    is_thanks,
    is_unintelligible,
    needs_person,
    normalise,
    sentiment,
    starts_over,
    the_request,
    two_requests,
    yes_or_no,
)

logger = logging.getLogger(__name__)

# Slot values that show a task is meant ("fifty dollars", "next Monday", "City Power");
# account and card types come up in questions too ("when's my credit card payment due").
_TASK_EVIDENCE = frozenset({"amount", "date", "time", "number"})
# A few words saying which thing was meant: "the checks one", "for a check in the app"
_DETAIL = re.compile(
    r"^(?:(?:no|oh|um|uh|sorry|i mean|i meant)\s+)*(?:the|for|to|on|about|with|in|at|my)\b"
    r"(?:\s+\S+){0,5}$"
)
# "and the other one?" after a balance: the caller's other account
_THE_OTHER = re.compile(r"\bthe other (?:one|account)\b")
# "oh okay, and what about my checking?"
_AND_ABOUT = re.compile(
    r"^(?:(?:oh|ok|okay|um|uh|right|alright|great|cool|thanks|thank you|perfect)\s+)*"
    r"(?:and|also|what about|how about|and what about|and how about)\b"
)


class DialogueManager(KnowledgeAnswers):
    """The dialogue state of one call. Methods return the :class:`Reply` to speak."""

    def __init__(
        self,
        services: DialogueServices,
        *,
        call_id: str | None = None,
        caller_number: str | None = None,
        on_event: Callable[[DialogueEvent], None] | None = None,
        stream_answers: bool = False,
    ) -> None:
        self.services = services
        self.stream_answers = stream_answers
        self.config = services.config
        self.call_id = call_id
        self.caller_number = caller_number
        self._on_event = on_event
        self.identity = Identity()
        self.context = ConversationContext()
        self.history: list[tuple[str, str]] = []
        """(speaker, text) in order: "caller", "assistant" or "agent"."""
        self.flow: FlowRun | None = None
        self.handoff: HandoffSummary | None = None
        self.done: list[str] = []
        self._open: list[str] = []
        self._clarifying: _Clarification | None = None
        self._last: Reply | None = None
        self._failures = 0
        self._unintelligible = 0
        self._offered_person = False
        self._offered_task: tuple[str, str] | None = None
        self._asked_anything_else = False
        self._keypad = ""
        self._then: str | None = None
        """The second of two requests in one turn, done when the first task finishes."""
        self._moods: list[Sentiment] = []
        self._quotes: list[str] = []
        self._last_intent: str | None = None
        self._first_intent: str | None = None

    # --- the interface telephony and the CLI use --------------------------------------------

    def greeting(self) -> Reply:
        name = self.config.company_name
        return self._say(
            Reply(
                f"Thanks for calling {name}, this is the virtual assistant. "
                "How can I help you today?",
                action="greeting",
                intent="greeting",
            )
        )

    def on_text(self, text: str) -> Reply:
        """The caller said ``text`` (already transcribed)."""
        text = text.strip()
        self.history.append(("caller", text))
        said = normalise(text)
        self._moods.append(sentiment(said))
        try:
            return self._say(self._turn(text, said))
        except Exception:  # a bug must not leave the caller in silence
            logger.exception("dialogue turn failed for %r", text)
            return self._say(
                Reply(
                    "Sorry, something went wrong on my side. Could you say that again?",
                    action="fallback",
                )
            )

    def on_dtmf(self, digits: str) -> Reply | None:
        """Keypad presses. 0 asks for a person, * repeats; digits feed a PIN request (None
        while more digits are expected)."""
        self.history.append(("caller", f"[keypad {digits}]"))
        stage = self.flow.stage if self.flow is not None else None
        if stage == "verify_code" or (
            # a PIN keyed before the name was said (a lone 0 there still asks for a person)
            stage == "verify_name" and digits != "*" and (digits != "0" or self._keypad)
        ):
            assert self.flow is not None
            self._keypad += "".join(d for d in digits if d.isdigit())
            if "#" not in digits and len(self._keypad) < 4:
                return None
            if stage == "verify_name":  # the PIN before the name: keep it for after
                return self._say(
                    Reply(
                        "Thanks. I need your name first. Please say your first and last name.",
                        action="flow",
                        intent=self.flow.spec.name,
                        meta={"slots": self.flow.slots()},
                    )
                )
            keyed, self._keypad = self._keypad[:4], ""
            return self._say(self._flow_reply(self.flow.handle("", keypad=keyed), "flow"))
        if digits == "0":
            return self._say(self._handoff("agent_request", "[pressed 0]"))
        if digits == "*" and self._last is not None:
            return self._repeat()
        return self._say(
            Reply(
                "Sorry, that key doesn't do anything here. Press 0 to speak to a person, or "
                "just tell me what you need.",
                action="fallback",
                meta={"dtmf": digits},
            )
        )

    def on_keypad_pause(self) -> Reply | None:
        """The caller stopped pressing keys before a PIN was complete. A lone 0 asks for a
        person, as it does anywhere else; a short PIN is asked for again. None when no keys
        are waiting, or when they were keyed before the name (kept for after it)."""
        keyed = self._keypad
        if not keyed or self.flow is None or self.flow.stage != "verify_code":
            return None
        self._keypad = ""
        if keyed == "0":
            return self._say(self._handoff("agent_request", "[pressed 0]"))
        return self._say(
            Reply(
                f"I only got {len(keyed)} of the four digits. Please enter your four-digit "
                "PIN again, or say the last four digits of your card or account number.",
                action="flow",
                intent=self.flow.spec.name,
                meta={"slots": self.flow.slots()},
            )
        )

    def on_idle(self, prompts_so_far: int, max_prompts: int) -> Reply:
        """The caller has been silent; ``prompts_so_far`` prompts were already given."""
        if prompts_so_far >= max_prompts:
            if self.flow is not None and not self.flow.finished:
                self._open.append(f"{self.flow.spec.title} not finished (caller went silent)")
            return Reply(
                "I haven't heard anything, so I'll end the call now. "
                "Please call back any time. Goodbye.",
                action="goodbye",
                intent="silence",
                end_call=True,
            )
        if self.flow is not None and not self.flow.finished:
            return Reply(
                f"Are you still there? {self.flow.ask_again().text}",
                action="flow",
                intent="silence",
            )
        return Reply(
            "Are you still there? How can I help you?", action="fallback", intent="silence"
        )

    def on_agent_text(self, text: str) -> None:
        """A person (an agent) said ``text`` to the caller; it becomes part of the history."""
        self.history.append(("agent", text.strip()))

    def goodbye(self) -> Reply:
        if self.flow is not None and not self.flow.finished:
            self._open.append(f"{self.flow.spec.title} not finished (caller said goodbye)")
            self.flow = None
        return Reply(
            f"Thank you for calling {self.config.company_name}. Goodbye!",
            action="goodbye",
            intent="goodbye",
            end_call=True,
        )

    def call_fields(self) -> dict[str, str | None]:
        """What the call was about (its first task, else "faq" when questions were answered)
        and how the caller felt overall (negative if they were ever frustrated)."""
        moods = self._moods
        if "negative" in moods:
            mood: str | None = "negative"
        elif moods:
            mood = moods[-1]
        else:
            mood = None
        return {"intent": self._first_intent, "sentiment": mood}

    def slots(self) -> dict[str, Any]:
        """The running (or last) flow's slot values, as JSON."""
        return self.flow.slots() if self.flow is not None else {}

    # --- one caller turn ----------------------------------------------------------------------

    def _turn(self, text: str, said: str) -> Reply:
        if is_unintelligible(text):
            self._unintelligible += 1
            if self._unintelligible >= self.config.max_unintelligible:
                self._unintelligible = 0
                return self._handoff("unintelligible", text)
            return Reply(
                "Sorry, I didn't catch that. Could you say it again?",
                action="fallback",
                intent=UNKNOWN_INTENT,
            )
        self._unintelligible = 0

        aside = about_me(said)
        if aside is not None:  # "are you a real person?" asks about us, not for one
            flow = self.flow if self.flow is not None and not self.flow.finished else None
            then = flow.ask_again().text if flow else "What can I help you with?"
            return Reply(
                f"{aside} {then}",
                action="flow" if flow else "fallback",
                intent=flow.spec.name if flow else "faq",
                meta={"slots": flow.slots()} if flow else {},
            )
        if is_agent_request(said) and not (
            self._clarifying and _names_option(said, self._clarifying)
        ):
            return self._handoff("agent_request", text)
        if is_frustrated(said):
            return self._handoff("frustration", text)
        person_for = needs_person(said)
        if person_for is not None:
            return self._handoff(person_for, text)  # type: ignore[arg-type]

        if self._clarifying is not None:
            reply = self._resolve_clarification(text, said)
            if reply is not None:
                return reply

        if self.flow is not None and not self.flow.finished:
            return self._in_flow(text, said)

        if self._offered_person and len(said.split()) <= 4:
            answer = yes_or_no(said)
            if answer is True:
                return self._handoff("agent_request", text)
            if answer is False:
                self._offered_person = False
                self._failures = 0
                return Reply("OK. What else can I help you with?", action="fallback", intent="deny")
        self._offered_person = False
        offered, self._offered_task = self._offered_task, None
        if offered is not None and len(said.split()) <= 5:
            answer = yes_or_no(said)
            if answer is True:  # "yes" to "shall I do that for you now?"
                return self._start_flow(offered[0], offered[1], None)
            if answer is False:
                self._asked_anything_else = True
                return Reply(f"OK. {ANYTHING_ELSE}", action="fallback", intent="deny")
        if is_goodbye(said):
            return self.goodbye()
        if is_repeat_request(said) and self._last is not None:
            return self._repeat()
        if is_greeting(said):
            return Reply("Hello! How can I help you today?", action="fallback", intent="greeting")
        if is_thanks(said):
            self._asked_anything_else = True
            return Reply(f"You're welcome. {ANYTHING_ELSE}", action="answer", intent="affirm")
        if self._asked_anything_else and ONE_MORE.search(said) and len(said.split()) <= 8:
            return Reply("Sure. What can I help you with?", action="fallback", intent="affirm")
        if self._asked_anything_else and len(said.split()) <= 4:
            answer = yes_or_no(said)
            if answer is False:
                return self.goodbye()
            if answer is True:
                return Reply("Sure. What can I help you with?", action="fallback", intent="affirm")

        asked = self.context.topic_question
        if (
            asked
            and self._last is not None
            and self._last.action == "answer"
            and _DETAIL.match(said)
        ):
            # "the checks one" or "for depositing a check in the app" right after an answer:
            # which thing the last question meant, not a new request
            refined = self._refined(_Clarification(asked, ()), text)
            if refined is not None:
                return refined

        prediction = None
        split = two_requests(text)
        if split is not None:
            # "pay the water bill, $62.40, and then tell me what's left in checking"
            first = self._classify(split[0])
            if self._is_task(first) and self._is_task(self._classify(split[1])):
                text, self._then = split
                said = normalise(text)
                prediction = first
        prediction = prediction or self._classify(text)
        intent, confidence = prediction.intent, prediction.confidence
        again = self._same_task_again(said, text, intent, confidence)
        if again is not None:
            # "and what about my checking?" after the savings balance: the same task again
            return self._start_flow(again[0], text, confidence, values=again[1])
        if (
            intent == "transfer_money"
            and PAYS_SOMEONE.search(said)
            and "pay_bill" in self.services.flows
        ):
            intent = "pay_bill"  # paying a company is bill pay; a transfer is between own accounts
        if intent in self.services.flows and not self.services.flows[intent].covers(said):
            # "I need a cashier's check": near ordering checks, but not what that task does
            reply = self._answer(text, "faq", confidence)
            assert reply is not None
            return reply
        if intent in self.services.flows and confidence >= self.config.flow_confidence:
            if self._knowledge_first(text, said, intent):
                # "how do I order checks?" asks how it works: answer it; the caller can then
                # ask for the task itself ("I'd like to order some").
                reply = self._answer(text, intent, confidence, quiet=True)
                if reply is not None:
                    return self._offer_task(reply, intent, text)
            return self._start_flow(intent, text, confidence)
        if intent == "agent_request" and confidence >= self.config.flow_confidence:
            return self._handoff("agent_request", text)
        if intent == "goodbye" and confidence >= 0.9:
            return self.goodbye()
        reply = self._answer(text, intent, confidence)
        assert reply is not None
        return reply

    def _is_task(self, prediction: IntentPrediction) -> bool:
        """Whether the words ask for a task surely enough to start it."""
        return (
            prediction.intent in self.services.flows
            and prediction.confidence >= self.config.flow_confidence
        )

    def _classify(self, text: str) -> IntentPrediction:
        """The intent of what the caller asks for, without an aside, their introduced name
        or digits said unasked around it (see :func:`the_request`)."""
        return self.services.intents.classify([the_request(text, extract_name(text))])[0]

    def _same_task_again(
        self, said: str, text: str, intent: str, confidence: float
    ) -> tuple[str, dict[str, Any]] | None:
        """The task just done, and values to start it with, when a follow-up names another
        of its values ("and what about my checking?" after the savings balance) or "the
        other one" (the caller's other account), and asks for no other task."""
        done = self.flow
        if done is None or not done.finished or not done.result or not _AND_ABOUT.match(said):
            return None
        name = done.spec.name
        other_task = intent in self.services.flows and intent != name
        if other_task and confidence >= self.config.flow_confidence:
            return None
        if done.new_values(text):
            return name, {}
        if _THE_OTHER.search(said):
            return name, self._other_account(done)
        return None

    def _other_account(self, done: FlowRun) -> dict[str, Any]:
        """The account slot set to the caller's one account the finished task did not use
        ("the other one" after the savings balance, for a caller with checking and
        savings); empty when that is not one account, so the task asks which."""
        accounts = [s.name for s in done.spec.slots if s.kind == "account"]
        customer = self.identity.customer
        if len(accounts) != 1 or done.values.get(accounts[0]) is None or customer is None:
            return {}  # a transfer has two accounts: "the other one" is not one of them
        used = {done.values[accounts[0]]}
        others = {a.type for a in self.services.bank.accounts(customer.id)} - used
        return {accounts[0]: others.pop()} if len(others) == 1 else {}

    def _knowledge_first(self, text: str, said: str, intent: str) -> bool:
        """Whether a task intent should first be tried as a question for the knowledge base:
        "how do I order checks?", "can I pay by tapping my card", "what's your SWIFT code",
        "what about Oak Avenue?", branch questions. A request to do it ("I'd like to send a
        hundred dollars to savings", "can you reset my password") is the task, and so is
        "what's my balance": it needs the caller's own account."""
        if intent == "branch_hours" or ALERTS.search(said):
            return True
        if intent == "check_balance":  # "what's the balance on my savings" is the task
            return bool(re.match(r"^how (?:do|can) i\b", said)) or not OWN_MONEY.search(said)
        if intent == "reset_password" and re.search(r"\bpin\b", said) and "password" not in said:
            return True  # a card PIN is not the online-banking password the flow resets
        if HOW_TO.match(said):
            return True
        if ASKS_TO_DO.search(said):
            return False
        if (FOLLOW_UP.match(said) or BARE_DAY.match(said)) and self.context.topic_document:
            # "and what about on Saturday?" after Elm Street's hours asks on: a day named in
            # it is not a booking
            return True
        if self._gives_slot_values(intent, text):
            return False
        return bool(KB_QUESTION.match(said) or ASKS_ABOUT.search(said))

    def _offer_task(self, reply: Reply, intent: str, text: str) -> Reply:
        """After answering "I lost my card, what should I do?", offer to do it now."""
        spec = self.services.flows[intent]
        if (
            reply.action != "answer"
            or spec.action == "knowledge"
            or not spec.verify
            or not HAS_NEED.search(normalise(text))
        ):
            return reply
        self._offered_task = (intent, text)
        self._asked_anything_else = False
        offer = f"I can help with {spec.title} now, if you like. Shall I?"
        return Reply(
            reply.text.replace(ANYTHING_ELSE, offer),
            action=reply.action,
            intent=reply.intent,
            confidence=reply.confidence,
            sources=reply.sources,
            meta=reply.meta,
        )

    def _gives_slot_values(self, intent: str, text: str) -> bool:
        """ "pay City Power fifty dollars" names what the task needs: it is the task."""
        probe = FlowRun(
            self.services.flows[intent],
            bank=self.services.bank,
            identity=Identity(),
            today=self.services.today(),
            choices=self._choices,
        )
        probe.pending = None
        return probe.accepts(text, kinds=_TASK_EVIDENCE)

    # --- flows ----------------------------------------------------------------------------------

    def _start_flow(
        self,
        name: str,
        text: str,
        confidence: float | None,
        values: dict[str, Any] | None = None,
    ) -> Reply:
        """Start task ``name`` asked for in ``text``; ``values`` are slots already known."""
        spec = self.services.flows[name]
        self._keypad = ""
        self.flow = FlowRun(
            spec,
            bank=self.services.bank,
            identity=self.identity,
            today=self.services.today(),
            choices=self._choices,
        )
        self.flow.values.update(values or {})
        self._last_intent = name
        self._first_intent = self._first_intent or name
        self._remember_quote(text)
        named = self.services.retriever.find_entity(text) if self.services.retriever else None
        carried = _branch_of(self.context.entity) if self.context.entity else None
        if any(s.name == "branch" for s in spec.slots) and named is None and carried:
            # "book an appointment there" after a question about the Harbor Road branch
            if spec.action == "knowledge" or THERE.search(normalise(text)):
                self.flow.values["branch"] = carried
        step = self.flow.start(text)
        return self._flow_reply(step, "flow", intent=name, confidence=confidence, text=text)

    def _in_flow(self, text: str, said: str) -> Reply:
        flow = self.flow
        assert flow is not None
        if is_cancel(said):
            step = flow.cancel()
            self.flow = None
            self._asked_anything_else = True
            return Reply(
                f"{step.text} {ANYTHING_ELSE}",
                action="flow",
                intent=flow.spec.name,
                meta={"slots": flow.slots()},
            )
        if is_goodbye(said) and flow.stage not in ("confirm",):
            return self.goodbye()
        if starts_over(said):  # the same task from its first question; who they are is kept
            again = self._start_flow(flow.spec.name, "", None)
            return replace(again, text=f"OK, let's start again. {again.text}")
        if is_repeat_request(said):
            return self._flow_reply(flow.ask_again(), "flow")
        accepted = flow.accepts(text)
        if not accepted and is_hold_on(said):
            return self._flow_reply(Step("Sure, take your time.", "ask"), "flow")

        if not accepted or len(said.split()) > 6:
            prediction = self._classify(text)
            other = prediction.intent
            dropped = drops_task(said)  # "forget the balance, my card's gone": surer to switch
            if (
                other in self.services.flows
                and other != flow.spec.name
                and prediction.confidence
                >= (self.config.flow_confidence if dropped else self.config.switch_confidence)
                # a question a knowledge-only task answers ("is there parking at Elm
                # Street?" while booking) is a side question: the running task goes on
                and not (self.services.flows[other].action == "knowledge" and QUESTION.match(said))
                # an answer that also names another task goes there only with its details
                # ("scratch that, what I need is to pay City Power sixty dollars")
                and (not accepted or dropped or self._gives_slot_values(other, text))
            ):
                self._open.append(f"{flow.spec.title} not finished (caller moved on)")
                return self._start_flow(other, text, prediction.confidence)
        # "hang on, where exactly is the Harbor Road branch?": a question need not open the turn
        asks = QUESTION.match(said) or (
            len(said.split()) >= 6 and (ASKS_ABOUT.search(said) or WH_QUESTION.search(said))
        )
        if not accepted and asks:
            side = self._side_question(text, said)
            if side is not None:
                return side
        step = flow.handle(text)
        if flow.stage == "verify_code" and len(self._keypad) >= 4:
            keyed, self._keypad = self._keypad[:4], ""  # keyed while we asked for the name
            step = flow.handle("", keypad=keyed)
        return self._flow_reply(step, "flow")

    def _flow_reply(
        self,
        step: Step,
        action: Action,
        *,
        intent: str | None = None,
        confidence: float | None = None,
        text: str | None = None,
    ) -> Reply:
        flow = self.flow
        assert flow is not None
        intent = intent or flow.spec.name
        meta = {"slots": flow.slots(), "flow": flow.spec.name, "stage": flow.stage}
        if step.status == "retry":
            self._failures += 1
            if self._failures >= self.config.max_failures:
                self._open.append(f"{flow.spec.title}: answer not understood")
                self.flow = None
                return self._handoff("repeated_failures", text or self._last_caller())
        else:
            self._failures = 0
        if step.status == "failed":
            self.flow = None
            if step.reason == "backend_error":
                self._open.append(f"{flow.spec.title}: the bank could not complete it")
                return self._handoff("backend_error", text or self._last_caller(), prefix=step.text)
            self._open.append(f"{flow.spec.title}: caller not verified")
            return self._handoff(
                "verification_failed", text or self._last_caller(), prefix=step.text
            )
        if step.status == "knowledge":
            return self._knowledge_flow(step, intent, confidence, meta)
        if step.status in ("done", "cancelled"):
            if step.status == "done":
                self.done.append(_describe_done(flow))
                self._emit(TaskCompleted(flow.spec.name, flow.slots(), _jsonable(step.result)))
            if self._then is not None:  # the second request of the turn that started this one
                then, self._then = self._then, None
                return _after(step.text, self._turn(then, normalise(then)))
            self._asked_anything_else = True
            return Reply(
                f"{step.text} {ANYTHING_ELSE}",
                action="flow",
                intent=intent,
                confidence=confidence,
                meta=meta,
            )
        return Reply(step.text, action="flow", intent=intent, confidence=confidence, meta=meta)

    def _choices(self, name: str, customer_id: str | None) -> list[str]:
        if name == "branches":
            return list(BRANCHES)
        if name == "payees" and customer_id:
            return self.services.bank.payees(customer_id)
        return []

    # --- handoff --------------------------------------------------------------------------------

    def _handoff(self, reason: HandoffReason, text: str, prefix: str = "") -> Reply:
        self._then = None  # a person takes over the rest of the call
        self._remember_quote(text)
        flow = self.flow
        if flow is not None and not flow.finished:
            self._open.append(f"{flow.spec.title} not finished")
        customer = self.identity.customer
        summary = build_summary(
            reason=reason,
            caller_name=customer.name if customer else self.identity.heard_name,
            verified=customer is not None,
            customer_id=customer.id if customer else None,
            intent=(flow.spec.name if flow else None) or self._last_intent,
            slots=flow.slots() if flow else {},
            done=list(self.done),
            open_items=list(dict.fromkeys(self._open)),
            sentiment=self._mood(),
            key_quotes=list(self._quotes[-3:]),
            call_id=self.call_id,
            caller_number=self.caller_number,
            write_prose=self.services.write_prose,
        )
        self.handoff = summary
        self.flow = None
        self._clarifying = None
        self._failures = 0
        self._offered_person = False
        self._emit(HandoffRequested(summary))
        lead = {
            "fraud": "I'm sorry to hear that. That needs one of our fraud specialists.",
            "dispute": "I understand. Disputes are handled by our team.",
            "frustration": "I'm sorry this has been frustrating.",
            "unintelligible": "I'm having trouble hearing you.",
            "repeated_failures": "I'm sorry I couldn't help with that.",
        }.get(reason, "")
        said = " ".join(
            p
            for p in (
                prefix,
                lead,
                "I'll connect you with one of my colleagues now. I've passed on what we've "
                "discussed, so you won't need to repeat yourself. Please stay on the line.",
            )
            if p
        )
        intent, confidence = "agent_request", None
        if reason != "agent_request" and text and not text.startswith("["):
            prediction = self._classify(text)
            intent, confidence = prediction.intent, prediction.confidence
        return Reply(
            said,
            action="handoff",
            intent=intent,
            confidence=confidence,
            meta={"handoff": summary.to_dict(), "reason": reason},
        )

    def _mood(self) -> Sentiment:
        recent = self._moods[-3:]
        if "negative" in recent:
            return "negative"
        return recent[-1] if recent else "neutral"

    def _remember_quote(self, text: str) -> None:
        if text and not text.startswith("[") and text not in self._quotes:
            self._quotes.append(text)

    def _emit(self, event: DialogueEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not break the call
            logger.exception("dialogue event listener failed")

    # --- small helpers ----------------------------------------------------------------------------

    def _say(self, reply: Reply) -> Reply:
        if reply.stream is not None:
            return reply  # the stream records itself when it has been spoken
        text = to_spoken(reply.text)
        if "slots" not in reply.meta and self.flow is not None:
            reply.meta["slots"] = self.flow.slots()
        reply = Reply(
            text,
            action=reply.action,
            intent=reply.intent,
            end_call=reply.end_call,
            sources=reply.sources,
            confidence=reply.confidence,
            meta=reply.meta,
        )
        self.history.append(("assistant", reply.text))
        self._last = reply
        if reply.action not in ("answer", "flow"):
            self._asked_anything_else = False
        return reply

    def _repeat(self) -> Reply:
        assert self._last is not None
        last = self._last
        return self._say(
            Reply(
                last.text,
                action=last.action,
                intent="repeat",
                sources=last.sources,
                meta=dict(last.meta),
            )
        )

    def _last_caller(self) -> str:
        return next((t for s, t in reversed(self.history) if s == "caller"), "")


def _after(said: str, reply: Reply) -> Reply:
    """``reply`` with ``said`` spoken first (streamed too, when the reply is streamed)."""
    if reply.stream is None:
        return replace(reply, text=f"{said} {reply.text}")

    def sentences() -> Iterator[str]:
        yield said
        yield from reply.stream or ()

    return replace(reply, stream=sentences())


def _describe_done(flow: FlowRun) -> str:
    details = ", ".join(f"{k} {v}" for k, v in flow.slots().items())
    reference = flow.result.get("reference")
    text = f"{flow.spec.title} ({details})" if details else flow.spec.title
    return f"{text}, reference {reference.replace(' ', '')}" if reference else text


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in values.items()}


__all__ = [
    "ANYTHING_ELSE",
    "DialogueConfig",
    "DialogueEvent",
    "DialogueManager",
    "DialogueServices",
    "HandoffRequested",
    "TaskCompleted",
]
