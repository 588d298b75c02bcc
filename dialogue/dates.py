"""Dates and times from transcribed caller speech ("next Monday at eleven", "the 15th").

Part of the slot extractors (``dialogue.slots`` re-exports these): pure functions of one
turn's transcript that return ``None`` when the value is not there. The rules the flows rely
on are in ``dialogue.slots``'s docstring.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from dialogue.numbers import (
    CURRENCY_SYMBOLS,
    CURRENCY_WORDS,
    ORDINAL_DIGITS,
    ORDINALS,
    TEENS,
    TENS,
    read_cardinal,
    read_minutes,
    read_small,
    token_at,
    tokenize,
)

__all__ = ["extract_date", "extract_datetime", "extract_time"]

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
    t, nxt = token_at(toks, i), token_at(toks, i + 1)
    if t is None:
        return None
    if t in TENS and nxt in ORDINALS and ORDINALS[nxt] < 10:
        return TENS[t] + ORDINALS[nxt], i + 2
    if t in ORDINALS:
        return ORDINALS[t], i + 1
    m = ORDINAL_DIGITS.fullmatch(t)
    return (int(m.group(1)), i + 1) if m else None


def _day(toks: list[str], i: int, ordinal_only: bool = False) -> tuple[int, int] | None:
    """A day of the month at ``toks[i]`` ("3rd", "third", "the twenty first", "3")."""
    if token_at(toks, i) == "the":
        i += 1
    found = _ordinal(toks, i)
    if found is None and not ordinal_only:
        t = token_at(toks, i)
        if t is not None and t.isdigit():
            found = int(t), i + 1
        else:
            found = read_small(toks, i)
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
            k = found[1] + 1 if token_at(toks, found[1]) == "of" else found[1]
            if token_at(toks, k) in _MONTHS:
                month, day, end = _MONTHS[toks[k]], found[0], k + 1
        elif (found := _day(toks, i)) is not None and token_at(toks, found[1]) in _MONTHS:
            # "on ten December", "10 December" (not "ten may I...": "may" is a verb too)
            if toks[found[1]] != "may":
                month, day, end = _MONTHS[toks[found[1]]], found[0], found[1] + 1
        if month is None or day is None:
            continue
        year_tok = token_at(toks, end)
        if year_tok is not None and re.fullmatch(r"(19|20)\d\d", year_tok):
            return _safe_date(int(year_tok), month, day)
        return _resolve_month_day(month, day, today, prefer_future)
    return None


def _relative_date(toks: list[str], today: date) -> date | None:
    joined = " ".join(toks)
    counted = _counted_from(toks, today)
    if counted is not None:
        return counted
    if "day after tomorrow" in joined:
        return today + timedelta(days=2)
    if "day before yesterday" in joined:
        return today - timedelta(days=2)
    for word, days in (("tomorrow", 1), ("today", 0), ("tonight", 0), ("yesterday", -1)):
        if any(t == word and not _negated(toks, i) for i, t in enumerate(toks)):
            return today + timedelta(days=days)
    for i, t in enumerate(toks):
        if t != "in":
            continue
        if token_at(toks, i + 1) in ("a", "an", "one"):
            count, end = 1, i + 2
        else:
            found = read_cardinal(toks, i + 1)
            if found is None or found[0] != found[0].to_integral_value():
                continue
            count, end = int(found[0]), found[1]
        unit = token_at(toks, end)
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


_NEGATIONS = {"not", "don't", "dont", "never", "can't", "won't"}
_DAY_WORDS = {"today", "tonight", "tomorrow", "yesterday"}


def _negated(toks: list[str], i: int) -> bool:
    """Whether a "not" or "don't" comes shortly before ``toks[i]`` ("don't take it today"),
    with no other day between ("not today, tomorrow" names tomorrow)."""
    for t in reversed(toks[max(0, i - 4) : i]):
        if t in _DAY_WORDS:
            return False
        if t in _NEGATIONS:
            return True
    return False


def _counted_from(toks: list[str], today: date) -> date | None:
    """ "a week from today", "three days from tomorrow", "two weeks from Monday"."""
    for i, t in enumerate(toks):
        if t != "from" or i < 2:
            continue
        unit = toks[i - 1]
        days = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14}.get(unit)
        if days is None:
            continue
        if toks[i - 2] in ("a", "an", "one"):
            count = 1
        else:
            found = _count_before(toks, i - 1)
            if found is None:
                continue
            count = found
        anchor = token_at(toks, i + 1)
        if anchor in ("today", "now"):
            start = today
        elif anchor == "tomorrow":
            start = today + timedelta(days=1)
        elif anchor in _WEEKDAYS:
            start = _weekday_date(toks[i + 1 :], today)
        else:
            continue
        return None if start is None else start + timedelta(days=days * count)
    return None


def _count_before(toks: list[str], end: int) -> int | None:
    """The whole number said just before ``toks[end]`` ("three" in "three days")."""
    for start in range(max(0, end - 3), end):
        found = read_cardinal(toks, start)
        if found is not None and found[1] == end and found[0] == found[0].to_integral_value():
            return int(found[0])
    return None


def _weekday_date(toks: list[str], today: date) -> date | None:
    for i, t in enumerate(toks):
        if t not in _WEEKDAYS:
            continue
        ahead = (_WEEKDAYS[t] - today.weekday()) % 7
        prev = token_at(toks, i - 1)
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
        found = _day(toks, i + 1 if token_at(toks, i + 1) != "the" else i + 2, ordinal_only=True)
        if found is None:
            continue
        day, end = found
        follower = token_at(toks, end)
        if (
            follower == "of"
            and token_at(toks, end + 1) == "next"
            and token_at(toks, end + 2) == "month"
        ):
            later = today.replace(day=1) + timedelta(days=32)  # a day of next month
            return _safe_date(later.year, later.month, day)
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
    toks = tokenize(text)
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
    t = token_at(toks, i)
    if t is not None and t.isdigit() and len(t) <= 2:
        return int(t), i + 1
    found = read_small(toks, i)
    return found if found is not None and found[0] <= 23 else None


def _period(toks: list[str], j: int) -> str | None:
    """ "am"/"pm" said right after a time, else any part of the day said in the turn."""
    t, nxt = token_at(toks, j), token_at(toks, j + 1)
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
        j = k - 1 if token_at(toks, k - 1) in ("minute", "minutes") else k
        if token_at(toks, j - 1) == "half":
            minute = 30
        elif token_at(toks, j - 1) == "quarter":
            minute = 15
        else:
            start = j - 2 if token_at(toks, j - 2) in TENS else j - 1
            found = read_small(toks, start) if start >= 0 else None
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
    toks = tokenize(text)
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
        if token_at(toks, end) == "of":  # "at one of your branches" is not one o'clock
            continue
        minute, cue, literal = 0, False, False
        if toks[i].isdigit() and token_at(toks, end) == "hundred":  # "fourteen hundred" hours
            continue
        if token_at(toks, end) == "hundred" and toks[i] in TEENS and h >= 13:
            minute, end, literal, cue = 0, end + 1, True, True
        elif (found := read_minutes(toks, end)) is not None and not toks[i].isdigit():
            if (
                token_at(toks, found[1]) in CURRENCY_WORDS
                or token_at(toks, i - 1) in CURRENCY_SYMBOLS
            ):
                continue
            minute, end, cue = found[0], found[1], True
        elif token_at(toks, end) in ("o'clock", "oclock"):
            end, cue = end + 1, True
        elif token_at(toks, end) == "o" and token_at(toks, end + 1) == "clock":
            end, cue = end + 2, True
        elif (
            token_at(toks, end) is not None and token_at(toks, end).isdigit() and toks[i].isdigit()
        ):
            if token_at(toks, i - 1) not in _TIME_PREPOSITIONS:
                continue
            minute, end = int(toks[end]), end + 1
        period_here = _period(toks, end) if token_at(toks, end) in ("am", "pm", "a", "p") else None
        if period_here and (token_at(toks, end) in ("am", "pm") or token_at(toks, end + 1) == "m"):
            cue = True
        if token_at(toks, i - 1) in _TIME_PREPOSITIONS:
            cue = True
        if token_at(toks, end) == "in" and token_at(toks, end + 2) in ({"morning"} | _PM_WORDS):
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
