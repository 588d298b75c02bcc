"""PII redaction for transcripts and turn metadata, applied before anything is stored or shown.

Call transcripts come from speech recognition, so one number reaches us in many shapes:
"4532 1234 5678 9012", "4532-1234-5678-9012", "four five three two ...", "4 5 three two",
"double five", "triple seven", "oh" for zero, "dash" between groups, Whisper's "4,821". The
text is read as one token stream in which digits and digit words mean the same thing;
adjacent digits join into a run, and each run is classified by what the caller said just
before (or just after) it and by its length and grouping. Every redacted span is replaced
whole by a typed placeholder: ``[CARD]``, ``[ACCOUNT]``, ``[SSN]``, ``[PHONE]``, ``[EMAIL]``,
``[PIN]`` or ``[NUMBER]``. Pure regex and table look-ups, no models: a 1,000-word transcript
takes about 2 ms.

What is redacted:

* Card numbers: any run of 13-19 digits (Luhn-valid or not: a misheard card is still a
  card), and 12+ digits after "card", "visa", ...
* Account numbers: 6-20 digits near "account"/"acct".
* Social security numbers: 123-45-6789 (any 3-2-4 grouping), or 9 digits after "social" or
  "SSN" in any grouping.
* Phone numbers: 10 digits (or 1 + 10), ``+`` / "plus" and 8-15 digits (E.164), 555-1234,
  and 7, 10 or 11 digits after "phone", "call", "cell", ...
* E-mail addresses, written or spoken ("john dot smith at gmail dot com"). A spoken one
  needs a known top-level domain, and a one-word local part must follow an e-mail cue or
  not be a common word, so "visit us at chase dot com" is kept.
* PINs and codes: 4-8 digits after "pin", "passcode", "password", "code" (not "zip code",
  "area code", ...); 3-4 digits after "CVV" or "security code" (also ``[PIN]``).
* Anything else with 5 or more digits, including ZIP codes, reference numbers with letters
  ("AB12345") and routing numbers (public, but a 9-digit run cannot be told from an SSN
  without context, so they are ``[NUMBER]``).

What is kept, on purpose:

* Amounts: money tokens ("$1,250.00"), digits next to a currency or scale word ("1250
  dollars", "two thousand", "a hundred and thirty five dollars"), percentages, and numbers
  written with thousands separators ("12,500") of up to 7 digits when no cue asks for more.
* Dates and times ("05/14/2024", "2024-05-14", "11:30", "the fifth of May", "twenty twenty
  four", year ranges like "2019-2021").
* Runs of 4 digits or fewer outside a PIN cue, which covers counts, house numbers ("12 Elm
  Street"), years and the last four digits of a card or account ("ending in 4821"): the
  last four alone are not sensitive in PCI DSS terms and agents need them to tell cards
  apart. The same holds for "the last four of my social": a caller's partial SSN is the
  usual identity check and is kept, which is the one choice here to revisit if policy
  changes.

A :class:`Redaction` records a kind and a span of the original text, never the text itself,
so the list can be logged without leaking what it points at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Kind", "Redaction", "redact", "redact_mapping", "redact_with_spans"]

Kind = Literal["CARD", "ACCOUNT", "SSN", "PHONE", "EMAIL", "PIN", "NUMBER"]


@dataclass(frozen=True, slots=True)
class Redaction:
    """One redacted item: its kind and where it was in the original text (``[start, end)``)."""

    kind: Kind
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        return f"[{self.kind}]"


def redact(text: str) -> str:
    """``text`` with every PII item replaced by its typed placeholder."""
    return redact_with_spans(text)[0]


def redact_with_spans(text: str) -> tuple[str, list[Redaction]]:
    """``text`` redacted, and what was replaced (spans in the original text, in order)."""
    return _redact(text, None)


IDENTIFIER_KEYS = frozenset(
    {"call_id", "call_sid", "stream_sid", "customer_id", "handoff_id", "created_at", "reference"}
)
"""Keys whose values are our own identifiers and timestamps, never personal data."""


def redact_mapping(obj: Any) -> Any:
    """A copy of ``obj`` with every string in nested dicts, lists and tuples redacted, except
    under :data:`IDENTIFIER_KEYS` (a call SID is not a long number to hide).

    Keys are kept as they are, and they say what a bare value is: under ``"pin"`` the slot
    value "4821" is a PIN and under ``"account_number"`` "12345678" is an account, although
    neither would be redacted as plain text ("4821") or would be only a ``[NUMBER]``. A cue
    in the value itself wins; a key without one passes its parent's on. Values that are not
    strings (numbers, booleans, ``None``) are returned unchanged.
    """
    return _redact_obj(obj, None)


def _redact_obj(obj: Any, hint: str | None) -> Any:
    if isinstance(obj, str):
        return _redact(obj, hint)[0]
    if isinstance(obj, Mapping):
        return {
            key: value if key in IDENTIFIER_KEYS else _redact_obj(value, _key_cue(key) or hint)
            for key, value in obj.items()
        }
    if isinstance(obj, list):
        return [_redact_obj(item, hint) for item in obj]
    if isinstance(obj, tuple):
        return tuple(_redact_obj(item, hint) for item in obj)
    return obj


def _key_cue(key: object) -> str | None:
    """The cue a mapping key gives ("accountNumber", "card_pin", "zip-code" gives none)."""
    if not isinstance(key, str):
        return None
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", key).replace("_", " ").replace("-", " ")
    toks = _scan(words, 0, len(words))
    return next((c for k in reversed(range(len(toks))) if (c := _cue(toks, k))), None)


def _redact(text: str, hint: str | None) -> tuple[str, list[Redaction]]:
    if not text:
        return text, []
    found = [Redaction("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    toks = _tokenize(text, found)
    used = [False] * len(toks)
    found += _spoken_emails(toks, used)
    found += _digit_runs(toks, used, hint)
    found.sort(key=lambda r: r.start)
    parts: list[str] = []
    kept: list[Redaction] = []
    pos = 0
    for r in found:
        if r.start < pos:  # defensive: never overlap
            continue
        parts += [text[pos : r.start], r.placeholder]
        kept.append(r)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts), kept


# --- tokens --------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_TOKEN = re.compile(
    r"(?P<money>[$€£]\s?[0-9][0-9,]*(?:\.[0-9]+)?)"
    r"|(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9-])"
    r"|[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?(?![0-9/])"
    r"|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}(?![0-9-]))"
    r"|(?P<time>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?![0-9]))"
    r"|(?P<dotted>[0-9]+(?:\.[0-9]+){2,})"
    r"|(?P<decimal>[0-9]+(?:,[0-9]{3})*\.[0-9]+)"
    r"|(?P<grouped>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9]))"
    r"|(?P<word>[^\W_]+(?:['’][^\W_]+)*)"
    r"|(?P<punct>\S)"
)
_ORDINAL = re.compile(r"[0-9]+(?:st|nd|rd|th)")


@dataclass(slots=True)
class _Token:
    kind: str  # num, grouped, dotted, word, alnum, punct, or a kept kind (money, date, ...)
    low: str
    start: int
    end: int


def _tokenize(text: str, skip: list[Redaction]) -> list[_Token]:
    """Tokens of ``text``; a span in ``skip`` (a written e-mail) becomes one ``pii`` token."""
    toks: list[_Token] = []
    pos = 0
    for r in skip:
        toks += _scan(text, pos, r.start)
        toks.append(_Token("pii", "", r.start, r.end))
        pos = r.end
    toks += _scan(text, pos, len(text))
    return toks


def _scan(text: str, start: int, end: int) -> list[_Token]:
    toks = []
    for m in _TOKEN.finditer(text, start, end):
        kind, low = m.lastgroup or "punct", m.group().lower()
        if kind == "word" and not low.isalpha():
            if low.isdecimal():  # other scripts' digits count too, as ASCII
                kind = "num"
                low = low if low.isascii() else "".join(str(unicodedata.decimal(c)) for c in low)
            elif _ORDINAL.fullmatch(low):
                kind = "ordinal"
            elif any(c in "0123456789" for c in low):
                kind = "alnum"
        toks.append(_Token(kind, low.replace("’", "'"), m.start(), m.end()))
    return toks


# --- spoken e-mail addresses ---------------------------------------------------------------

_TLDS = frozenset(
    "com net org edu gov mil io co us uk ca au de fr ie in info biz me ai app dev email".split()
)
_MAX_LABELS = 8  # labels in a domain or local part (bounds the work on odd input)
_DOTS = frozenset({"dot", "."})
_LOCAL_SEPS = frozenset({"dot", ".", "underscore", "_", "dash", "hyphen", "-"})
_EMAIL_CUES = frozenset({"email", "mail", "address"})
_EMAIL_LEADS = frozenset({"is", "it's", "its", "was", ":"})
_NOT_LOCAL = frozenset(
    "i i'm we we're they they're is are was were be been am me us you him her them it it's "
    "online site website page log logged login sign signed apply go went visit visited pay "
    "paid check look looking find found located available info details more anytime today "
    "there here that this".split()
)


def _label(t: _Token) -> bool:
    return t.kind in ("word", "num", "alnum")


def _spoken_emails(toks: list[_Token], used: list[bool]) -> list[Redaction]:
    """ "john dot smith at gmail dot com", "j smith at yahoo.com", "john@gmail dot com"."""
    found = []
    for a, t in enumerate(toks):
        if t.low not in ("at", "@") or used[a]:
            continue
        end = _domain_end(toks, a + 1)
        start = _local_start(toks, a) if end is not None else None
        if end is None or start is None:
            continue
        for k in range(start, end):
            used[k] = True
        found.append(Redaction("EMAIL", toks[start].start, toks[end - 1].end))
    return found


def _domain_end(toks: list[_Token], i: int) -> int | None:
    """Index after the domain that starts at ``i`` ("gmail dot co dot uk"), or ``None``."""
    if i >= len(toks) or not _label(toks[i]):
        return None
    end = None
    last = min(len(toks), i + 2 * _MAX_LABELS)
    while i + 2 < last and toks[i + 1].low in _DOTS and _label(toks[i + 2]):
        i += 2
        if toks[i].low in _TLDS:
            end = i + 1
    return end


def _local_start(toks: list[_Token], a: int) -> int | None:
    """Index where the local part before ``toks[a]`` ("at") starts, or ``None``."""
    k = a - 1
    if k < 0 or not _label(toks[k]):
        return None
    start, joined = k, False
    while start >= max(1, k - 2 * _MAX_LABELS):
        if start >= 2 and toks[start - 1].low in _LOCAL_SEPS and _label(toks[start - 2]):
            start, joined = start - 2, True
        elif _piece(toks, start) is not None and _label(toks[start - 1]):
            start, joined = start - 1, True  # "jones eighty two": digits end the name
        else:
            break
    while start >= 1 and toks[start - 1].kind == "word" and len(toks[start - 1].low) == 1:
        start, joined = start - 1, True  # spelled out: "j o h n at ..."
    # "my email is john smith at ...": everything after "is", when an e-mail cue precedes it.
    lead = start - 1
    while lead >= 0 and start - lead <= 6 and toks[lead].low not in _EMAIL_LEADS:
        if not (_label(toks[lead]) or toks[lead].low in _LOCAL_SEPS):
            break
        lead -= 1
    if lead >= 0 and toks[lead].low in _EMAIL_LEADS:
        if any(t.low in _EMAIL_CUES for t in toks[max(0, lead - 4) : lead]):
            return lead + 1
    if not joined and toks[k].low in _NOT_LOCAL:
        return None
    return start


# --- digit runs ----------------------------------------------------------------------------

_UNITS = {
    w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())
}
_UNITS |= {"niner": "9", "oh": "0", "nought": "0", "naught": "0"}
_ZEROS = frozenset({"zero", "oh", "nought", "naught"})
_TEENS = {
    w: str(i + 10)
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: str(i + 2)
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_REPEATS = {"double": 2, "triple": 3}
_HARD_JOINERS = frozenset({"-", "–", "—", "(", ")", "dash", "hyphen"})
_SOFT_JOINERS = frozenset({",", "."})
_FILLERS = frozenset({"uh", "um", "er", "erm", "ah"})
_CURRENCY = frozenset(
    "dollar dollars bucks cent cents usd eur euro euros pound pounds gbp pence".split()
)
_SCALES = frozenset({"hundred", "thousand", "million", "billion", "grand", "k", "percent", "%"})


@dataclass(slots=True)
class _Piece:
    digits: str
    end: int  # token index after the piece
    spoken: bool  # said as words ("five", "double five")
    real: bool  # not a lone "oh", which may be an interjection
    grouped: bool = False  # written with thousands separators ("12,500")


def _piece(toks: list[_Token], i: int) -> _Piece | None:
    """The digits said or written at ``toks[i]``, if any."""
    t = toks[i]
    if t.kind == "num":
        return _Piece(t.low, i + 1, False, True)
    if t.kind == "grouped":
        return _Piece(t.low.replace(",", ""), i + 1, False, True, grouped=True)
    if t.kind == "dotted":
        return _Piece(t.low.replace(".", ""), i + 1, False, True)
    if t.kind != "word":
        return None
    w = t.low
    nxt = toks[i + 1].low if i + 1 < len(toks) else None
    if w in _REPEATS:
        if nxt is None or nxt in _REPEATS:
            return None
        inner = _piece(toks, i + 1)
        if inner is not None and len(inner.digits) == 1:
            return _Piece(inner.digits * _REPEATS[w], inner.end, True, True)
        return None
    if w in _UNITS:
        if i > 0 and toks[i - 1].low in ("last", "first"):  # "the last four 4821"
            return None
        if nxt == "hundred" and i + 2 < len(toks):
            after = toks[i + 2]
            if after.kind == "num" or after.low in _UNITS:  # "one eight hundred five five five"
                return _Piece(_UNITS[w] + "00", i + 2, True, True)
        return _Piece(_UNITS[w], i + 1, True, w != "oh")
    if w in _TEENS:
        return _Piece(_TEENS[w], i + 1, True, True)
    if w in _TENS:
        if nxt in _UNITS and nxt not in _ZEROS:
            return _Piece(_TENS[w] + _UNITS[nxt], i + 2, True, True)
        if nxt == "-" and i + 2 < len(toks) and toks[i + 1].end == toks[i + 2].start:
            unit = toks[i + 2].low  # "twenty-five"
            if unit in _UNITS and unit not in _ZEROS:
                return _Piece(_TENS[w] + _UNITS[unit], i + 3, True, True)
        return _Piece(_TENS[w] + "0", i + 1, True, True)
    return None


def _single(p: _Piece) -> bool:
    return len(p.digits) == 1 or (p.spoken and len(set(p.digits)) == 1 and len(p.digits) <= 3)


def _soft_join(group: str, left: _Piece, right: _Piece, punct: str) -> bool:
    """Whether "left, right" (or "left. right") is one number said in pieces.

    ``group`` is the digits said since the last pause. Single digits always join ("4, 5, 7,
    2"); over a comma, so does a group of 3-4 digits, unless it is a year ("In 2023, 1500
    ..."), followed by more spoken digits or a written group of 3-4 ("555, 123, 4567").
    """
    if _single(left) and _single(right):
        return True
    if punct != "," or not 3 <= len(group) <= 4 or re.fullmatch(r"(?:19|20)[0-9]{2}", group):
        return False
    return right.spoken or 3 <= len(right.digits) <= 4


@dataclass(slots=True)
class _Run:
    first: int  # token index of the first piece
    end: int  # token index after the last piece
    pieces: list[_Piece]
    groups: list[str]  # the digits in groups, split where the transcript shows a pause
    plus: bool = False


def _digit_runs(toks: list[_Token], used: list[bool], hint: str | None) -> list[Redaction]:
    found = []
    i, prev_end = 0, 0
    for k, t in enumerate(toks):  # reference numbers with letters ("AB12345")
        if t.kind == "alnum" and sum(c.isdigit() for c in t.low) >= 5:
            used[k] = True
            found.append(Redaction("NUMBER", t.start, t.end))
    while i < len(toks):
        run = None if used[i] else _run_at(toks, used, i)
        if run is None:
            i += 1
            continue
        if not any(piece.real for piece in run.pieces):  # only "oh"s: an interjection
            i = run.end
            continue
        digits = "".join(p.digits for p in run.pieces)
        kind = _classify(toks, run, digits, prev_end, hint)
        if kind is not None:
            start = run.first - 1 if run.plus or _is(toks, run.first - 1, "(") else run.first
            found.append(Redaction(kind, toks[start].start, toks[run.end - 1].end))
        if len(digits) >= 3:  # a cue before it belongs to it ("the one I set" does not count)
            prev_end = run.end
        i = run.end
    return found


def _is(toks: list[_Token], i: int, low: str) -> bool:
    return 0 <= i < len(toks) and toks[i].low == low


def _run_at(toks: list[_Token], used: list[bool], i: int) -> _Run | None:
    """The longest run of digits starting at ``toks[i]``."""
    p = _piece(toks, i)
    if p is None:
        return None
    run = _Run(i, p.end, [p], [p.digits])
    while run.end < len(toks):
        k, hard, punct = run.end, False, ""
        while k < len(toks) and k - run.end < 4:
            low = toks[k].low
            if low in _HARD_JOINERS:
                hard = True
            elif low in _SOFT_JOINERS:
                punct = punct or low
            elif low not in _FILLERS or toks[k].kind != "word":
                break
            k += 1
        q = None if k >= len(toks) or used[k] else _piece(toks, k)
        if q is None:
            break
        if len(run.pieces) == 1 and not run.pieces[0].real and (hard or punct):
            # "Oh, five five five ...": that "oh" is an interjection; start again after it.
            run = _Run(k, q.end, [q], [q.digits])
            continue
        last = run.pieces[-1]
        if punct and not _soft_join(run.groups[-1], last, q, punct):
            break
        if hard or punct or (k == run.end and not last.spoken and not q.spoken):
            run.groups.append(q.digits)  # a new written group
        else:
            run.groups[-1] += q.digits
        run.pieces.append(q)
        run.end = q.end
    before = toks[run.first - 1] if run.first > 0 else None
    if before is not None and before.low in ("+", "plus"):
        run.plus = before.low == "plus" or before.end == toks[run.first].start
    return run


# Cue words: what the caller said the number is. The nearest cue whose lengths fit wins.
_CUES = {
    "pin": "PIN",
    "pins": "PIN",
    "passcode": "PIN",
    "password": "PIN",
    "otp": "PIN",
    "code": "PIN",
    "cvv": "CVV",
    "cvc": "CVV",
    "cvv2": "CVV",
    "social": "SSN",
    "ssn": "SSN",
    "account": "ACCOUNT",
    "accounts": "ACCOUNT",
    "acct": "ACCOUNT",
    "card": "CARD",
    "cards": "CARD",
    "visa": "CARD",
    "mastercard": "CARD",
    "amex": "CARD",
    "phone": "PHONE",
    "telephone": "PHONE",
    "cell": "PHONE",
    "cellphone": "PHONE",
    "mobile": "PHONE",
    "landline": "PHONE",
    "fax": "PHONE",
    "call": "PHONE",
    "callback": "PHONE",
    "text": "PHONE",
    "reach": "PHONE",
    "routing": "ROUTING",
    "sort": "ROUTING",
    "aba": "ROUTING",
    "transit": "ROUTING",
    "ending": "KEEP",
    "ends": "KEEP",
    "last": "KEEP",
}
_CUE_KINDS: dict[str, Kind | None] = {
    "PIN": "PIN",
    "CVV": "PIN",
    "SSN": "SSN",
    "ACCOUNT": "ACCOUNT",
    "CARD": "CARD",
    "PHONE": "PHONE",
    "ROUTING": "NUMBER",  # public, but still a long number
    "KEEP": None,  # "ending in 4821": the last four of a card or account
}
_NOT_SECRET_CODES = frozenset(
    "zip area postal post promo promotional country sort swift reference confirmation "
    "tracking discount bar qr".split()
)
_CUE_WINDOW = 8


def _cue(toks: list[_Token], k: int) -> str | None:
    cue = _CUES.get(toks[k].low)
    if cue == "PIN" and toks[k].low == "code" and k > 0:
        prev = toks[k - 1].low
        if prev == "security":
            return "CVV"
        if prev in _NOT_SECRET_CODES:
            return None
    return cue


def _fits(cue: str, digits: str, run: _Run) -> bool:
    n = len(digits)
    if cue == "PIN":
        return 4 <= n <= 8
    if cue == "CVV":
        return 3 <= n <= 4
    if cue == "ACCOUNT":
        return 6 <= n <= 20
    if cue == "SSN":
        return n == 9
    if cue == "CARD":
        return 12 <= n <= 19
    if cue == "PHONE":
        return n in (7, 10) or (n == 11 and digits[0] == "1") or (run.plus and 8 <= n <= 15)
    if cue == "ROUTING":
        return n >= 5
    return n <= 4  # KEEP


def _classify(
    toks: list[_Token], run: _Run, digits: str, prev_end: int, hint: str | None
) -> Kind | None:
    n = len(digits)
    if _is_amount(toks, run, n) or _is_date(toks, run, n):
        return None
    before = range(run.first - 1, max(prev_end, run.first - _CUE_WINDOW) - 1, -1)
    cues = [c for k in before if (c := _cue(toks, k))]
    for k in range(run.end, min(len(toks), run.end + 5)):  # "12345678 is my account number"
        if _piece(toks, k) is not None:
            break
        if (c := _cue(toks, k)) and c not in ("KEEP", "ROUTING"):
            cues.append(c)
    if hint is not None:  # from a mapping key: the weakest cue
        cues.append(hint)
    for cue in cues:
        if _fits(cue, digits, run):
            return _CUE_KINDS[cue]
    if n <= 7 and len(run.pieces) == 1 and run.pieces[0].grouped:
        return None  # "12,500": a quantity, written with thousands separators
    if run.plus and 8 <= n <= 15:
        return "PHONE"
    shape = [len(g) for g in run.groups]
    if shape == [3, 2, 4]:
        return "SSN"
    if shape == [3, 4] and not run.pieces[0].spoken:
        return "PHONE"
    if (n == 10 and digits[0] not in "01") or (n == 11 and digits[0] == "1" and digits[1] != "0"):
        return "PHONE"
    if 13 <= n <= 19:
        return "CARD"
    return "NUMBER" if n >= 5 else None


def _is_amount(toks: list[_Token], run: _Run, n: int) -> bool:
    """Money or a quantity: next to a currency or scale word ("1250 dollars", "two thousand")."""
    if n > 7:
        return False
    nxt = toks[run.end].low if run.end < len(toks) else ""
    prev = toks[run.first - 1].low if run.first > 0 else ""
    prev2 = toks[run.first - 2].low if run.first > 1 else ""
    return (
        nxt in _CURRENCY
        or nxt in _SCALES
        or prev in _CURRENCY
        or prev in _SCALES
        or (prev == "and" and prev2 in _SCALES)
    )


_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _is_date(toks: list[_Token], run: _Run, n: int) -> bool:
    """ "May 5 2024" (day and year after a month), or a year range such as "2019-2021"."""
    if n <= 6 and run.first > 0 and toks[run.first - 1].low in _MONTHS:
        return True
    return len(run.groups) == 2 and all(re.fullmatch(r"(?:19|20)[0-9]{2}", g) for g in run.groups)
