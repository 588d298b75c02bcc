"""Self-service flows defined as data, and the slot types they are made of.

A flow is a YAML file an expert can read and edit (see ``dialogue/flows/``)::

    name: transfer_money            # the intent that starts it
    title: a transfer between your accounts
    verify: true                    # caller verification before anything else
    slots:                          # asked in order, skipped when already given
      - name: amount
        type: amount                # amount | account | card | choice | number | date | time | text
        ask: How much would you like to transfer?
        retry: Please tell me the amount in dollars.
      - name: from_account
        type: account
        role: from                  # "from checking" / "to savings" in one sentence
        ask: Which account should the money come from?
    confirm: Move {amount} from {from_account} to {to_account}. Shall I go ahead?
    action: transfer                # a backend action (dialogue/actions.py) or "knowledge"
    done: Done. Your {from_account} balance is now {from_balance}.
    not_for: [wire transfer]        # phrases the task does not cover: answered from the KB

A slot with a ``default`` is never asked: the default is used unless the caller says
otherwise. ``choices`` is a list, or the name of a list the bank provides (``payees``,
``branches``). Templates name slots and the action's results in braces.

This module only reads the specs and the caller's words (:func:`extract_slot`); running a
flow turn by turn is :class:`dialogue.engine.FlowRun`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from dialogue.slots import (
    extract_account_type,
    extract_account_types,
    extract_amount,
    extract_card_type,
    extract_date,
    extract_time,
    words_to_number,
)
from dialogue.understanding import normalise

FLOWS_DIR = Path(__file__).resolve().parent / "flows"

SlotKind = Literal["amount", "account", "card", "choice", "number", "date", "time", "text"]
_KINDS = frozenset(SlotKind.__args__)  # type: ignore[attr-defined]
_SLOT_KEYS = frozenset(
    "name type ask retry role choices synonyms default min max allow_all".split()
)
_FLOW_KEYS = frozenset("name title verify slots confirm action done query entity not_for".split())
DYNAMIC_CHOICES = frozenset({"payees", "branches"})


class FlowError(ValueError):
    """A flow file is not valid; the message names the file and the problem."""


@dataclass(frozen=True)
class SlotSpec:
    name: str
    kind: SlotKind
    ask: str
    retry: str | None = None
    role: Literal["from", "to"] | None = None
    choices: tuple[str, ...] | str = ()
    """Fixed options, or the name of a list the bank provides ("payees", "branches")."""
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    allow_all: bool = False


@dataclass(frozen=True)
class FlowSpec:
    name: str
    title: str
    verify: bool
    slots: tuple[SlotSpec, ...]
    action: str
    confirm: str | None = None
    done: str | None = None
    query: str | None = None
    entity: str | None = None
    not_for: tuple[str, ...] = ()
    """Things the task does not do though its intent may match ("cashier's check" for
    ordering check books): a turn that names one is a question for the knowledge base."""
    source: str = ""

    def covers(self, said: str) -> bool:
        """Whether the (normalised) words ask for what this task does, not a ``not_for``."""
        padded = f" {said} "
        return not any(f" {thing} " in padded for thing in self.not_for)

    def slot(self, name: str) -> SlotSpec:
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)


def load_flow(path: str | Path) -> FlowSpec:
    """Read and check one flow file. Raises :class:`FlowError` naming the file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise FlowError(f"{path}: cannot read flow: {e}") from e
    if not isinstance(raw, dict):
        raise FlowError(f"{path}: a flow is a mapping with name, slots and action")
    unknown = set(raw) - _FLOW_KEYS
    if unknown:
        raise FlowError(f"{path}: unknown field(s) {sorted(unknown)}")
    for key in ("name", "action"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise FlowError(f"{path}: '{key}' is required and must be text")
    if raw["action"] == "knowledge" and not raw.get("query"):
        raise FlowError(f"{path}: a knowledge flow needs a 'query' template")
    slots_raw = raw.get("slots") or []
    if not isinstance(slots_raw, list):
        raise FlowError(f"{path}: 'slots' must be a list")
    slots = tuple(_slot(path, i, s) for i, s in enumerate(slots_raw))
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        raise FlowError(f"{path}: slot names must be unique")
    not_for = raw.get("not_for") or []
    if not isinstance(not_for, list) or not all(isinstance(t, str) and t.strip() for t in not_for):
        raise FlowError(f"{path}: 'not_for' must be a list of phrases")
    return FlowSpec(
        name=raw["name"].strip(),
        title=str(raw.get("title") or raw["name"]).strip(),
        verify=bool(raw.get("verify", False)),
        slots=slots,
        action=raw["action"].strip(),
        confirm=_text(raw.get("confirm")),
        done=_text(raw.get("done")),
        query=_text(raw.get("query")),
        entity=_text(raw.get("entity")),
        not_for=tuple(normalise(t) for t in not_for),
        source=str(path),
    )


def load_flows(folder: str | Path = FLOWS_DIR) -> dict[str, FlowSpec]:
    """Every ``*.yaml`` flow in ``folder`` by name. One bad file stops loading: a flow that
    silently went missing would send its callers to the wrong place."""
    flows: dict[str, FlowSpec] = {}
    paths = sorted(Path(folder).glob("*.yaml")) + sorted(Path(folder).glob("*.yml"))
    if not paths:
        raise FlowError(f"{folder}: no flow files (*.yaml) found")
    for path in paths:
        spec = load_flow(path)
        if spec.name in flows:
            raise FlowError(
                f"{path}: flow {spec.name!r} is also defined in {flows[spec.name].source}"
            )
        flows[spec.name] = spec
    return flows


def _text(value: object) -> str | None:
    return " ".join(str(value).split()) if value else None


def _slot(path: Path, index: int, raw: object) -> SlotSpec:
    where = f"{path}: slot {index + 1}"
    if not isinstance(raw, dict):
        raise FlowError(f"{where}: a slot is a mapping with name, type and ask")
    unknown = set(raw) - _SLOT_KEYS
    if unknown:
        raise FlowError(f"{where}: unknown field(s) {sorted(unknown)}")
    name, kind, ask = raw.get("name"), raw.get("type"), raw.get("ask")
    if not isinstance(name, str) or not name.isidentifier():
        raise FlowError(f"{where}: 'name' must be a word like amount or from_account")
    if kind not in _KINDS:
        raise FlowError(f"{where} ({name}): 'type' must be one of {sorted(_KINDS)}")
    if not isinstance(ask, str) or not ask.strip():
        raise FlowError(f"{where} ({name}): 'ask' (the question) is required")
    role = raw.get("role")
    if role not in (None, "from", "to"):
        raise FlowError(f"{where} ({name}): 'role' must be from or to")
    choices = raw.get("choices", ())
    if kind == "choice":
        if isinstance(choices, str):
            if choices not in DYNAMIC_CHOICES:
                raise FlowError(
                    f"{where} ({name}): choices must be a list or one of {sorted(DYNAMIC_CHOICES)}"
                )
        elif not (isinstance(choices, list) and choices):
            raise FlowError(f"{where} ({name}): a choice slot needs 'choices'")
        else:
            choices = tuple(str(c) for c in choices)
    synonyms = {
        str(k): tuple(str(v) for v in (vs or ())) for k, vs in (raw.get("synonyms") or {}).items()
    }
    return SlotSpec(
        name=name,
        kind=kind,
        ask=" ".join(ask.split()),
        retry=_text(raw.get("retry")),
        role=role,
        choices=choices,
        synonyms=synonyms,
        default=raw.get("default"),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        allow_all=bool(raw.get("allow_all", False)),
    )


# --- reading slot values from what the caller said ------------------------------------------

_ACCOUNT_WORD = r"(checking|chequing|current|savings?|credit(?: card)?)"
_FROM = re.compile(r"\b(?:from|out of|take it from|using) (?:my |the |our )?" + _ACCOUNT_WORD)
_TO = re.compile(r"\b(?:to|into|in|onto|toward|towards) (?:my |the |our )?" + _ACCOUNT_WORD)
_ALL = re.compile(r"\b(?:all|both|every|everything|each)\b")
# "the balances on all of my accounts", asked before the question about which
_ALL_ACCOUNTS = re.compile(
    r"\b(?:all|both|each|every one) (?:of )?(?:my|the|our) accounts\b|\bevery account\b"
    r"|\ball (?:my )?balances\b"
)
_BEFORE_BILL = re.compile(r"\b(\w+) (?:bill|bills|payment)\b")
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
_ORDINAL = re.compile(r"\b(?:the )?(first|second|third|fourth|last)(?: one)?\b")
_COUNT_WORDS = {
    "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "couple": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_COUNT = re.compile(
    r"\b(\d+|one|a|an|single|two|couple|three|four|five|six|seven|eight|nine|ten)"
    r"(?: of| more| extra| new)? "
    r"(?:books?|checkbooks?|check ?books?|cheque ?books?|boxes|box|packs?|sets?)\b"
)
_COMMON = frozenset("the a an of and street road avenue st rd ave branch bill my".split())


def _account(word: str) -> str | None:
    return extract_account_type(word if word != "current" else "current account")


def extract_slot(
    slot: SlotSpec,
    text: str,
    *,
    today: date,
    choices: Sequence[str] = (),
    pending: bool = False,
    other_roles: bool = False,
) -> Any:
    """The value of ``slot`` in ``text``, or None.

    ``pending`` says the caller is answering this slot's question, so a bare answer counts
    ("savings", "two", "the second one"); otherwise only a clear mention does. With
    ``other_roles`` the flow has more than one account slot, so an account must come with
    "from"/"to" unless it answers the question.
    """
    said = normalise(text)
    if not said:
        return None
    if slot.kind == "amount":
        amount = extract_amount(text)
        if amount is not None:
            return amount.value
        if pending:
            number = words_to_number(said)
            if number is not None and number > 0:
                return _with_cents(said, Decimal(str(number))).quantize(Decimal("0.01"))
        return None
    if slot.kind == "account":
        if slot.allow_all and (pending and _ALL.search(said) or _ALL_ACCOUNTS.search(said)):
            return "all"
        named = extract_account_types(text) if slot.allow_all else []
        if len(named) > 1:  # "what do I owe on the card, and what's in my savings?"
            return " and ".join(named)
        if slot.role is not None:
            found = (_FROM if slot.role == "from" else _TO).search(said)
            if found:
                return _account(found.group(1))
            if not pending:  # "pay my credit card bill" names the payee, not the account
                return None
        return extract_account_type(text)
    if slot.kind == "card":
        return extract_card_type(text)
    if slot.kind == "choice":
        options = choices or (slot.choices if not isinstance(slot.choices, str) else ())
        return match_choice(said, options, slot.synonyms, pending=pending)
    if slot.kind == "number":
        found = _COUNT.search(said)
        if found:
            word = found.group(1)
            return int(word) if word.isdigit() else _COUNT_WORDS[word]
        if pending:
            number = words_to_number(said)
            return int(number) if number is not None and number == int(number) else None
        return None
    if slot.kind == "date":
        return extract_date(text, today)
    if slot.kind == "time":
        return extract_time(text) if pending or _has_clock(said) else None
    if slot.kind == "text":
        return text.strip() if pending else None
    raise AssertionError(slot.kind)


def _with_cents(said: str, dollars: Decimal) -> Decimal:
    """ "sixty four ninety nine" is 64.99: the words after the dollars are the cents."""
    words = said.split()
    for k in range(1, len(words)):
        head = words_to_number(" ".join(words[:k]))
        tail = words_to_number(" ".join(words[k:]))
        if head is None or Decimal(str(head)) != dollars:
            continue
        if tail is not None and 1 <= tail <= 99 and tail == int(tail):
            return dollars + Decimal(int(tail)) / 100
        return dollars
    return dollars


def _has_clock(said: str) -> bool:
    return bool(re.search(r"\b(?:at|around|about|by) \w+|\b(?:am|pm|o'clock|noon)\b", said))


def match_choice(
    said: str,
    options: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
    *,
    pending: bool = False,
) -> str | None:
    """Which of ``options`` the (normalised) words name: the full name, a synonym, or (when
    answering the question) a word only that option has, or "the second one"."""
    synonyms = synonyms or {}
    padded = f" {said} "
    hits = []
    for option in options:
        names = [normalise(option), *(normalise(s) for s in synonyms.get(option, ()))]
        positions = [padded.find(f" {n} ") for n in names if n]
        positions = [p for p in positions if p >= 0]
        if positions:
            hits.append((min(positions), option))
    if not hits:
        # a name heard split or joined another way: "Bay Side Internet", "Metrowater"
        joined = said.replace(" ", "")
        hits = [
            (joined.find(key), option)
            for option in options
            if " " in (name := normalise(option)) and (key := name.replace(" ", "")) in joined
        ]
    if hits:
        return max(hits)[1]  # the last named wins: "not lost, stolen"
    distinctive = _distinctive_words(options)
    if not pending:
        # "my water bill" names Metro Water: the word before "bill" is only that payee's
        before_bill = set(_BEFORE_BILL.findall(said))
        named = [o for o in options if distinctive[o] & before_bill]
        return named[0] if len(named) == 1 else None
    words = set(said.split())
    words |= {w[:-1] for w in words if w.endswith("s") and len(w) > 3}  # "transfers"
    named = [o for o in options if distinctive[o] & words]
    if len(named) == 1:
        return named[0]
    ordinal = _ORDINAL.search(said)
    if ordinal and options:
        index = _ORDINALS[ordinal.group(1)]
        if index < len(options):
            return options[index]
    return None


def _distinctive_words(options: Sequence[str]) -> dict[str, set[str]]:
    words = {o: set(normalise(o).split()) - _COMMON for o in options}
    counts: dict[str, int] = {}
    for ws in words.values():
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    return {o: {w for w in ws if counts[w] == 1} for o, ws in words.items()}


# --- saying values back -----------------------------------------------------------------------


def say_money(value: Decimal) -> str:
    """``Decimal("135.5")`` -> ``"$135.50"`` (``to_spoken`` makes it words later)."""
    value = Decimal(value).quantize(Decimal("0.01"))
    return f"${value:,}" if value != value.to_integral_value() else f"${int(value):,}"


def say_date(day: date, today: date) -> str:
    if day == today:
        return "today"
    if (day - today).days == 1:
        return "tomorrow"
    return f"{day:%A}, {day:%B} {day.day}"


def say_time(moment: time) -> str:
    hour = moment.hour % 12 or 12
    period = "am" if moment.hour < 12 else "pm"
    if moment.hour == 12 and moment.minute == 0:
        return "noon"
    return f"{hour} {period}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {period}"


def say_reference(reference: str) -> str:
    """ "AP-000042" -> "A P 0 0 0 0 4 2": read out one character at a time."""
    return " ".join(c for c in reference if c.isalnum())


def say_list(items: Sequence[str], joiner: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def json_value(value: Any) -> Any:
    """A slot value as JSON: amounts as "135.00", dates ISO, times "HH:MM"."""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


__all__ = [
    "DYNAMIC_CHOICES",
    "FLOWS_DIR",
    "FlowError",
    "FlowSpec",
    "SlotSpec",
    "extract_slot",
    "json_value",
    "load_flow",
    "load_flows",
    "match_choice",
    "say_date",
    "say_list",
    "say_money",
    "say_reference",
    "say_time",
]
