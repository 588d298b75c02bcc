"""Rewrite written text so a TTS voice reads it naturally on the phone.

Knowledge-base answers are written to be read: "$12.50", "Mon-Fri 9am-5pm", "24/7", links and
Markdown. Piper reads digits well but stumbles on symbols, abbreviations and markup, so this
module expands those and leaves numbers as digits. It only rewrites notation; it never adds or
drops content, so sentences stay intact and an answer remains grounded in its source.
"""

from __future__ import annotations

import re

_CURRENCIES = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros")}
_DAYS = {
    "Mon": "Monday",
    "Tue": "Tuesday",
    "Tues": "Tuesday",
    "Wed": "Wednesday",
    "Thu": "Thursday",
    "Thur": "Thursday",
    "Thurs": "Thursday",
    "Fri": "Friday",
    "Sat": "Saturday",
    "Sun": "Sunday",
}
_DAY_NAMES = frozenset(_DAYS) | frozenset(_DAYS.values())
_STREETS = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard"}
_PHRASES = [
    (r"\be\.g\.(?=[\s,;:)]|$)", "for example"),
    (r"\bi\.e\.(?=[\s,;:)]|$)", "that is"),
    (r"\bapprox\.(?=\s|$)", "about"),
    (r"\bvs\.(?=\s|$)", "versus"),
]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.*)$")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`+([^`]*)`+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()]+[^\s<>().,;:!?'\"]", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(
    r"(?<![\w-])(?:(?:\+?1[-. ])?\(?\d{3}\)?[-. ])?\d{3}[-. ]\d{4}(?![\w-])"
)  # also a local 555-0111
_MONEY = re.compile(
    r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s?(thousand|million|billion)\b)?"
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_TIME = re.compile(r"\b(\d{1,2}(?::\d{2})?)\s?([ap])(\.m\.|\.m\b|m\b)", re.IGNORECASE)
_TIME_RANGE = re.compile(r"\b(\d{1,2}(?::\d{2})? [ap]m)\s*[-–—]\s*(?=\d)")
_NUMBER_RANGE = re.compile(r"(?<![\w.,-])(\d{1,4})\s?[–—-]\s?(\d{1,4})(?![\w.,]*\d|-)")
_DAY = "|".join(sorted(_DAYS, key=len, reverse=True))
_DAY_RANGE = re.compile(rf"\b({_DAY})\.?\s*[-–—]\s*({_DAY})\b(\.)?")
_DAY_WORD = re.compile(rf"\b({_DAY})\b(\.)?")
_STREET = re.compile(rf"\b([A-Z][a-z]+|\d+(?:st|nd|rd|th)?) ({'|'.join(_STREETS)})\b(\.)?")


# A routing or reference number: read digit by digit, not as "a hundred and twenty three
# million...". Amounts keep their commas ("12,500") and so are not matched.
_DIGIT_CODE = re.compile(r"(?<![\w$£€.,])\d{5,}(?![\w%]|[.,]\d)")


def to_spoken(text: str) -> str:
    """Return ``text`` rewritten for a TTS voice, on one line.

    Markdown is removed (headings and bullets become sentences), links become "our website",
    phone numbers become digit groups, and currency, percentages, times, day names, street
    types and common abbreviations are spelled out. Codes of five or more digits (a routing
    number) are read digit by digit. Numbers otherwise stay as digits.
    """
    text = _strip_markdown(text)
    text = _URL.sub("our website", text)
    text = _EMAIL.sub(lambda m: m.group(0).replace("@", " at ").replace(".", " dot "), text)
    text = _PHONE.sub(lambda m: " ".join(re.findall(r"\d+", m.group(0))), text)
    text = _DIGIT_CODE.sub(lambda m: " ".join(m.group(0)), text)
    text = text.replace("24/7", "24 hours a day, 7 days a week")
    text = _MONEY.sub(_money, text)
    text = _PERCENT.sub(r"\1 percent", text)
    text = _TIME.sub(_time, text)
    text = _TIME_RANGE.sub(r"\1 to ", text)
    text = _DAY_RANGE.sub(
        lambda m: f"{_DAYS[m.group(1)]} to {_DAYS[m.group(2)]}" + _stop(m, 3), text
    )
    text = _DAY_WORD.sub(lambda m: _DAYS[m.group(1)] + _stop(m, 2), text)
    text = _NUMBER_RANGE.sub(r"\1 to \2", text)
    text = _STREET.sub(lambda m: f"{m.group(1)} {_STREETS[m.group(2)]}" + _stop(m, 3), text)
    for pattern, words in _PHRASES:
        text = re.sub(pattern, words, text, flags=re.IGNORECASE)
    text = re.sub(r"\s*&\s*", " and ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _strip_markdown(text: str) -> str:
    """Drop Markdown markup; headings and bullet items become sentences of their own."""
    lines = []
    for line in text.splitlines():
        block = _HEADING.match(line) or _BULLET.match(line)
        if block:
            line = block.group(1).strip()
            if line and line[-1] not in ".!?:;":
                line += "."
        elif re.fullmatch(r"\s*(?:[-*_]\s*){3,}|\s*>?\s*", line):
            continue  # horizontal rule, blank line or empty quote
        lines.append(re.sub(r"^\s*>\s?", "", line))
    text = "\n".join(lines)
    text = _MD_LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    return _ITALIC.sub(r"\1", text)


def _money(match: re.Match[str]) -> str:
    symbol, whole, cents, scale = match.groups()
    one, many = _CURRENCIES[symbol]
    if scale:
        amount = f"{whole}.{cents}" if cents else whole
        return f"{amount} {scale} {many}"
    cents_value = int(cents.ljust(2, "0")) if cents else 0
    unit = one if whole == "1" else many
    if whole in ("0", "00") and cents_value:
        return f"{cents_value} cents" if symbol != "£" else f"{cents_value} pence"
    if not cents_value:
        return f"{whole} {unit}"
    if cents_value < 10:
        return f"{whole} {unit} and {cents_value} cents"
    return f"{whole} {unit} {cents_value}"


def _time(match: re.Match[str]) -> str:
    return f"{match.group(1)} {match.group(2).lower()}m" + _stop(match, 3)


def _stop(match: re.Match[str], group: int) -> str:
    """Keep an abbreviation's full stop only where it also ends the sentence.

    It does when the text ends there or a capital follows ("at 9 a.m. We open...").
    """
    if not (match.group(group) or "").endswith("."):
        return ""
    rest = match.string[match.end() :]
    if not rest.strip():
        return "."
    following = re.match(r"\s+([A-Z][A-Za-z]*)", rest)
    return "." if following and following.group(1) not in _DAY_NAMES else ""


__all__ = ["to_spoken"]
