"""Slot extraction over the phrasings Whisper actually writes: digits, words and the mix."""

from __future__ import annotations

import time as clock
from datetime import date, time
from decimal import Decimal

import pytest

from dialogue.slots import (
    Amount,
    corrected_part,
    extract_account_type,
    extract_account_types,
    extract_amount,
    extract_card_type,
    extract_date,
    extract_datetime,
    extract_digits,
    extract_name,
    extract_phone,
    extract_time,
    is_correction,
    words_to_number,
)

TODAY = date(2026, 3, 11)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a hundred and thirty five", 135),
        ("two thousand five hundred", 2500),
        ("one point five", 1.5),
        ("a dozen", 12),
        ("two dozen", 24),
        ("zero", 0),
        ("oh", 0),
        ("twenty-one", 21),
        ("nineteen", 19),
        ("one million two hundred thousand", 1_200_000),
        ("three hundred and six", 306),
        ("fifteen hundred", 1500),
        ("about 135 of them", 135),
        ("2,500", 2500),
        ("5 thousand", 5000),
        ("point five", 0.5),
        ("twelve fifty", 12),  # separate numbers are not joined
        ("I'd like a refund", None),
        ("hello there", None),
        ("", None),
    ],
)
def test_words_to_number(text: str, expected: float | None) -> None:
    assert words_to_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$135", "135"),
        ("I want to pay $135 today", "135"),
        ("135 dollars", "135"),
        ("a hundred and thirty five dollars", "135"),
        ("one hundred dollars and fifty cents", "100.50"),
        ("twelve dollars fifty", "12.50"),
        ("twelve fifty dollars", "12.50"),
        ("can I pay twelve fifty", "12.50"),
        ("transfer five hundred to savings", "500"),
        ("send them 40", "40"),
        ("fifty bucks", "50"),
        ("2,500.75", "2500.75"),
        ("$2,500.75", "2500.75"),
        ("two grand", "2000"),
        ("fifty cents", "0.50"),
        ("one thirty-five dollars", "1.35"),
        ("actually make it two hundred", "200"),
        ("$1.5 million", "1500000"),
        ("can you move half a grand from my checking", "500"),
        ("a grand", "1000"),
        ("I want to shift seven hundred and fifty from savings", "750"),
        ("it's seventy five even", "75"),
    ],
)
def test_extract_amount(text: str, expected: str) -> None:
    assert extract_amount(text) == Amount(Decimal(expected))


def test_extract_amount_other_currencies() -> None:
    assert extract_amount("twenty euros") == Amount(Decimal(20), "EUR")
    assert extract_amount("£15") == Amount(Decimal(15), "GBP")


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to pay my bill",
        "send me two statements",
        "I have 3 accounts",
        "my card ends in 4572",
        "twelve fifty",  # no money context
        "pay 5 bills",
        "what's my balance",
        "I have a grandson",
    ],
)
def test_extract_amount_none(text: str) -> None:
    assert extract_amount(text) is None


