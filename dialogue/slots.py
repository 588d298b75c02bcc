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
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Literal

__all__ = [
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


# --- tokens and number words ---------------------------------------------------------------

_TOKEN = re.compile(
    r"[$€£]|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)*"
)
_NUMERIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_ORDINAL_DIGITS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {
    w: i + 10
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_MULTIPLIERS = {"hundred", "dozen", *_SCALES}
_ZERO_WORDS = {"zero", "oh", "o", "nought"}
_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split()
    )
} | {"twentieth": 20, "thirtieth": 30}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("\u2019", "'").lower())


def _is_numeric(tok: str | None) -> bool:
    return tok is not None and _NUMERIC.fullmatch(tok) is not None


def _at(toks: list[str], i: int) -> str | None:
    return toks[i] if 0 <= i < len(toks) else None


def _cardinal(toks: list[str], i: int) -> tuple[Decimal, int] | None:
    """Read one cardinal number starting at ``toks[i]``: (value, index after it)."""
    total, current = Decimal(0), Decimal(0)
    last: str | None = None
    cap: int | None = None
    j = i
    while j < len(toks):
        t, nxt = toks[j], _at(toks, j + 1)
        if t == "a" and last is None and nxt in _MULTIPLIERS:
            current, last = Decimal(1), "unit"
        elif t == "zero" and last is None:
            last = "zero"
        elif t in _UNITS and t != "zero" and last in (None, "hundred", "scale", "tens"):
            current, last = current + _UNITS[t], "unit"
        elif t in _TEENS and last in (None, "hundred", "scale"):
            current, last = current + _TEENS[t], "teen"
        elif t in _TENS and last in (None, "hundred", "scale"):
            current, last = current + _TENS[t], "tens"
        elif t == "hundred" and last is None:
            current, last = Decimal(100), "hundred"
        elif t == "hundred" and last in ("unit", "teen", "num") and 0 < current < 100:
            if current != current.to_integral_value():
                break
            current, last = current * 100, "hundred"
        elif (
            t in _SCALES
            and last not in (None, "zero", "scale")
            and (cap is None or _SCALES[t] < cap)
        ):
            total, current, cap, last = (
                total + current * _SCALES[t],
                Decimal(0),
                _SCALES[t],
                "scale",
            )
        elif t == "dozen" and last in (None, "unit", "teen", "num"):
            current, last = (current or Decimal(1)) * 12, "dozen"
        elif (
            t == "and"
            and last in ("hundred", "scale")
            and (nxt in _UNITS or nxt in _TEENS or nxt in _TENS)
        ):
            pass
        elif last is None and _is_numeric(t):
            current, last = Decimal(t.replace(",", "")), "num"
        else:
            break
        j += 1
    if _at(toks, j) == "point" and last not in ("num", "dozen"):
        k, digits = j + 1, ""
        while k < len(toks) and (toks[k] in _UNITS or toks[k] in _ZERO_WORDS or toks[k].isdigit()):
            digits += str(_UNITS.get(toks[k], 0)) if not toks[k].isdigit() else toks[k]
            k += 1
        if digits:
            return total + current + Decimal("0." + digits), k
    if last is None:
        return None
    return total + current, j


def _small(toks: list[str], i: int) -> tuple[int, int] | None:
    """Read a spoken 1-99 ("seven", "fifteen", "forty five"): (value, index after it)."""
    t, nxt = _at(toks, i), _at(toks, i + 1)
    if t in _TENS:
        if nxt in _UNITS and nxt != "zero":
            return _TENS[t] + _UNITS[nxt], i + 2
        return _TENS[t], i + 1
    if t in _TEENS:
        return _TEENS[t], i + 1
    if t in _UNITS and t != "zero":
        return _UNITS[t], i + 1
    return None


def _minutes(toks: list[str], i: int) -> tuple[int, int] | None:
    """The second half of "twelve fifty", "nine oh five": 0-59 spoken as two digits."""
    t, nxt = _at(toks, i), _at(toks, i + 1)
    if t in ("oh", "o") and nxt in _UNITS and nxt != "zero":
        return _UNITS[nxt], i + 2
    if t in _TENS or t in _TEENS:
        value, end = _small(toks, i)  # type: ignore[misc]
        return (value, end) if value < 60 else None
    return None


