"""Runs one self-service flow, turn by turn: verify, collect slots, confirm, act.

One engine for every flow: the flow's YAML says what to ask and what to do; this module
decides what to say next from what the caller said. The rules:

* Verification comes first for flows that need it (name, then the last four digits of a
  card or account, or a PIN on the keypad). It is asked once per call: the caller's
  :class:`Identity` is shared by every flow of the call. Two failures end the flow.
* Every turn is read for every slot of the flow, so "send a hundred dollars from checking
  to savings" fills three slots at once, and "actually make it two hundred" changes one.
* Anything that moves money or blocks a card is read back and needs a yes. "No, savings"
  at that point is a correction: the value changes and the summary is read again. A plain
  "no" asks what to change.
* A bank refusal ("that's more than your balance") is said as the bank put it, and the
  caller is asked again for the slot it concerns.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from dialogue.actions import ACCOUNT_NAMES, ACTIONS, describe, preview, slot_to_reask
from dialogue.bank import BankBackend, BankError, Customer, VerificationFailed
from dialogue.flows import (
    FlowSpec,
    SlotSpec,
    extract_slot,
    json_value,
    say_date,
    say_list,
    say_time,
)
from dialogue.slots import (
    NOT_NAMES,
    TITLES,
    corrected_part,
    extract_digits,
    extract_name,
    is_correction,
)
from dialogue.understanding import QUESTION, WH_QUESTION, normalise, the_request, yes_or_no

logger = logging.getLogger(__name__)

Status = Literal["ask", "retry", "confirm", "done", "knowledge", "failed", "cancelled"]
Stage = Literal["verify_name", "verify_code", "collect", "confirm", "finished"]

MAX_VERIFY_FAILURES = 2
_NAME_ONLY = re.compile(r"^[A-Za-z][A-Za-z'\-]+(?: [A-Za-z][A-Za-z'\-]+){0,2}$")
_NOT_A_NAME = frozenset(
    "yes yeah no nope okay ok sure hello hi thanks thank you sorry what why pardon".split()
)
_THAT_ONE = re.compile(r"\b(?:that|this|the) one\b")
# "Which ones have I got?" when asked for an account or a payee.
_ASKS_OPTIONS = re.compile(
    r"\b(?:which|what)(?: \w+)? (?:ones?|accounts?|payees?|bills?|options|choices)"
    r"(?: (?:have i got|do i have|are (?:there|set up)|have you got))?\b"
    r"|\b(?:which|what) (?:have i got|do i have|have you got)\b"
)
# "The last four of what?" when asked for verification digits.
_ASKS_WHICH_DIGITS = re.compile(
    r"\b(?:of what|which (?:one|card|account|number|digits)|what (?:do you need|digits|number))\b"
)
# Where the caller starts saying verification digits unasked.
_SAYS_DIGITS = re.compile(r"\b(?:last (?:four|4)|pin|ending in|ends in)\b", re.IGNORECASE)
# What callers say around their name when asked for it.
_NAME_BEFORE = re.compile(
    r"^(?:(?:ok|okay|uh|um|er|erm|hmm|oh|ah|oops|whoops|yeah|yes|yep|sure|hi|hello|hey|well"
    r"|so|sorry|right|alright|fine|it's|it is|this is|that's|that is|that would be|that'd be"
    r"|i am|i'm)"
    r"\b\s*)+"
    r"(?=\w)(?!(?:my name|name's|the name|call me)\b)",
    re.IGNORECASE,
)
_NAME_AFTER = re.compile(
    r"(?:\s+(?:here|speaking|calling|please|thanks|thank you|that's me|that is me|it is"
    r"|is my (?:full )?name|is the name|by the way|again))+$",
    re.IGNORECASE,
)
# Words that name a slot when the caller says what to change ("the amount").
_SLOT_WORDS = {
    "amount": ("amount", "how much", "sum", "money"),
    "from_account": ("from", "source", "coming out of", "comes out of", "taken from"),
    "to_account": (
        "to account",
        "destination",
        "where it goes",
        "going into",
        "going to",
        "goes into",
        "goes to",
        "receiving",
    ),
    "account": ("account",),
    "payee": ("payee", "who", "bill", "company"),
    "date": ("date", "day", "when"),
    "time": ("time", "hour"),
    "branch": ("branch", "location"),
    "card_type": ("card",),
    "reason": ("reason",),
    "quantity": ("quantity", "how many", "number of"),
}


@dataclass
class Identity:
    """Who the caller is, shared by all the flows of one call."""

    customer: Customer | None = None
    heard_name: str | None = None
    failures: int = 0

    @property
    def verified(self) -> bool:
        return self.customer is not None


@dataclass(frozen=True)
class Step:
    """What a flow says next. ``status``: ask/retry (a question; retry means the last answer
    was not understood), confirm, done, knowledge (the manager answers ``query`` from the
    knowledge base), failed (the task cannot go on: ``reason``), cancelled."""

    text: str
    status: Status
    reason: str | None = None
    query: str | None = None
    entity: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class _Template(dict):
    def __missing__(self, key: str) -> str:
        logger.warning("flow template names {%s}, which has no value", key)
        return ""


def fill(template: str, values: dict[str, Any]) -> str:
    return " ".join(string.Formatter().vformat(template, (), _Template(values)).split())


class FlowRun:
    """One run of one flow for one caller.

    Args:
        spec: the flow.
        bank: the backend its action calls.
        identity: the call's caller identity (verification is shared across flows).
        today: "today" for dates said without a year, and for defaults.
        choices: the lists dynamic ``choices`` name ("payees", "branches"), given the
            customer id (None before verification).
    """

    def __init__(
        self,
        spec: FlowSpec,
        *,
        bank: BankBackend,
        identity: Identity,
        today: date,
        choices: Callable[[str, str | None], list[str]],
    ) -> None:
        self.spec = spec
        self.bank = bank
        self.identity = identity
        self.today = today
        self._choices = choices
        self.values: dict[str, Any] = {}
        self.stage: Stage = "collect"
        self.pending: str | None = None
        self.retries = 0
        self.result: dict[str, Any] = {}
        self._out_of_range: set[str] = set()  # "six books" said: asked again, not defaulted
        self._opening = ""
        self._key = secrets.token_hex(8)
        self._several_accounts = sum(s.kind == "account" for s in spec.slots) > 1

    # --- public ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.stage == "finished"

    def slots(self) -> dict[str, Any]:
        """The values so far, as JSON."""
        return {name: json_value(value) for name, value in self.values.items()}

    def start(self, text: str) -> Step:
        """The caller asked for this task in ``text`` (which may already hold slot values)."""
        # the values asked for, not the name, digits or dropped task around them ("the last
        # four on my checking are 1100 and I wanted what's in my savings" is savings)
        self._opening = the_request(text, extract_name(text))
        self._absorb(self._opening, pending=None)
        if self.spec.verify and not self.identity.verified:
            # "this is John Smith, the last four of my checking are 1100, what's in savings";
            # or the name was said for a task dropped for this one, now with the digits
            name = self.identity.heard_name or extract_name(text)
            if name is not None:
                self.identity.heard_name = name
                said_digits = _SAYS_DIGITS.search(text)
                digits = extract_digits(text[said_digits.end() :], 4) if said_digits else None
                if digits is not None:
                    self.stage = "verify_code"
                    return self._check(name, digits, keyed=False)
        return self._next()

    def handle(self, text: str, *, keypad: str | None = None) -> Step:
        """The caller said ``text`` (or pressed ``keypad`` digits) while this flow runs."""
        if self.stage in ("verify_name", "verify_code"):
            return self._verify(text, keypad)
        if self.stage == "confirm":
            return self._confirm(text)
        if self.stage == "collect":
            return self._collect(text)
        return Step("", "done")

    def accepts(self, text: str, kinds: frozenset[str] | None = None) -> bool:
        """Whether ``text`` looks like an answer to the flow's current question (a name, four
        digits, a slot value, a yes or no), without changing anything."""
        if self.stage == "verify_name":
            return _name_in(text) is not None
        if self.stage == "verify_code":
            return extract_digits(text, 4) is not None or bool(
                _ASKS_WHICH_DIGITS.search(normalise(text))
            )
        if self.stage == "collect" and self._options_asked(text):
            return True
        if self.stage == "confirm":
            said = normalise(text)
            answer = yes_or_no(said)
            # a question with a number in it ("can I send more than five thousand?") is not
            # a new value unless it says so ("can we do thirty five hundred instead")
            if answer is not None or (is_correction(text) and self._correction(text, said, answer)):
                return True
        if (
            kinds is None
            and self.stage == "collect"
            and self.pending is None
            and _named_slot(normalise(text), self.spec)
        ):
            return True
        for slot in self.spec.slots:
            if slot.kind == "text" and slot.name != self.pending:
                continue
            if kinds is not None and slot.kind not in kinds:
                continue
            value = self._read(slot, text, pending=self.pending)
            if value is not None and slot.kind != "text" and self.values.get(slot.name) != value:
                return True
        return False

    def cancel(self) -> Step:
        self.stage = "finished"
        return Step(f"OK, I've stopped {self.spec.title}. Nothing was changed.", "cancelled")

    def ask_again(self) -> Step:
        """The current question again (after an interruption or "say that again")."""
        if self.stage == "verify_name":
            return Step(self._ask_name(), "ask")
        if self.stage == "verify_code":
            return Step(self._ask_code(), "ask")
        if self.stage == "confirm":
            return Step(self._confirm_text(), "confirm")
        if self.pending:
            return Step(self._prompt(self.spec.slot(self.pending), retry=False), "ask")
        return self._next()

    # --- verification ---------------------------------------------------------------------

    def _ask_name(self) -> str:
        return (
            "Before I can help with that, I need to confirm who I'm speaking with. "
            "What's your full name?"
        )

    @staticmethod
    def _ask_code() -> str:
        return (
            "Thanks. Now please say the last four digits of your card or account number, "
            "or enter your four-digit PIN on your keypad."
        )

    def _verify(self, text: str, keypad: str | None) -> Step:
        if self.stage == "verify_name":
            name = _name_in(text)
            if name is None:
                self._absorb(text, pending=None)  # "it's the savings I'm after" is kept
                self.retries += 1
                return Step(
                    "Sorry, I didn't get your name. Please say your first and last name.", "retry"
                )
            self.identity.heard_name = name
            self.retries = 0
            digits = extract_digits(text, 4)
            if digits is None:
                self.stage = "verify_code"
                return Step(self._ask_code(), "ask")
            return self._check(name, digits, keyed=False)
        digits = keypad if keypad else extract_digits(text, 4)
        if digits is None and _ASKS_WHICH_DIGITS.search(normalise(text)):
            return Step(
                "Any one of them: the last four digits of your checking or savings account "
                "number, or of your debit or credit card. Or enter your four-digit PIN on "
                "your keypad.",
                "ask",
            )
        if digits is None or len(digits) != 4:
            self.retries += 1
            return Step(
                "Sorry, I need four digits. You can say them one at a time, or use your keypad.",
                "retry",
            )
        assert self.identity.heard_name is not None
        return self._check(self.identity.heard_name, digits, keyed=keypad is not None)

    def _check(self, name: str, digits: str, *, keyed: bool) -> Step:
        try:
            customer = (
                self.bank.find_customer(name, pin=digits) if keyed else None
            ) or self.bank.find_customer(name, last4=digits)
            if customer is None and not keyed:
                customer = self.bank.find_customer(name, pin=digits)
        except BankError as e:
            self.stage = "finished"
            return Step(str(e), "failed", reason="backend_error")
        if customer is None:
            self.identity.failures += 1
            self.identity.heard_name = None
            if self.identity.failures >= MAX_VERIFY_FAILURES:
                self.stage = "finished"
                return Step(
                    "I'm sorry, I couldn't verify those details.",
                    "failed",
                    reason="verification_failed",
                )
            self.stage = "verify_name"
            return Step(
                "Sorry, those details don't match our records. Let's try once more. "
                "What's your full name?",
                "retry",
            )
        self.identity.customer = customer
        self.retries = 0
        self._absorb(self._opening, pending=None, overwrite=False)  # payees are known now
        step = self._next()
        first = customer.name.split()[0]
        return Step(
            f"Thank you, {first}, you're verified. {step.text}",
            step.status,
            step.reason,
            step.query,
            step.entity,
            step.result,
        )

    # --- slots ----------------------------------------------------------------------------

    def _absorb(self, text: str, *, pending: str | None, overwrite: bool = True) -> list[str]:
        """Read every slot's value from ``text``; returns the names that changed."""
        changed = []
        tail = corrected_part(text)
        for slot in self.spec.slots:
            value = self._read(slot, text, pending=pending)
            if tail is not None and slot.kind != "text":
                # "three books, actually no, make it four": the value after the change of
                # mind wins, read as an answer when the slot was named before it or was
                # answered earlier ("I said four hundred, that should've been three hundred")
                named = value is not None or slot.name in self.values
                later = self._read(slot, tail, pending=slot.name if named else pending)
                value = later if later is not None else value
            if value is None:
                continue
            if not _in_range(slot, value):
                self._out_of_range.add(slot.name)
                continue
            self._out_of_range.discard(slot.name)
            if slot.name in self.values and not overwrite:
                continue
            if self.values.get(slot.name) != value:
                previous = self.values.get(slot.name)
                self.values[slot.name] = value
                changed.append(slot.name)
                self._swap_if_same(slot, previous, changed)
        return changed

    def _read(self, slot: SlotSpec, text: str, *, pending: str | None) -> Any:
        """``slot``'s value in ``text`` (with the bank's list for a dynamic choice), or None."""
        customer = self.identity.customer.id if self.identity.customer else None
        options = self._choices(slot.choices, customer) if isinstance(slot.choices, str) else ()
        return extract_slot(
            slot,
            text,
            today=self.today,
            choices=options,
            pending=slot.name == pending,
            other_roles=self._several_accounts,
        )

    def _options_asked(self, text: str) -> list[str]:
        """The caller's own options for the question asked, when they ask which they have
        ("which ones have I got with you?" for an account or a payee); else empty."""
        slot = self.spec.slot(self.pending) if self.pending else None
        customer = self.identity.customer
        if slot is None or customer is None or not _ASKS_OPTIONS.search(normalise(text)):
            return []
        if slot.kind == "account":
            held = {a.type for a in self.bank.accounts(customer.id)}
            return [f"a {name} account" for kind, name in ACCOUNT_NAMES.items() if kind in held]
        if isinstance(slot.choices, str):
            return self._choices(slot.choices, customer.id)
        return list(slot.choices or ())

    def new_values(self, text: str) -> list[str]:
        """The slots ``text`` gives a value other than the one they hold (free text aside),
        without changing anything: "what about my checking?" after a savings balance."""
        return [
            slot.name
            for slot in self.spec.slots
            if slot.kind != "text"
            and self._read(slot, text, pending=None) not in (None, self.values.get(slot.name))
        ]

    def _swap_if_same(self, slot: SlotSpec, previous: Any, changed: list[str]) -> None:
        """ "No, from savings" when the money was going to savings: swap the two accounts."""
        if slot.kind != "account" or slot.role is None or previous is None:
            return
        for other in self.spec.slots:
            if (
                other is not slot
                and other.kind == "account"
                and other.name not in changed
                and self.values.get(other.name) == self.values[slot.name]
            ):
                self.values[other.name] = previous
                changed.append(other.name)

    def _collect(self, text: str) -> Step:
        options = self._options_asked(text)
        if options:
            return Step(f"You have {say_list(options)}. Which one would you like?", "ask")
        changed = self._absorb(text, pending=self.pending)
        if self.pending is None and not changed:
            named = _named_slot(normalise(text), self.spec)
            if named is not None:
                self.pending = named.name
                return Step(self._prompt(named, retry=False), "ask")
        if changed or (self.pending and self.pending in self.values):
            self.retries = 0
            return self._next()
        self.retries += 1
        slot = self.spec.slot(self.pending) if self.pending else None
        if slot is None:
            return Step("Sorry, what would you like to change? You can also say cancel.", "retry")
        return Step(self._prompt(slot, retry=True), "retry")

    def _next(self) -> Step:
        if self.spec.verify and not self.identity.verified:
            if self.identity.heard_name:
                self.stage = "verify_code"
                return Step(self._ask_code(), "ask")
            self.stage = "verify_name"
            return Step(self._ask_name(), "ask")
        for slot in self.spec.slots:
            asked = slot.default is None or slot.name in self._out_of_range
            if slot.name not in self.values and asked:
                self.stage, self.pending = "collect", slot.name
                return Step(self._prompt(slot, retry=False), "ask")
        for slot in self.spec.slots:
            if slot.name not in self.values:
                self.values[slot.name] = self.today if slot.default == "today" else slot.default
        self.pending = None
        if self.spec.action == "knowledge":
            self.stage = "finished"
            values = self._template_values()
            return Step(
                "",
                "knowledge",
                query=fill(self.spec.query or "", values),
                entity=fill(self.spec.entity, values) if self.spec.entity else None,
            )
        if self.spec.confirm:
            try:  # a card the caller doesn't have is said now, not after their "yes"
                preview(self.bank, self.identity.customer.id if self.identity.customer else None,
                        self.values, self.today)  # fmt: skip
            except BankError as e:
                return self._refused(e)
            self.stage = "confirm"
            return Step(self._confirm_text(), "confirm")
        return self._act()

    def _refused(self, error: BankError) -> Step:
        reask = slot_to_reask(error, [s.name for s in self.spec.slots])
        if reask is None or error.retryable:
            self.stage = "finished"
            return Step(str(error), "failed", reason="backend_error")
        self.values.pop(reask, None)
        self.stage, self.pending = "collect", reask
        self._key = secrets.token_hex(8)
        prompt = self._prompt(self.spec.slot(reask), retry=False)
        if str(error) in prompt:  # "Appointments start on the hour." is said once
            return Step(prompt, "ask")
        return Step(f"{error} {prompt}", "ask")

    def _prompt(self, slot: SlotSpec, *, retry: bool) -> str:
        template = slot.retry if retry and slot.retry else slot.ask
        return fill(template, self._template_values())

    # --- confirmation and the action ------------------------------------------------------

    def _confirm_text(self) -> str:
        return fill(self.spec.confirm or "", self._template_values())

    def _confirm(self, text: str) -> Step:
        said = normalise(text)
        answer = yes_or_no(said)
        changed = self._absorb(text, pending=None) or self._corrected(text, said, answer)
        if changed:
            self.retries = 0
            return self._next()
        if answer is True:
            return self._act()
        if answer is False and not self.spec.slots:
            return self.cancel()  # nothing to change: "no, don't send it"
        if answer is False:
            self.stage, self.pending = "collect", None
            named = _named_slot(said, self.spec)
            if named is not None:
                self.pending = named.name
                return Step(self._prompt(named, retry=False), "ask")
            return Step("OK. What would you like to change? You can also say cancel.", "ask")
        if QUESTION.match(said) or WH_QUESTION.search(said):
            # "which number are you going to send it to?": the read-back says it
            return Step(self._confirm_text(), "confirm")
        self.retries += 1
        return Step(f"Sorry, I need a yes or a no. {self._confirm_text()}", "retry")

    def _corrected(self, text: str, said: str, answer: bool | None) -> list[str]:
        """Takes the new value of :meth:`_correction`; the names of the slots changed."""
        found = self._correction(text, said, answer)
        self.values.update(found)
        return list(found)

    def _correction(self, text: str, said: str, answer: bool | None) -> dict[str, Any]:
        """A new value said bare at the read-back ("sorry, I meant three hundred", "okay
        then three in the afternoon", "can we do thirty five hundred instead"): read as an
        answer to each question in turn, it counts when exactly one slot gets a new value."""
        if answer is True and not is_correction(text):
            # "yes, that one" agrees; "okay then three in the afternoon" agrees to a change
            said = " ".join(w for w in _THAT_ONE.sub(" ", said).split() if yes_or_no(w) is None)
            text = said
        elif answer is False and not is_correction(text):
            return {}
        if len(said.split()) < (2 if answer is True else 1):
            return {}
        found = {}
        for slot in self.spec.slots:
            if slot.kind == "text":  # any words at all would do for a free-text answer
                continue
            value = self._read(slot, text, pending=slot.name)
            if value is not None and _in_range(slot, value) and value != self.values.get(slot.name):
                found[slot.name] = value
        return found if len(found) == 1 else {}

    def _act(self) -> Step:
        customer = self.identity.customer
        assert customer is not None or not self.spec.verify
        action = ACTIONS[self.spec.action]
        try:
            result = action(
                self.bank, customer.id if customer else "", self.values, self.today, self._key
            )
        except VerificationFailed as e:
            self.identity.customer = None
            self.stage = "verify_name"
            return Step(f"{e} {self._ask_name()}", "ask")
        except BankError as e:
            return self._refused(e)
        self.result = result
        self.stage = "finished"
        return Step(fill(self.spec.done or "Done.", self._template_values()), "done", result=result)

    def _template_values(self) -> dict[str, Any]:
        customer = self.identity.customer.id if self.identity.customer else None
        values: dict[str, Any] = {
            name: describe(name, value, self.today) for name, value in self.values.items()
        }
        values.update(preview(self.bank, customer, self.values, self.today))
        values.update(self.result)
        for slot in self.spec.slots:
            if isinstance(slot.choices, str):
                options = self._choices(slot.choices, customer)
                values[f"{slot.name}_options"] = say_list(options)
                values[f"{slot.name}_example"] = options[0] if options else ""
        if "quantity" in self.values:
            n = int(self.values["quantity"])
            values["quantity_books"] = "one book" if n == 1 else f"{n} books"
        if isinstance(self.values.get("date"), date):
            day = self.values["date"]
            values["date_phrase"] = say_date(day, self.today)
            values["when_phrase"] = (
                values["date_phrase"]
                if (day - self.today).days in (0, 1)
                else f"on {values['date_phrase']}"
            )
        if self.values.get("time") is not None:
            values["time_phrase"] = say_time(self.values["time"])
        values.setdefault("question", "")
        return values


