"""The demo bank: verification, money movement, orders, bill pay and appointments."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest

from dialogue.bank import (
    BankBackend,
    BankError,
    BankUnavailable,
    DemoBank,
    InsufficientFunds,
    InvalidAmount,
    SlotTaken,
    SlotUnavailable,
    UnknownAccount,
    UnknownPayee,
    VerificationFailed,
)

NOW = datetime(2025, 6, 11, 8, 0)  # a Wednesday, before opening
WEDNESDAY, SATURDAY, SUNDAY = date(2025, 6, 11), date(2025, 6, 14), date(2025, 6, 15)


@pytest.fixture
def bank() -> DemoBank:
    with DemoBank(clock=lambda: NOW) as b:
        yield b


def alex(bank: DemoBank) -> str:
    customer = bank.find_customer("Alex Morgan", last4="4821")
    assert customer is not None
    return customer.id


def test_demo_bank_is_a_backend(bank):
    assert isinstance(bank, BankBackend)


# -- verification


def test_verify_by_last4_of_account_or_card_with_messy_name(bank):
    by_account = bank.find_customer("  alex   MORGAN ", last4="4821")
    by_card = bank.find_customer("Alex Morgan", last4="55 21")
    assert by_account is not None and by_account.name == "Alex Morgan"
    assert by_account.verified_by == "last4"
    assert by_card == by_account


def test_verify_by_pin(bank):
    customer = bank.find_customer("priya shah", pin="2468")
    assert customer is not None and customer.name == "Priya Shah"
    assert customer.verified_by == "pin"


@pytest.mark.parametrize(
    "name, last4, pin",
    [
        ("Alex Morgan", "1357", None),  # Priya's account
        ("Alex Morgan", None, "2468"),  # Priya's PIN
        ("Alex Morgan", "4821", "0000"),  # right card, wrong PIN
        ("Alex Norton", "4821", None),  # another name
        ("Sam Leigh", "4821", None),  # sounds like Sam Lee, but Alex's card
    ],
)
def test_verification_fails(bank, name, last4, pin):
    assert bank.find_customer(name, last4=last4, pin=pin) is None


@pytest.mark.parametrize("heard", ["Alex Morgen", "alex morgan", "Alex  Morgan"])
def test_a_name_spelt_as_it_sounds_still_verifies_with_the_digits(bank, heard):
    # a transcript may spell a name another way; the digits are what prove who it is
    customer = bank.find_customer(heard, last4="4821")
    assert customer is not None and customer.name == "Alex Morgan"


def test_verification_needs_a_credential(bank):
    with pytest.raises(VerificationFailed):
        bank.find_customer("Alex Morgan")


def test_unknown_customer_id_must_verify_again(bank):
    with pytest.raises(VerificationFailed):
        bank.balance("C9999", "checking")


# -- balances and transfers


def test_balances(bank):
    cid = alex(bank)
    assert bank.balance(cid, "checking") == Decimal("2450.75")
    assert [(a.type, a.number_last4, a.balance) for a in bank.accounts(cid)] == [
        ("checking", "4821", Decimal("2450.75")),
        ("savings", "7719", Decimal("10200.00")),
        ("credit", "3390", Decimal("615.20")),
    ]
    priya = bank.find_customer("Priya Shah", pin="2468")
    with pytest.raises(UnknownAccount, match="credit"):
        bank.balance(priya.id, "credit")


def test_transfer_moves_money(bank):
    cid = alex(bank)
    result = bank.transfer(cid, "checking", "savings", Decimal("450.75"), "k1")
    assert result.reference.startswith("TR-")
    assert (result.from_balance, result.to_balance) == (Decimal("2000.00"), Decimal("10650.75"))
    assert bank.balance(cid, "checking") == Decimal("2000.00")
    assert bank.balance(cid, "savings") == Decimal("10650.75")


def test_transfer_to_credit_pays_it_down(bank):
    cid = alex(bank)
    result = bank.transfer(cid, "checking", "credit", Decimal("15.20"), "k1")
    assert result.to_balance == Decimal("600.00")
    with pytest.raises(InvalidAmount, match="owed"):
        bank.transfer(cid, "savings", "credit", Decimal("600.01"), "k2")


def test_insufficient_funds_leaves_balances_unchanged(bank):
    cid = alex(bank)
    with pytest.raises(InsufficientFunds) as err:
        bank.transfer(cid, "checking", "savings", Decimal("2450.76"), "k1")
    assert not err.value.retryable
    assert err.value.balance == Decimal("2450.75")
    assert "\n" not in str(err.value) and "$2,450.75" in str(err.value)
    assert bank.balance(cid, "checking") == Decimal("2450.75")
    assert bank.balance(cid, "savings") == Decimal("10200.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("1.005"), "abc"])
def test_invalid_amounts(bank, amount):
    with pytest.raises(InvalidAmount):
        bank.transfer(alex(bank), "checking", "savings", amount, "k1")


def test_transfer_is_idempotent(bank):
    cid = alex(bank)
    first = bank.transfer(cid, "checking", "savings", Decimal("100"), "same-key")
    again = bank.transfer(cid, "checking", "savings", Decimal("100"), "same-key")
    assert again == first
    assert bank.balance(cid, "checking") == Decimal("2350.75")
    with pytest.raises(BankError, match="already used"):
        bank.transfer(cid, "checking", "savings", Decimal("200"), "same-key")


def test_failed_transfer_does_not_consume_the_key(bank):
    cid = alex(bank)
    with pytest.raises(InsufficientFunds):
        bank.transfer(cid, "checking", "savings", Decimal("5000"), "k1")
    assert bank.transfer(cid, "checking", "savings", Decimal("50"), "k1").amount == Decimal("50")


def test_no_transfer_out_of_credit_or_to_same_account(bank):
    cid = alex(bank)
    with pytest.raises(UnknownAccount):
        bank.transfer(cid, "credit", "checking", Decimal("10"), "k1")
    with pytest.raises(BankError):
        bank.transfer(cid, "checking", "checking", Decimal("10"), "k2")


def test_concurrent_transfers_keep_the_total(tmp_path):
    bank = DemoBank(tmp_path / "bank.db")
    cid = bank.find_customer("Sam Lee", pin="3141").id  # small balances: some transfers fail
    total = bank.balance(cid, "checking") + bank.balance(cid, "savings")
    errors: list[Exception] = []

    def worker(n: int) -> None:
        for i in range(40):
            src, dst = ("checking", "savings") if (n + i) % 2 else ("savings", "checking")
            try:
                bank.transfer(cid, src, dst, Decimal("37.13") * (i % 5 + 1), f"t{n}-{i}")
            except InsufficientFunds:
                pass
            except Exception as e:  # any other error fails the test
                errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    balances = bank.balance(cid, "checking"), bank.balance(cid, "savings")
    assert sum(balances) == total and min(balances) >= 0
    bank.close()


# -- cards and checks


def test_replace_card_blocks_the_old_one(bank):
    cid = alex(bank)
    order = bank.replace_card(cid, "debit", "lost")
    assert order.blocked_last4 == "5521" and order.new_last4 != "5521"
    assert order.reference.startswith("CR-") and order.delivery_days == 2
    debit = [(c.last4, c.status) for c in bank.cards(cid) if c.type == "debit"]
    assert debit == [("5521", "blocked"), (order.new_last4, "ordered")]
    assert bank.find_customer("Alex Morgan", last4="5521") is not None  # still identifies
    assert bank.replace_card(cid, "debit", "damaged").blocked_last4 == order.new_last4


def test_replace_card_without_one(bank):
    priya = bank.find_customer("Priya Shah", pin="2468")
    with pytest.raises(UnknownAccount, match="credit card"):
        bank.replace_card(priya.id, "credit", "stolen")


def test_order_checks(bank):
    cid = alex(bank)
    order = bank.order_checks(cid, "checking", quantity=2)
    assert order.reference.startswith("CK-") and order.quantity == 2
    with pytest.raises(UnknownAccount):
        bank.order_checks(cid, "savings")
    with pytest.raises(InvalidAmount):
        bank.order_checks(cid, "checking", quantity=0)


# -- bill pay


def test_pay_known_payee(bank):
    cid = alex(bank)
    assert "City Power" in bank.payees(cid)
    payment = bank.pay_bill(cid, "city  power", Decimal("84.20"), "checking")
    assert (payment.payee, payment.status, payment.date) == ("City Power", "paid", WEDNESDAY)
    assert bank.balance(cid, "checking") == Decimal("2366.55")


def test_scheduled_payment_does_not_debit_yet(bank):
    cid = alex(bank)
    payment = bank.pay_bill(cid, "Metro Water", Decimal("40"), date=SATURDAY)
    assert payment.status == "scheduled"
    assert bank.balance(cid, "checking") == Decimal("2450.75")


def test_pay_unknown_payee(bank):
    cid = alex(bank)
    with pytest.raises(UnknownPayee, match="Acme Gym"):
        bank.pay_bill(cid, "Acme Gym", Decimal("30"))
    assert bank.balance(cid, "checking") == Decimal("2450.75")


def test_pay_more_than_balance(bank):
    john = bank.find_customer("John Smith", pin="9012")
    with pytest.raises(InsufficientFunds):
        bank.pay_bill(john.id, "City Power", Decimal("98.61"))


# -- appointments


def test_open_slots(bank):
    slots = bank.open_slots("Elm Street", WEDNESDAY)
    assert [s.hour for s in slots] == list(range(9, 17))
    assert [s.hour for s in bank.open_slots("harbor road", SATURDAY)] == [9, 10, 11]
    assert bank.open_slots("Oak Avenue", SATURDAY) == []


def test_book_and_taken_slot(bank):
    cid = alex(bank)
    when = datetime(2025, 6, 11, 10)
    booked = bank.book_appointment(cid, "elm street", when, "mortgage")
    assert (booked.branch, booked.when, booked.topic) == ("Elm Street", when, "mortgage")
    assert when not in bank.open_slots("Elm Street", WEDNESDAY)
    with pytest.raises(SlotTaken) as err:
        bank.book_appointment(cid, "Elm Street", when, "loan")
    assert not err.value.retryable
    bank.book_appointment(cid, "Harbor Road", when, "loan")  # other branch is free


def test_sunday_closed(bank):
    cid = alex(bank)
    assert bank.open_slots("Elm Street", SUNDAY) == []
    with pytest.raises(SlotUnavailable, match="closed on Sundays"):
        bank.book_appointment(cid, "Elm Street", datetime(2025, 6, 15, 10), "loan")


@pytest.mark.parametrize(
    "branch, when",
    [
        ("Elm Street", datetime(2025, 6, 11, 17)),  # after hours
        ("Elm Street", datetime(2025, 6, 11, 10, 30)),  # not on the hour
        ("Elm Street", datetime(2025, 6, 10, 10)),  # yesterday
        ("Oak Avenue", datetime(2025, 6, 14, 10)),  # Oak Avenue on a Saturday
        ("Pine Lane", datetime(2025, 6, 11, 10)),  # no such branch
    ],
)
def test_unavailable_slots(bank, branch, when):
    with pytest.raises(SlotUnavailable) as err:
        bank.book_appointment(alex(bank), branch, when, "loan")
    assert not isinstance(err.value, SlotTaken)


# -- persistence


def test_file_db_persists_across_reopen(tmp_path):
    path = tmp_path / "bank.db"
    with DemoBank(path, clock=lambda: NOW) as bank:
        cid = alex(bank)
        bank.transfer(cid, "checking", "savings", Decimal("50"), "k1")
        bank.book_appointment(cid, "Elm Street", datetime(2025, 6, 11, 9), "loan")
    with DemoBank(path, clock=lambda: NOW) as bank:
        assert bank.balance(cid, "checking") == Decimal("2400.75")
        assert bank.transfer(cid, "checking", "savings", Decimal("50"), "k1").from_balance == (
            Decimal("2400.75")
        )
        assert len(bank.open_slots("Elm Street", WEDNESDAY)) == 7
        bank.reset()
        assert bank.balance(cid, "checking") == Decimal("2450.75")
        assert len(bank.open_slots("Elm Street", WEDNESDAY)) == 8


def test_busy_database_is_retryable():
    assert BankUnavailable().retryable
    assert not VerificationFailed("x").retryable