def words_to_number(text: str) -> float | None:
    """The first cardinal number in ``text``, spoken or typed.

    "a hundred and thirty five" -> 135, "two thousand five hundred" -> 2500, "one point five"
    -> 1.5, "a dozen" -> 12, "zero" or a lone "oh" -> 0. Runs of separate numbers are not
    joined: "twelve fifty" -> 12 (see ``extract_amount`` and ``extract_time`` for that).
    """
    toks = _tokens(text)
    if toks == ["oh"]:
        return 0.0
    for i in range(len(toks)):
        found = _cardinal(toks, i)
        if found is not None:
            return float(found[0])
    return None


# --- money -----------------------------------------------------------------------------------

_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD", "usd": "USD",
    "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
}  # fmt: skip
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CENTS = {"cent", "cents", "pence"}
_PAY_VERBS = {
    "pay", "paying", "paid", "transfer", "transferring", "transferred", "send", "sending",
    "sent", "withdraw", "withdrawing", "deposit", "depositing", "move", "moving", "put",
}  # fmt: skip
_PAY_OBJECTS = {"me", "them", "him", "her", "you", "it", "off", "back", "over", "only", "just"}
_AMOUNT_FOLLOWERS = {None, "to", "into", "from", "towards", "today", "now", "please", "instead"}


def _pay_context(toks: list[str], i: int) -> bool:
    prev, prev2 = _at(toks, i - 1), _at(toks, i - 2)
    if prev in _PAY_VERBS or (prev in _PAY_OBJECTS and prev2 in _PAY_VERBS):
        return True
    return prev2 == "make" and prev in ("it", "that")


def _cents_after(toks: list[str], j: int) -> tuple[Decimal, int] | None:
    k = j + 1 if _at(toks, j) == "and" else j
    found = _cardinal(toks, k)
    if found is None or found[0] >= 100:
        return None
    cents, end = found
    if _at(toks, end) in _CENTS:
        return cents / 100, end + 1
    if _at(toks, end) is None and k == j:  # "twelve dollars fifty"
        return cents / 100, end
    return None


def extract_amount(text: str) -> Amount | None:
    """The first sum of money in ``text``.

    Needs a currency mark ("$135", "135 dollars", "fifty bucks", "two grand", "fifty cents"),
    a money-shaped figure ("2,500.75"), or a payment verb before a bare number ("pay twelve
    fifty", "transfer 500 to savings", "make it two hundred"), so "send me two statements"
    is not an amount.
    """
    toks = _tokens(text)
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok in _CURRENCY_SYMBOLS:
            found = _cardinal(toks, i + 1)
            if found is not None:
                return Amount(found[0], _CURRENCY_SYMBOLS[tok])
            i += 1
            continue
        first = _small(toks, i)
        second = _minutes(toks, first[1]) if first is not None else None
        if first is not None and second is not None:  # "twelve fifty", "one oh five"
            value = Decimal(first[0]) + Decimal(second[0]) / 100
            follower = _at(toks, second[1])
            if follower in _CURRENCY_WORDS:
                return Amount(value, _CURRENCY_WORDS[follower])
            if _pay_context(toks, i) and follower in _AMOUNT_FOLLOWERS:
                return Amount(value)
        found = _cardinal(toks, i)
        if found is None:
            i += 1
            continue
        value, end = found
        follower = _at(toks, end)
        if follower == "grand":
            return Amount(value * 1000)
        if follower in _CURRENCY_WORDS:
            cents = _cents_after(toks, end + 1)
            return Amount(value + (cents[0] if cents else 0), _CURRENCY_WORDS[follower])
        if follower in _CENTS and value < 100:
            return Amount(value / 100)
        if _pay_context(toks, i) and follower in _AMOUNT_FOLLOWERS:
            return Amount(value)
        if _is_numeric(tok) and re.search(r"\.\d\d$", tok) and end == i + 1:
            return Amount(value)
        i = end
    return None


# --- digit strings and phone numbers -----------------------------------------------------

_DIGIT_FILLERS = {"uh", "um", "er", "erm", "dash", "hyphen", "plus"}


