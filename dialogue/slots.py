"""Slot values from transcribed caller speech: amounts, digits, phones, dates, times, names.

Whisper writes numbers both ways, often in one call ("$135", "a hundred and thirty five
dollars", "4 5 7 2", "four five seven two", "double five"), so every extractor reads a
shared token stream in which digits and number words mean the same thing. Each public
function is pure, takes the transcript of one turn and returns ``None`` when the slot is
not there; none of them raises on odd input. They are plain regex and table look-ups, well
under a millisecond per turn.

Rules worth knowing (the self-service flows depend on them):

* Weekdays: "Monday", "on Monday" and "next Monday" all mean the first Monday strictly after
  ``today``; "this Monday" is the first Monday on or after ``today``; "last Monday" the most
  recent one strictly before it.
* Calendar dates without a year ("March 3rd", "3/14", "the 15th") resolve to the next
  occurrence on or after ``today`` (``prefer_future=False``: the latest on or before it).
* Hours without am/pm follow business hours: 8-11 are morning, 12 is noon, 1-7 afternoon.
  "in the morning", "am", "pm", "tonight" and friends override that.
* "twelve fifty" is money (12.50) only when followed by a currency word or after "pay",
  "transfer", "send" (or "make it"); as a time it is 12:50.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from dialogue.dates import extract_date, extract_datetime, extract_time
from dialogue.numbers import (
    CURRENCY_SYMBOLS,
    CURRENCY_WORDS,
    TEENS,
    TENS,
    UNITS,
    ZERO_WORDS,
    is_numeric,
    read_cardinal,
    read_minutes,
    read_small,
    token_at,
    tokenize,
    words_to_number,
)

__all__ = [
    "NOT_NAMES",
    "corrected_part",
    "Amount",
    "extract_account_type",
    "extract_amount",
    "extract_card_type",
    "extract_date",
    "extract_datetime",
    "extract_digits",
    "extract_name",
    "extract_phone",
    "extract_time",
    "is_correction",
    "words_to_number",
]

AccountType = Literal["checking", "savings", "credit"]
CardType = Literal["debit", "credit"]


@dataclass(frozen=True, slots=True)
class Amount:
    """A sum of money as said by the caller; ``value`` is exact (``Decimal``)."""

    value: Decimal
    currency: str = "USD"


# --- money -----------------------------------------------------------------------------------

_CENTS = {"cent", "cents", "pence"}
_PAY_VERBS = {
    "pay", "paying", "paid", "transfer", "transferring", "transferred", "send", "sending",
    "sent", "withdraw", "withdrawing", "deposit", "depositing", "move", "moving", "put",
    "shift", "shifting", "wire", "wiring", "stash", "stick",
}  # fmt: skip
_GRAND = {("half", "a", "grand"): Decimal(500), ("a", "grand"): Decimal(1000)}
_PAY_OBJECTS = {"me", "them", "him", "her", "you", "it", "off", "back", "over", "only", "just"}
_AMOUNT_FOLLOWERS = {None, "to", "into", "from", "towards", "today", "now", "please", "instead"}
_EXACTLY = {"even", "flat", "exactly"}  # "seventy five even" is a sum of money


def _pay_context(toks: list[str], i: int) -> bool:
    prev, prev2 = token_at(toks, i - 1), token_at(toks, i - 2)
    if prev in _PAY_VERBS or (prev in _PAY_OBJECTS and prev2 in _PAY_VERBS):
        return True
    return prev2 == "make" and prev in ("it", "that")


def _cents_after(toks: list[str], j: int) -> tuple[Decimal, int] | None:
    k = j + 1 if token_at(toks, j) == "and" else j
    found = read_cardinal(toks, k)
    if found is None or found[0] >= 100:
        return None
    cents, end = found
    if token_at(toks, end) in _CENTS:
        return cents / 100, end + 1
    if token_at(toks, end) is None and k == j:  # "twelve dollars fifty"
        return cents / 100, end
    return None


def extract_amount(text: str) -> Amount | None:
    """The first sum of money in ``text``.

    Needs a currency mark ("$135", "135 dollars", "fifty bucks", "two grand", "half a grand",
    "fifty cents"),
    a money-shaped figure ("2,500.75"), or a payment verb before a bare number ("pay twelve
    fifty", "transfer 500 to savings", "make it two hundred"), so "send me two statements"
    is not an amount.
    """
    toks = tokenize(text)
    i = 0
    while i < len(toks):
        tok = toks[i]
        grand = next(
            (v for words, v in _GRAND.items() if tuple(toks[i : i + len(words)]) == words), None
        )
        if grand is not None and (i == 0 or toks[i - 1] != "half"):  # "half a grand", "a grand"
            return Amount(grand)
        if tok in CURRENCY_SYMBOLS:
            found = read_cardinal(toks, i + 1)
            if found is not None:
                return Amount(found[0], CURRENCY_SYMBOLS[tok])
            i += 1
            continue
        first = read_small(toks, i)
        second = read_minutes(toks, first[1]) if first is not None else None
        if first is not None and second is not None:  # "twelve fifty", "one oh five"
            value = Decimal(first[0]) + Decimal(second[0]) / 100
            follower = token_at(toks, second[1])
            if follower in CURRENCY_WORDS:
                return Amount(value, CURRENCY_WORDS[follower])
            if _pay_context(toks, i) and follower in _AMOUNT_FOLLOWERS:
                return Amount(value)
        found = read_cardinal(toks, i)
        if found is None:
            i += 1
            continue
        value, end = found
        follower = token_at(toks, end)
        if follower == "grand":
            return Amount(value * 1000)
        if follower in CURRENCY_WORDS:
            cents = _cents_after(toks, end + 1)
            return Amount(value + (cents[0] if cents else 0), CURRENCY_WORDS[follower])
        if follower in _CENTS and value < 100:
            return Amount(value / 100)
        if _pay_context(toks, i) and follower in _AMOUNT_FOLLOWERS:
            return Amount(value)
        if follower in _EXACTLY:
            return Amount(value)
        if is_numeric(tok) and re.search(r"\.\d\d$", tok) and end == i + 1:
            return Amount(value)
        i = end
    return None


# --- digit strings and phone numbers -----------------------------------------------------

_DIGIT_FILLERS = {"uh", "um", "er", "erm", "dash", "hyphen", "plus"}


def _digit_piece(toks: list[str], i: int) -> tuple[str, int, bool] | None:
    """Digits spoken at ``toks[i]``: (digits, index after, whether it is more than an "oh")."""
    t, nxt = toks[i], token_at(toks, i + 1)
    if re.fullmatch(r"\d+|\d{1,3}(?:,\d{3})+", t):
        return t.replace(",", ""), i + 1, True
    if t in ("double", "triple") and nxt is not None:
        inner = _digit_piece(toks, i + 1)
        if inner is not None and len(inner[0]) == 1:
            return inner[0] * (2 if t == "double" else 3), inner[1], True
        return None
    if t in ZERO_WORDS:
        return "0", i + 1, t in ("zero", "nought")
    if t in UNITS:
        if nxt == "hundred":
            return f"{UNITS[t]}00", i + 2, True
        return str(UNITS[t]), i + 1, True
    if t in TEENS or t in TENS:
        value, end = read_small(toks, i)  # type: ignore[misc]
        if token_at(toks, end) == "hundred":  # "eleven hundred" is 1100
            return f"{value}00", end + 1, True
        return str(value), end, True
    return None


def _digit_runs(text: str) -> list[str]:
    toks = tokenize(text)
    runs: list[str] = []
    pieces: list[str] = []
    real = False
    i = 0
    while i <= len(toks):
        piece = _digit_piece(toks, i) if i < len(toks) else None
        if piece is not None:
            pieces.append(piece[0])
            real = real or piece[2]
            i = piece[1]
            continue
        if i < len(toks) and toks[i] in _DIGIT_FILLERS:
            i += 1
            continue
        if i < len(toks) and toks[i] == "and" and pieces and len(pieces[-1]) == 1:
            after = _digit_piece(toks, i + 1) if i + 1 < len(toks) else None
            if after is not None and len(after[0]) == 1:  # "two, two, eight and eight"
                i += 1
                continue
        if pieces and (real or len(pieces) > 1):
            runs.append("".join(pieces))
        pieces, real = [], False
        i += 1
    return runs


def extract_digits(text: str, length: int | None = None) -> str | None:
    """A digit string spoken or typed: "4 5 7 2", "forty five seventy two", "double five".

    Adjacent numbers join into one run ("four five seven two" -> "4572"). With ``length``
    only a run of exactly that many digits counts (the last such run, so a caller's own
    correction wins); without it the longest run (the last on a tie). A lone "oh" is an
    interjection, not a zero.
    """
    runs = _digit_runs(text)
    if length is not None:
        runs = [r for r in runs if len(r) == length]
        return runs[-1] if runs else None
    return max(reversed(runs), key=len) if runs else None


def extract_phone(text: str) -> str | None:
    """A 10-digit US number in any spoken or typed grouping, as E.164 ("+15550100199")."""
    for run in reversed(_digit_runs(text)):
        if len(run) == 11 and run[0] == "1":
            run = run[1:]
        if len(run) == 10 and run[0] not in "01":
            return "+1" + run
    return None


# --- accounts, cards, names, corrections ------------------------------------------------

_NEGATORS = {"not", "never", "isn't", "wasn't"}  # "no, savings" is a correction, not a negation
_VERB_FOLLOWERS = {
    "my", "the", "on", "in", "if", "whether", "that", "up", "out", "for", "to", "with", "your",
    "a", "an", "this", "it", "what", "how", "when", "money",
}  # fmt: skip
_CREDIT_NOT_CARD = {"union", "score", "limit", "report", "line", "history", "check", "rating"}


def _last_kept(toks: list[str], labels: list[tuple[int, str]]) -> str | None:
    kept = [label for i, label in labels if token_at(toks, i - 1) not in _NEGATORS]
    return kept[-1] if kept else None


def extract_account_type(text: str) -> AccountType | None:
    """ "checking", "savings" or "credit", from synonyms ("chequing", "current account").

    The last account named wins, skipping any that were negated ("not checking, savings").
    "checking"/"saving" used as verbs ("checking my balance") do not count.
    """
    named = extract_account_types(text)
    return named[-1] if named else None


def extract_account_types(text: str) -> list[AccountType]:
    """Every account named and not negated, in the order said (see
    :func:`extract_account_type`): "what do I owe on the card and what's in savings"."""
    toks = [t[:-2] if t.endswith("'s") else t for t in tokenize(text)]  # "my checking's"
    labels: list[tuple[int, str]] = []
    for i, t in enumerate(toks):
        nxt = token_at(toks, i + 1)
        if t in ("checking", "chequing", "checkings", "cheque", "check") and (
            t in ("chequing", "checkings") or nxt == "account" or nxt not in _VERB_FOLLOWERS
        ):
            if t in ("check", "cheque") and nxt != "account":
                continue
            labels.append((i, "checking"))
        elif t == "current" and nxt in ("account", "accounts"):
            labels.append((i, "checking"))
        elif t == "savings" or (t == "saving" and nxt not in _VERB_FOLLOWERS):
            labels.append((i, "savings"))
        elif t == "credit" and nxt not in _CREDIT_NOT_CARD:
            labels.append((i, "credit"))
        elif t in ("owe", "owed") and nxt != "you":
            labels.append((i, "credit"))  # "what do I owe on the card": only a card is owed
    kept = [label for i, label in labels if token_at(toks, i - 1) not in _NEGATORS]
    return list(dict.fromkeys(reversed(kept)))[::-1]  # type: ignore[return-value]


def extract_card_type(text: str) -> CardType | None:
    """ "debit" or "credit"; "ATM card", "bank card" and "check card" are debit cards."""
    toks = tokenize(text)
    labels: list[tuple[int, str]] = []
    for i, t in enumerate(toks):
        nxt = token_at(toks, i + 1)
        if t == "debit" or (t in ("atm", "bank", "check", "cheque") and nxt == "card"):
            labels.append((i, "debit"))
        elif t == "credit" and nxt not in _CREDIT_NOT_CARD:
            labels.append((i, "credit"))
    return _last_kept(toks, labels)  # type: ignore[return-value]


_NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name's|the name is|this is|it's|it is|call me)\s+", re.IGNORECASE
)
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Words that end a name ("this is John Smith about my card") or are never one.
NOT_NAMES = frozenset(
    """a an the and or but so about regarding calling call speaking here hi hello hey yes yeah
    yep no not um uh er well okay ok fine good great me i i'm my your you we it it's that this
    is was be been being just really actually urgent important correct right wrong true sure
    from with for on in at to of by again still now too also very going trying having please
    thanks thank sorry broken working done over all because who what when where why how which
    there they he she him her them us our account card bill payment balance money time number
    re regards gonna getting taking looking happening ringing complicated fraud stolen lost
    calls calling declined locked out stuck confused dollars dollar bucks cents zero oh one
    two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand""".split()
)


TITLES = frozenset("mr mrs ms miss mister dr".split())
"""Words before a name that are not part of it ("Mr Alex Morgan")."""


def _name_words(words: list[str], cased: bool) -> list[str]:
    name: list[str] = []
    if words and words[0].lower().rstrip(".") in TITLES:  # "this is Mr Alex Morgan"
        words = words[1:]
    for word in words[:3]:
        if word.lower() in NOT_NAMES or (cased and not word[0].isupper()):
            break
        name.append(word if any(c.isupper() for c in word[1:]) else word.title())
    return name


def _is_cased(text: str) -> bool:
    """Whether the transcript uses capitals (Whisper's does): a capital after the first word
    other than "I" ("sorry I was grabbing a pen it's john smith" is not cased)."""
    if text == text.upper():
        return False
    words = _NAME_WORD.findall(text)[1:]
    return any(w[0].isupper() for w in words if w.split("'")[0] != "I")


def extract_name(text: str) -> str | None:
    """The caller's name, only where introduced: "my name is John Smith", "this is Maria
    Garcia", "it's Ann", "John Smith speaking". Title-cased; "McDonald" keeps its capitals.

    Cased transcripts (Whisper's) also require capitals, so "This is about my card" is not
    a name; all-lower-case text relies on a stop list alone.
    """
    text = text.replace("\u2019", "'")
    cased = _is_cased(text)
    for m in _NAME_INTRO.finditer(text):
        name = _name_words(_NAME_WORD.findall(text[m.end() :].split(",")[0].split(".")[0]), cased)
        if name:
            return " ".join(name)
    m = re.search(r"\bspeaking\b", text, re.IGNORECASE)
    if m:
        before = _NAME_WORD.findall(re.split(r"[,.!?]", text[: m.start()])[-1])
        name = _name_words(before[-3:][::-1], cased)[::-1]
        if name:
            return " ".join(name)
    return None


_CORRECTION = re.compile(
    r"\b(?:i meant|meant to say|i said|scratch that|let me correct|correction|make (?:it|that)"
    r"|change (?:it|that) to|rather than|instead|oops|my mistake|my bad"
    r"|that's (?:wrong|not right|not correct|not what i said)"
    r"|it's not \w+(?: \w+)?,? it's|not \w+(?: \w+)?,? but)\b"
)
_LEADING_FILLERS = re.compile(r"^(?:(?:uh|um|er|erm|oh|well|sorry|wait|hmm)\b[\s,.!]*)+")
_NOT_A_FIX = (
    "thanks", "thank", "that's all", "that's it", "that's everything", "that's fine",
    "that's ok", "that is all", "i'm good", "i'm fine", "i'm ok", "i'm all set", "nothing",
    "problem", "worries", "not really", "not now", "not today", "not yet", "i don't",
    "i do not", "i didn't", "i did not", "i haven't", "i can't", "i won't", "i'm not", "it's fine",
    "never mind", "goodbye", "bye", "please don't", "don't", "idea", "no", "one", "way", "sir",
    "ma'am",
)  # fmt: skip
_NOT_WHAT = ("sure", "really", "yet", "now", "today", "at all", "that i know", "exactly")


_CHANGED_MIND = re.compile(
    r"\b(?:actually no|actually make (?:it|that)|no wait|wait no|no sorry|sorry i meant|i meant"
    r"|i mean|make (?:it|that)|scratch that|or rather|no no|correction"
    r"|should(?:'ve| have)? been|that should be|it should be)\b"
)


def corrected_part(text: str) -> str | None:
    """What follows the caller's last change of mind inside one answer: "eleven in the
    morning" in "one in the afternoon, actually no, make it eleven in the morning"; None when
    there is none (or nothing after it)."""
    t = " ".join(tokenize(text))
    last = max(_CHANGED_MIND.finditer(t), key=lambda m: m.start(), default=None)
    if last is None or last.start() == 0:
        return None
    rest = t[last.end() :].strip()
    return rest or None


def is_correction(text: str) -> bool:
    """Whether the caller is changing an answer: "no, savings", "actually make it two
    hundred", "I meant Tuesday", "not checking, savings".

    A plain "no", "no thanks" or "I'm not sure" is not a correction.
    """
    t = " ".join(tokenize(text))
    if _CORRECTION.search(t):
        return True
    t = _LEADING_FILLERS.sub("", t)
    if t.startswith("actually "):
        return True
    for lead in ("no ", "nope ", "nah "):
        if t.startswith(lead):
            rest = t[len(lead) :]
            return bool(rest) and not rest.startswith(_NOT_A_FIX)
    if t.startswith("not "):
        return not t[4:].startswith(_NOT_WHAT)
    return False