def _in_range(slot: SlotSpec, value: Any) -> bool:
    if slot.kind != "number":
        return True
    return (slot.minimum is None or value >= slot.minimum) and (
        slot.maximum is None or value <= slot.maximum
    )


def _name_in(text: str) -> str | None:
    """The name in an answer to "what's your full name?": introduced ("this is Maria
    Garcia"), or bare once the words around it are gone ("uh yeah Sam Lee", "okay Maria
    Garcia", "Alex Morgan here", "Priya Shah is my name", "it's uh Alex Morgan"). A full
    name said after the surname alone wins ("my name is Garcia, Maria Garcia", "it's Lee.
    Sam Lee.")."""
    name = extract_name(text)
    if name and len(name.split()) >= 2:
        return name
    for part in reversed([text, *re.split(r"[.,;!?]", text)]):
        bare = _bare_name(part)
        if bare is not None:
            return bare
    return name


def _bare_name(text: str) -> str | None:
    bare = " ".join(re.sub(r"[^\w\s'\-]", " ", text).split())
    bare = _NAME_AFTER.sub("", _NAME_BEFORE.sub("", bare))
    words = bare.lower().split()
    if words and words[0] in TITLES:
        bare, words = " ".join(bare.split()[1:]), words[1:]
    if _NAME_ONLY.match(bare) and len(words) >= 2 and not set(words) & (_NOT_A_NAME | NOT_NAMES):
        return bare.title()
    return None


def _named_slot(said: str, spec: FlowSpec) -> SlotSpec | None:
    for slot in spec.slots:
        for word in _SLOT_WORDS.get(slot.name, ()):
            if re.search(rf"\b{re.escape(word)}\b", said):
                return slot
    return None


__all__ = ["FlowRun", "Identity", "MAX_VERIFY_FAILURES", "Step", "fill"]