def _digit_piece(toks: list[str], i: int) -> tuple[str, int, bool] | None:
    """Digits spoken at ``toks[i]``: (digits, index after, whether it is more than an "oh")."""
    t, nxt = toks[i], _at(toks, i + 1)
    if re.fullmatch(r"\d+|\d{1,3}(?:,\d{3})+", t):
        return t.replace(",", ""), i + 1, True
    if t in ("double", "triple") and nxt is not None:
        inner = _digit_piece(toks, i + 1)
        if inner is not None and len(inner[0]) == 1:
            return inner[0] * (2 if t == "double" else 3), inner[1], True
        return None
    if t in _ZERO_WORDS:
        return "0", i + 1, t in ("zero", "nought")
    if t in _UNITS:
        if nxt == "hundred":
            return f"{_UNITS[t]}00", i + 2, True
        return str(_UNITS[t]), i + 1, True
    if t in _TEENS or t in _TENS:
        value, end = _small(toks, i)  # type: ignore[misc]
        return str(value), end, True
    return None


def _digit_runs(text: str) -> list[str]:
    toks = _tokens(text)
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


# --- dates -------------------------------------------------------------------------------

_WEEKDAYS = {
    w: i for i, w in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())
}
_MONTHS = {
    w: i + 1
    for i, w in enumerate(
        "january february march april may june july august september october november "
        "december".split()
    )
} | {"jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
     "nov": 11, "dec": 12}  # fmt: skip
_DAY_FOLLOWERS = {
    None, "of", "at", "in", "please", "then", "by", "and", "or", "if", "is", "works", "would",
    "next", "this", "around", "before", "after", "instead",
}  # fmt: skip


def _ordinal(toks: list[str], i: int) -> tuple[int, int] | None:
    t, nxt = _at(toks, i), _at(toks, i + 1)
    if t is None:
        return None
    if t in _TENS and nxt in _ORDINALS and _ORDINALS[nxt] < 10:
        return _TENS[t] + _ORDINALS[nxt], i + 2
    if t in _ORDINALS:
        return _ORDINALS[t], i + 1
    m = _ORDINAL_DIGITS.fullmatch(t)
    return (int(m.group(1)), i + 1) if m else None


def _day(toks: list[str], i: int, ordinal_only: bool = False) -> tuple[int, int] | None:
    """A day of the month at ``toks[i]`` ("3rd", "third", "the twenty first", "3")."""
    if _at(toks, i) == "the":
        i += 1
    found = _ordinal(toks, i)
    if found is None and not ordinal_only:
        t = _at(toks, i)
        if t is not None and t.isdigit():
            found = int(t), i + 1
        else:
            found = _small(toks, i)
    if found is None or not 1 <= found[0] <= 31:
        return None
    return found


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve_month_day(month: int, day: int, today: date, prefer_future: bool) -> date | None:
    step = 1 if prefer_future else -1
    for year in range(today.year, today.year + 5 * step, step):
        found = _safe_date(year, month, day)
        if found is not None and (found >= today if prefer_future else found <= today):
            return found
    return None


def _resolve_day(day: int, today: date, prefer_future: bool) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        found = _safe_date(year, month, day)
        if found is not None and (found >= today if prefer_future else found <= today):
            return found
        month += 1 if prefer_future else -1
        if month in (0, 13):
            year, month = year + (1 if month == 13 else -1), 12 if month == 0 else 1
    return None


def _absolute_date(toks: list[str], today: date, prefer_future: bool) -> date | None:
    for i, t in enumerate(toks):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            return _safe_date(*map(int, t.split("-")))
        if "/" in t:
            parts = [int(p) for p in t.split("/")]
            if len(parts) == 3:
                year = parts[2] + 2000 if parts[2] < 100 else parts[2]
                return _safe_date(year, parts[0], parts[1])
            return _resolve_month_day(parts[0], parts[1], today, prefer_future)
        month, day, end = None, None, i
        if t in _MONTHS:  # "March 3rd", "May the fifth"
            found = _day(toks, i + 1)
            if found is not None:
                month, (day, end) = _MONTHS[t], found
        elif (found := _day(toks, i, ordinal_only=True)) is not None:  # "the 5th of May"
            k = found[1] + 1 if _at(toks, found[1]) == "of" else found[1]
            if _at(toks, k) in _MONTHS:
                month, day, end = _MONTHS[toks[k]], found[0], k + 1
        if month is None or day is None:
            continue
        year_tok = _at(toks, end)
        if year_tok is not None and re.fullmatch(r"(19|20)\d\d", year_tok):
            return _safe_date(int(year_tok), month, day)
        return _resolve_month_day(month, day, today, prefer_future)
    return None