@pytest.mark.parametrize(
    ("text", "length", "expected"),
    [
        ("4 5 7 2", None, "4572"),
        ("four five seven two", None, "4572"),
        ("forty five seventy two", None, "4572"),
        ("double five two one", None, "5521"),
        ("triple 0", None, "000"),
        ("five oh five", None, "505"),
        ("it's 4572", None, "4572"),
        ("four, five, seven, two.", None, "4572"),
        ("one eight hundred", None, "1800"),
        ("the one ending in 4572", 4, "4572"),
        ("my pin is one two three four", 4, "1234"),
        ("1234 no sorry 1243", 4, "1243"),
        ("nineteen eighty five", None, "1985"),
        ("uh four um five seven two", None, "4572"),
        ("four five seven", 4, None),
        ("I'd like to talk about my card", None, None),
        ("oh I see", None, None),
        ("for the card I use", None, None),
        ("4111 1111 1111 4572", 4, None),  # a whole card is one run, not four digits
        ("eleven hundred that's my checking", 4, "1100"),
        ("two, two, eight and eight", 4, "2288"),
        ("three and three and zero and six", 4, "3306"),
        ("twenty two hundred", 4, "2200"),
    ],
)
def test_extract_digits(text: str, length: int | None, expected: str | None) -> None:
    assert extract_digits(text, length) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 (555) 010-0199", "+15550100199"),
        ("555-010-0199", "+15550100199"),
        ("my number is 555 010 0199", "+15550100199"),
        ("five five five oh one oh oh one nine nine", "+15550100199"),
        ("five five five, zero one zero, zero one double nine", "+15550100199"),
        ("one five five five oh one oh oh one nine nine", "+15550100199"),
        ("call me on 5550100199 please", "+15550100199"),
        ("my number is 555 0199", None),
        ("0123456789", None),
        ("I don't have a phone", None),
    ],
)
def test_extract_phone(text: str, expected: str | None) -> None:
    assert extract_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 3, 11)),
        ("tomorrow please", date(2026, 3, 12)),
        ("the day after tomorrow", date(2026, 3, 13)),
        ("next Monday", date(2026, 3, 16)),
        ("Monday", date(2026, 3, 16)),
        ("on Wednesday", date(2026, 3, 18)),  # today is excluded
        ("this Wednesday", date(2026, 3, 11)),
        ("this Friday", date(2026, 3, 13)),
        ("last Friday", date(2026, 3, 6)),
        ("on the 15th", date(2026, 3, 15)),
        ("the fifth", date(2026, 4, 5)),  # already past this month
        ("on the thirty first", date(2026, 3, 31)),
        ("March 3rd", date(2027, 3, 3)),
        ("March the twentieth", date(2026, 3, 20)),
        ("may 5", date(2026, 5, 5)),
        ("3/14", date(2026, 3, 14)),
        ("3/14/2027", date(2027, 3, 14)),
        ("2026-04-01", date(2026, 4, 1)),
        ("the fifth of May", date(2026, 5, 5)),
        ("21st of June", date(2026, 6, 21)),
        ("June 21st 2027", date(2027, 6, 21)),
        ("in two weeks", date(2026, 3, 25)),
        ("in 3 days", date(2026, 3, 14)),
        ("in a month", date(2026, 4, 11)),
        ("I'm the fifth caller today", date(2026, 3, 11)),
        ("I'm the fifth caller", None),
        ("may I pay my bill", None),
        ("2/30", None),
        ("next week", None),
        ("I'd like to pay my bill", None),
        ("the first of next month", date(2026, 4, 1)),
        ("on the thirty first of next month", None),  # April has 30 days
        ("a week from today", date(2026, 3, 18)),
        ("make it go out two weeks from today", date(2026, 3, 25)),
        ("three days from tomorrow", date(2026, 3, 15)),
        ("a week from Monday", date(2026, 3, 23)),
        ("don't take it today, put it through on the first of next month", date(2026, 4, 1)),
        ("not today, tomorrow", date(2026, 3, 12)),
        ("on ten December", date(2026, 12, 10)),
        ("ten may I ask", None),
    ],
)
def test_extract_date(text: str, expected: date | None) -> None:
    assert extract_date(text, TODAY) == expected


