"""to_spoken: written answers rewritten for a TTS voice on the phone."""

from __future__ import annotations

import pytest

from dialogue.spoken import to_spoken

CASES = [
    # currency
    ("The fee is $5.", "The fee is 5 dollars."),
    ("It costs $12.50 a month.", "It costs 12 dollars 50 a month."),
    ("Limits up to $1,200 per day.", "Limits up to 1,200 dollars per day."),
    ("Just $1.", "Just 1 dollar."),
    ("Only $0.75 per item.", "Only 75 cents per item."),
    ("A charge of $3.05 applies.", "A charge of 3 dollars and 5 cents applies."),
    ("Cover up to $2.5 million.", "Cover up to 2.5 million dollars."),
    ("A fee of $10.00 applies.", "A fee of 10 dollars applies."),
    ("Send £20 or €15.", "Send 20 pounds or 15 euros."),
    # percentages
    ("The rate is 3%.", "The rate is 3 percent."),
    ("An APR of 19.9 % applies.", "An APR of 19.9 percent applies."),
    # hours, times, days
    ("Support is available 24/7.", "Support is available 24 hours a day, 7 days a week."),
    ("We open at 9am.", "We open at 9 am."),
    ("We open at 9 a.m.", "We open at 9 am."),
    ("We close at 5:30 PM today.", "We close at 5:30 pm today."),
    ("Open 9am-5pm Mon-Fri.", "Open 9 am to 5 pm Monday to Friday."),
    ("Open 9 a.m. to 5 p.m. Sat and Sun.", "Open 9 am to 5 pm Saturday and Sunday."),
    ("We open at 9 a.m. Call us then.", "We open at 9 am. Call us then."),
    ("Branches open Sat 10am-2pm.", "Branches open Saturday 10 am to 2 pm."),
    ("Closed Tues – Thurs.", "Closed Tuesday to Thursday."),
    # ranges
    ("Allow 2-3 business days.", "Allow 2 to 3 business days."),
    ("Effective 2024-01-15.", "Effective 2024-01-15."),
    # addresses
    ("Visit us at 12 Main St.", "Visit us at 12 Main Street."),
    ("Visit 12 Main St. We open at noon.", "Visit 12 Main Street. We open at noon."),
    ("Our branch on Elm Ave is open.", "Our branch on Elm Avenue is open."),
    ("Drive to 40 Oak Rd and park.", "Drive to 40 Oak Road and park."),
    ("We have a branch in St. Louis.", "We have a branch in St. Louis."),
    # abbreviations and symbols
    ("Use a card, e.g. debit.", "Use a card, for example debit."),
    ("Use a card, e.g., debit.", "Use a card, for example, debit."),
    ("Your PIN, i.e. the code, is secret.", "Your PIN, that is the code, is secret."),
    ("Terms & conditions apply.", "Terms and conditions apply."),
    ("It takes approx. 3 days.", "It takes about 3 days."),
    # links, email, phone numbers
    ("See https://northwindbank.example/fees for details.", "See our website for details."),
    ("Go to https://northwindbank.example/fees.", "Go to our website."),
    ("Visit www.northwindbank.example today.", "Visit our website today."),
    ("Read [the fee schedule](https://x.example/fees) first.", "Read the fee schedule first."),
    ("Write to help@northwind.example.", "Write to help at northwind dot example."),
    ("Call 1-800-555-0140 now.", "Call 1 800 555 0140 now."),
    ("Call (800) 555-0140.", "Call 800 555 0140."),
    ("Call 800.555.0140 today.", "Call 800 555 0140 today."),
    # markdown
    ("This is **very** important.", "This is very important."),
    ("Type `BALANCE` to check.", "Type BALANCE to check."),
    ("Use the *app* to pay.", "Use the app to pay."),
    ("# Fees\nA monthly fee applies.", "Fees. A monthly fee applies."),
    ("You can pay:\n- by card\n- by transfer", "You can pay: by card. by transfer."),
    ("Steps:\n1. Log in.\n2. Open Cards.", "Steps: Log in. Open Cards."),
    ("> Quoted advice here.\n\n---\nNext.", "Quoted advice here. Next."),
    # untouched
    ("Your balance is 1250 points.", "Your balance is 1250 points."),
    ("I am here to help.", "I am here to help."),
    ("", ""),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_to_spoken(written: str, spoken: str) -> None:
    assert to_spoken(written) == spoken


def test_wrapped_lines_are_joined_into_one_line() -> None:
    assert to_spoken("Cards arrive\nwithin 5 days.") == "Cards arrive within 5 days."


def test_sentences_stay_intact() -> None:
    text = "A replacement card costs $5. It arrives in 2-3 days. Call 1-800-555-0140 24/7."
    assert to_spoken(text) == (
        "A replacement card costs 5 dollars. It arrives in 2 to 3 days. "
        "Call 1 800 555 0140 24 hours a day, 7 days a week."
    )


def test_idempotent() -> None:
    once = to_spoken("Open 9am-5pm Mon-Fri at 12 Main St. Fees: $12.50 & 3%.")
    assert to_spoken(once) == once


def test_codes_are_read_digit_by_digit_but_amounts_are_not() -> None:
    assert to_spoken("Our routing number is 123456780.") == (
        "Our routing number is 1 2 3 4 5 6 7 8 0."
    )
    assert to_spoken("It holds 12,500 dollars in 2026.") == "It holds 12,500 dollars in 2026."