def _relative_date(toks: list[str], today: date) -> date | None:
    joined = " ".join(toks)
    if "day after tomorrow" in joined:
        return today + timedelta(days=2)
    if "day before yesterday" in joined:
        return today - timedelta(days=2)
    for word, days in (("tomorrow", 1), ("today", 0), ("tonight", 0), ("yesterday", -1)):
        if word in toks:
            return today + timedelta(days=days)
    for i, t in enumerate(toks):
        if t != "in":
            continue
        if _at(toks, i + 1) in ("a", "an", "one"):
            count, end = 1, i + 2
        else:
            found = _cardinal(toks, i + 1)
            if found is None or found[0] != found[0].to_integral_value():
                continue
            count, end = int(found[0]), found[1]
        unit = _at(toks, end)
        if unit in ("day", "days"):
            return today + timedelta(days=count)
        if unit in ("week", "weeks"):
            return today + timedelta(weeks=count)
        if unit == "fortnight":
            return today + timedelta(weeks=2 * count)
        if unit in ("month", "months"):
            month = today.month - 1 + count
            year, month = today.year + month // 12, month % 12 + 1
            for day in range(today.day, 27, -1):
                if (found_date := _safe_date(year, month, day)) is not None:
                    return found_date
            return _safe_date(year, month, today.day)
    return None


def _weekday_date(toks: list[str], today: date) -> date | None:
    for i, t in enumerate(toks):
        if t not in _WEEKDAYS:
            continue
        ahead = (_WEEKDAYS[t] - today.weekday()) % 7
        prev = _at(toks, i - 1)
        if prev == "this":
            return today + timedelta(days=ahead)
        if prev == "last":
            return today - timedelta(days=(7 - ahead) % 7 or 7)
        return today + timedelta(days=ahead or 7)
    return None


def _day_of_month(toks: list[str], today: date, prefer_future: bool) -> date | None:
    for i, t in enumerate(toks):
        if t not in ("the", "on"):
            continue
        found = _day(toks, i + 1 if _at(toks, i + 1) != "the" else i + 2, ordinal_only=True)
        if found is None:
            continue
        day, end = found
        follower = _at(toks, end)
        if follower == "of" and _at(toks, end + 1) == "next" and _at(toks, end + 2) == "month":
            return _resolve_day(day, today.replace(day=1) + timedelta(days=32), True)
        if follower in _DAY_FOLLOWERS or follower in _WEEKDAYS:
            return _resolve_day(day, today, prefer_future)
    return None


def extract_date(text: str, today: date, prefer_future: bool = True) -> date | None:
    """A calendar date said relative to ``today``.

    Reads, in this order: explicit dates ("2026-03-14", "3/14", "March 3rd", "the fifth of
    May"), relative days ("today", "tomorrow", "the day after tomorrow", "in two weeks"),
    weekdays (see the module docstring for "next"/"this"/"last") and a bare day of the month
    ("on the 15th"; an ordinal only counts as a day after "the"/"on" and not before a noun,
    so "I'm the fifth caller" is not a date). Yearless dates go forward from ``today`` unless
    ``prefer_future`` is false.
    """
    toks = _tokens(text)
    return (
        _absolute_date(toks, today, prefer_future)
        or _relative_date(toks, today)
        or _weekday_date(toks, today)
        or _day_of_month(toks, today, prefer_future)
    )


# --- times -------------------------------------------------------------------------------

_TIME_PREPOSITIONS = {"at", "around", "about", "by", "before", "after", "from", "until", "till"}
_PM_WORDS = {"afternoon", "evening", "night", "tonight"}
_FILLERS = {"uh", "um", "er", "erm", "ok", "okay", "so", "well", "like", "maybe", "say"}


