"""Spoken and written numbers in one token stream: the reader the slot extractors share.

Whisper writes numbers both ways, often in one call ("$135", "a hundred and thirty five
dollars", "4 5 7 2"), so ``tokenize`` keeps digits, symbols and words as tokens, and the
readers here (``read_cardinal``, ``read_small``, ``read_minutes``) take a token list and an
index and return (value, index after it), or ``None``. ``dialogue.slots`` and
``dialogue.dates`` build on them.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "CURRENCY_SYMBOLS",
    "CURRENCY_WORDS",
    "MULTIPLIERS",
    "ORDINALS",
    "ORDINAL_DIGITS",
    "SCALES",
    "TEENS",
    "TENS",
    "UNITS",
    "ZERO_WORDS",
    "is_numeric",
    "read_cardinal",
    "read_minutes",
    "read_small",
    "token_at",
    "tokenize",
    "words_to_number",
]

_TOKEN = re.compile(
    r"[$€£]|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)*"
)
_NUMERIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
ORDINAL_DIGITS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")

UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
TEENS = {
    w: i + 10
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {
    w: (i + 2) * 10
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
MULTIPLIERS = {"hundred", "dozen", *SCALES}
ZERO_WORDS = {"zero", "oh", "o", "nought"}
ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split()
    )
} | {"twentieth": 20, "thirtieth": 30}


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("\u2019", "'").lower())


def is_numeric(tok: str | None) -> bool:
    return tok is not None and _NUMERIC.fullmatch(tok) is not None


def token_at(toks: list[str], i: int) -> str | None:
    return toks[i] if 0 <= i < len(toks) else None


def read_cardinal(toks: list[str], i: int) -> tuple[Decimal, int] | None:
    """Read one cardinal number starting at ``toks[i]``: (value, index after it)."""
    total, current = Decimal(0), Decimal(0)
    last: str | None = None
    cap: int | None = None
    j = i
    while j < len(toks):
        t, nxt = toks[j], token_at(toks, j + 1)
        if t == "a" and last is None and nxt in MULTIPLIERS:
            current, last = Decimal(1), "unit"
        elif t == "zero" and last is None:
            last = "zero"
        elif t in UNITS and t != "zero" and last in (None, "hundred", "scale", "tens"):
            current, last = current + UNITS[t], "unit"
        elif t in TEENS and last in (None, "hundred", "scale"):
            current, last = current + TEENS[t], "teen"
        elif t in TENS and last in (None, "hundred", "scale"):
            current, last = current + TENS[t], "tens"
        elif t == "hundred" and last is None:
            current, last = Decimal(100), "hundred"
        elif t == "hundred" and last in ("unit", "teen", "num") and 0 < current < 100:
            if current != current.to_integral_value():
                break
            current, last = current * 100, "hundred"
        elif (
            t in SCALES and last not in (None, "zero", "scale") and (cap is None or SCALES[t] < cap)
        ):
            total, current, cap, last = (
                total + current * SCALES[t],
                Decimal(0),
                SCALES[t],
                "scale",
            )
        elif t == "dozen" and last in (None, "unit", "teen", "num"):
            current, last = (current or Decimal(1)) * 12, "dozen"
        elif (
            t == "and"
            and last in ("hundred", "scale")
            and (nxt in UNITS or nxt in TEENS or nxt in TENS)
        ):
            pass
        elif last is None and is_numeric(t):
            current, last = Decimal(t.replace(",", "")), "num"
        else:
            break
        j += 1
    if token_at(toks, j) == "point" and last not in ("num", "dozen"):
        k, digits = j + 1, ""
        while k < len(toks) and (toks[k] in UNITS or toks[k] in ZERO_WORDS or toks[k].isdigit()):
            digits += str(UNITS.get(toks[k], 0)) if not toks[k].isdigit() else toks[k]
            k += 1
        if digits:
            return total + current + Decimal("0." + digits), k
    if last is None:
        return None
    return total + current, j


def read_small(toks: list[str], i: int) -> tuple[int, int] | None:
    """Read a spoken 1-99 ("seven", "fifteen", "forty five"): (value, index after it)."""
    t, nxt = token_at(toks, i), token_at(toks, i + 1)
    if t in TENS:
        if nxt in UNITS and nxt != "zero":
            return TENS[t] + UNITS[nxt], i + 2
        return TENS[t], i + 1
    if t in TEENS:
        return TEENS[t], i + 1
    if t in UNITS and t != "zero":
        return UNITS[t], i + 1
    return None


def read_minutes(toks: list[str], i: int) -> tuple[int, int] | None:
    """The second half of "twelve fifty", "nine oh five": 0-59 spoken as two digits."""
    t, nxt = token_at(toks, i), token_at(toks, i + 1)
    if t in ("oh", "o") and nxt in UNITS and nxt != "zero":
        return UNITS[nxt], i + 2
    if t in TENS or t in TEENS:
        value, end = read_small(toks, i)  # type: ignore[misc]
        return (value, end) if value < 60 else None
    return None


def words_to_number(text: str) -> float | None:
    """The first cardinal number in ``text``, spoken or typed.

    "a hundred and thirty five" -> 135, "two thousand five hundred" -> 2500, "one point five"
    -> 1.5, "a dozen" -> 12, "zero" or a lone "oh" -> 0. Runs of separate numbers are not
    joined: "twelve fifty" -> 12 (see ``extract_amount`` and ``extract_time`` for that).
    """
    toks = tokenize(text)
    if toks == ["oh"]:
        return 0.0
    for i in range(len(toks)):
        found = read_cardinal(toks, i)
        if found is not None:
            return float(found[0])
    return None


CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD", "usd": "USD",
    "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
}  # fmt: skip
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