def test_extract_date_past_preference() -> None:
    assert extract_date("I was charged on March 3rd", TODAY, prefer_future=False) == date(
        2026, 3, 3
    )
    assert extract_date("on the 15th", TODAY, prefer_future=False) == date(2026, 2, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at eleven", time(11, 0)),
        ("at two", time(14, 0)),
        ("at twelve", time(12, 0)),
        ("11 am", time(11, 0)),
        ("11am", time(11, 0)),
        ("seven p.m.", time(19, 0)),
        ("eight a m", time(8, 0)),
        ("half past two", time(14, 30)),
        ("quarter to three", time(14, 45)),
        ("quarter past nine", time(9, 15)),
        ("ten past four", time(16, 10)),
        ("twenty five to six", time(17, 35)),
        ("two thirty", time(14, 30)),
        ("nine oh five", time(9, 5)),
        ("one thirty-five", time(13, 35)),
        ("14:30", time(14, 30)),
        ("2:30", time(14, 30)),
        ("2:30 am", time(2, 30)),
        ("08:00", time(8, 0)),
        ("noon", time(12, 0)),
        ("midnight", time(0, 0)),
        ("ten o'clock", time(10, 0)),
        ("three in the morning", time(3, 0)),
        ("at six in the evening", time(18, 0)),
        ("at 9", time(9, 0)),
        ("around 3", time(15, 0)),
        ("at 11 30", time(11, 30)),
        ("fourteen hundred", time(14, 0)),
        ("eleven", time(11, 0)),
        ("I have eleven questions", None),
        ("twelve fifty dollars", None),
        ("what are your hours", None),
        ("the fifth of May", None),
    ],
)
def test_extract_time(text: str, expected: time | None) -> None:
    assert extract_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Monday at eleven", (date(2026, 3, 16), time(11, 0))),
        ("tomorrow at half past two", (date(2026, 3, 12), time(14, 30))),
        ("March 3rd at 9 am", (date(2027, 3, 3), time(9, 0))),
        ("at noon", (None, time(12, 0))),
        ("on Friday", (date(2026, 3, 13), None)),
        ("whenever suits you", None),
    ],
)
def test_extract_datetime(text: str, expected: tuple | None) -> None:
    assert extract_datetime(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checking", "checking"),
        ("my checking account", "checking"),
        ("the chequing one", "checking"),
        ("current account", "checking"),
        ("savings", "savings"),
        ("from my saving account", "savings"),
        ("credit card account", "credit"),
        ("no, savings", "savings"),
        ("not checking, savings", "savings"),
        ("I'm checking my balance", None),
        ("I'm saving for a car", None),
        ("what's my current balance", None),
        ("my credit union membership", None),
        ("debit card", None),
    ],
)
def test_extract_account_type(text: str, expected: str | None) -> None:
    assert extract_account_type(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my debit card", "debit"),
        ("credit", "credit"),
        ("it's my Visa credit card", "credit"),
        ("my ATM card", "debit"),
        ("not the credit card, the debit card", "debit"),
        ("my credit score", None),
        ("my card", None),
    ],
)
def test_extract_card_type(text: str, expected: str | None) -> None:
    assert extract_card_type(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is John Smith", "John Smith"),
        ("my name is john smith", "John Smith"),
        ("Hi, this is Maria Garcia.", "Maria Garcia"),
        ("It's Ann.", "Ann"),
        ("John Smith speaking", "John Smith"),
        ("Hello, John Smith speaking.", "John Smith"),
        ("my name's anne-marie o'brien", "Anne-Marie O'Brien"),
        ("My name is Ronald McDonald and I need help", "Ronald McDonald"),
        ("call me Bob", "Bob"),
        ("This is about my card", None),
        ("it's not working", None),
        ("this is urgent", None),
        ("John Smith", None),  # not introduced
        ("I'd like to talk about my card", None),
    ],
)
def test_extract_name(text: str, expected: str | None) -> None:
    assert extract_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no, savings", True),
        ("actually make it two hundred", True),
        ("I meant Tuesday", True),
        ("not checking, savings", True),
        ("no wait, the fifteenth", True),
        ("sorry, actually it's Friday", True),
        ("it's not Monday, it's Tuesday", True),
        ("savings instead", True),
        ("that's wrong", True),
        ("no", False),
        ("no thanks", False),
        ("no, that's all", False),
        ("no I don't", False),
        ("yes please", False),
        ("I'm not sure", False),
        ("not really", False),
        ("I'd like to pay my bill", False),
    ],
)
def test_is_correction(text: str, expected: bool) -> None:
    assert is_correction(text) is expected


def test_extractors_are_fast() -> None:
    text = "actually, transfer a hundred and thirty five dollars next Monday at half past two"
    start = clock.perf_counter()
    for _ in range(100):
        extract_amount(text)
        extract_datetime(text, TODAY)
        extract_digits(text)
    assert (clock.perf_counter() - start) / 100 < 0.001 * 3


def test_what_it_should_have_been_is_the_correction() -> None:
    said = "into checking oh and hang on I said four hundred that should've been three hundred"
    assert corrected_part(said) == "three hundred"


def test_a_title_before_the_name_is_not_part_of_it() -> None:
    assert extract_name("this is Mr Alex Morgan") == "Alex Morgan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and what's in my checking's", ["checking"]),
        ("what do I owe on my credit card, and what's in my saving", ["credit", "savings"]),
        ("what do I owe on the card", ["credit"]),
        ("how much do I owe you for the wire", []),
        ("not checking, savings", ["savings"]),
    ],
)
def test_every_account_named(text: str, expected: list[str]) -> None:
    assert extract_account_types(text) == expected