def _hour(toks: list[str], i: int) -> tuple[int, int] | None:
    t = _at(toks, i)
    if t is not None and t.isdigit() and len(t) <= 2:
        return int(t), i + 1
    found = _small(toks, i)
    return found if found is not None and found[0] <= 23 else None


def _period(toks: list[str], j: int) -> str | None:
    """ "am"/"pm" said right after a time, else any part of the day said in the turn."""
    t, nxt = _at(toks, j), _at(toks, j + 1)
    if t in ("am", "pm"):
        return t
    if t in ("a", "p") and nxt == "m":
        return t + "m"
    if "morning" in toks:
        return "am"
    if any(t in _PM_WORDS for t in toks):
        return "pm"
    return None


def _clock(hour: int, minute: int, period: str | None, literal: bool = False) -> time | None:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if hour > 12 or hour == 0 or literal:
        return time(hour, minute)
    if period == "am":
        return time(0 if hour == 12 else hour, minute)
    if period == "pm" or 1 <= hour <= 7:
        return time(hour if hour == 12 else hour + 12, minute)
    return time(hour, minute)


def _relative_clock(toks: list[str]) -> time | None:
    """ "half past two", "quarter to three", "ten past four", "twenty five to six"."""
    for k, t in enumerate(toks):
        if t not in ("past", "after", "to", "till", "before"):
            continue
        hour = _hour(toks, k + 1)
        if hour is None or hour[0] > 12:
            continue
        j = k - 1 if _at(toks, k - 1) in ("minute", "minutes") else k
        if _at(toks, j - 1) == "half":
            minute = 30
        elif _at(toks, j - 1) == "quarter":
            minute = 15
        else:
            start = j - 2 if _at(toks, j - 2) in _TENS else j - 1
            found = _small(toks, start) if start >= 0 else None
            if found is None or found[1] != j or found[0] > 30 and j == k:
                continue
            minute = found[0]
        h = hour[0]
        if t in ("to", "till", "before"):
            h, minute = (h - 1) or 12, 60 - minute
        return _clock(h, minute, _period(toks, hour[1]))
    return None


def extract_time(text: str) -> time | None:
    """A clock time: "14:30", "11 am", "at eleven", "two thirty", "half past two", "noon".

    A bare hour needs a cue ("at", "around", "o'clock", "am"/"pm", "in the morning") or
    to be the whole answer, so "I have eleven questions" is not a time. Hours without a
    period follow business hours (module docstring).
    """
    toks = _tokens(text)
    for i, t in enumerate(toks):
        if ":" in t:
            h, m = (int(p) for p in t.split(":"))
            return _clock(h, m, _period(toks, i + 1), literal=t.startswith("0"))
        if t in ("noon", "midday"):
            return time(12, 0)
        if t == "midnight":
            return time(0, 0)
    relative = _relative_clock(toks)
    if relative is not None:
        return relative
    for i in range(len(toks)):
        hour = _hour(toks, i)
        if hour is None:
            continue
        h, end = hour
        minute, cue, literal = 0, False, False
        if toks[i].isdigit() and _at(toks, end) == "hundred":  # "fourteen hundred" hours
            continue
        if _at(toks, end) == "hundred" and toks[i] in _TEENS and h >= 13:
            minute, end, literal, cue = 0, end + 1, True, True
        elif (found := _minutes(toks, end)) is not None and not toks[i].isdigit():
            if _at(toks, found[1]) in _CURRENCY_WORDS or _at(toks, i - 1) in _CURRENCY_SYMBOLS:
                continue
            minute, end, cue = found[0], found[1], True
        elif _at(toks, end) in ("o'clock", "oclock"):
            end, cue = end + 1, True
        elif _at(toks, end) == "o" and _at(toks, end + 1) == "clock":
            end, cue = end + 2, True
        elif _at(toks, end) is not None and _at(toks, end).isdigit() and toks[i].isdigit():
            if _at(toks, i - 1) not in _TIME_PREPOSITIONS:
                continue
            minute, end = int(toks[end]), end + 1
        period_here = _period(toks, end) if _at(toks, end) in ("am", "pm", "a", "p") else None
        if period_here and (_at(toks, end) in ("am", "pm") or _at(toks, end + 1) == "m"):
            cue = True
        if _at(toks, i - 1) in _TIME_PREPOSITIONS:
            cue = True
        if _at(toks, end) == "in" and _at(toks, end + 2) in ({"morning"} | _PM_WORDS):
            cue = True
        rest = [t for k, t in enumerate(toks) if not (i <= k < end) and t not in _FILLERS]
        if not cue and rest:
            continue
        if h > 12 and not literal and not toks[i].isdigit():
            continue
        return _clock(h, minute, _period(toks, end), literal=literal)
    return None


def extract_datetime(text: str, today: date) -> tuple[date | None, time | None] | None:
    """Both halves of "next Monday at eleven"; ``None`` when neither is there."""
    found = extract_date(text, today), extract_time(text)
    return None if found == (None, None) else found


# --- accounts, cards, names, corrections ------------------------------------------------

_NEGATORS = {"not", "never", "isn't", "wasn't"}  # "no, savings" is a correction, not a negation
_VERB_FOLLOWERS = {
    "my", "the", "on", "in", "if", "whether", "that", "up", "out", "for", "to", "with", "your",
    "a", "an", "this", "it", "what", "how", "when", "money",
}  # fmt: skip
_CREDIT_NOT_CARD = {"union", "score", "limit", "report", "line", "history", "check", "rating"}


def _last_kept(toks: list[str], labels: list[tuple[int, str]]) -> str | None:
    kept = [label for i, label in labels if _at(toks, i - 1) not in _NEGATORS]
    return kept[-1] if kept else None


def extract_account_type(text: str) -> AccountType | None:
    """ "checking", "savings" or "credit", from synonyms ("chequing", "current account").

    The last account named wins, skipping any that were negated ("not checking, savings").
    "checking"/"saving" used as verbs ("checking my balance") do not count.
    """
    toks = _tokens(text)
    labels: list[tuple[int, str]] = []
    for i, t in enumerate(toks):
        nxt = _at(toks, i + 1)
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
    return _last_kept(toks, labels)  # type: ignore[return-value]


def extract_card_type(text: str) -> CardType | None:
    """ "debit" or "credit"; "ATM card", "bank card" and "check card" are debit cards."""
    toks = _tokens(text)
    labels: list[tuple[int, str]] = []
    for i, t in enumerate(toks):
        nxt = _at(toks, i + 1)
        if t == "debit" or (t in ("atm", "bank", "check", "cheque") and nxt == "card"):
            labels.append((i, "debit"))
        elif t == "credit" and nxt not in _CREDIT_NOT_CARD:
            labels.append((i, "credit"))
    return _last_kept(toks, labels)  # type: ignore[return-value]


_NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name's|the name is|this is|it's|it is|call me)\s+", re.IGNORECASE
)
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_NOT_NAMES = frozenset(
    """a an the and or but so about regarding calling call speaking here hi hello hey yes yeah
    yep no not um uh er well okay ok fine good great me i i'm my your you we it it's that this
    is was be been being just really actually urgent important correct right wrong true sure
    from with for on in at to of by again still now too also very going trying having please
    thanks thank sorry broken working done over all because who what when where why how which
    there they he she him her them us our account card bill payment balance money time number
    re regards gonna getting taking looking happening ringing complicated fraud stolen lost
    calls calling declined""".split()
)


def _name_words(words: list[str], cased: bool) -> list[str]:
    name: list[str] = []
    for word in words[:3]:
        if word.lower() in _NOT_NAMES or (cased and not word[0].isupper()):
            break
        name.append(word if any(c.isupper() for c in word[1:]) else word.title())
    return name


def extract_name(text: str) -> str | None:
    """The caller's name, only where introduced: "my name is John Smith", "this is Maria
    Garcia", "it's Ann", "John Smith speaking". Title-cased; "McDonald" keeps its capitals.

    Cased transcripts (Whisper's) also require capitals, so "This is about my card" is not
    a name; all-lower-case text relies on a stop list alone.
    """
    text = text.replace("\u2019", "'")
    cased = text != text.lower() and text != text.upper()
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


def is_correction(text: str) -> bool:
    """Whether the caller is changing an answer: "no, savings", "actually make it two
    hundred", "I meant Tuesday", "not checking, savings".

    A plain "no", "no thanks" or "I'm not sure" is not a correction.
    """
    t = " ".join(_tokens(text))
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
