"""The backend actions a flow's ``action:`` names, over :class:`~dialogue.bank.BankBackend`.

Each action takes the verified customer and the flow's slot values and returns the values
its ``done`` template may use (already in spoken form). Failures are the bank's own
:class:`~dialogue.bank.BankError`, whose message can be said to the caller as it is;
:func:`slot_to_reask` says which slot a failure sends the caller back to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dialogue.bank import (
    BankBackend,
    BankError,
    InsufficientFunds,
    InvalidAmount,
    SlotUnavailable,
    UnknownAccount,
    UnknownPayee,
)
from dialogue.flows import say_date, say_list, say_money, say_reference, say_time

Values = Mapping[str, Any]
Action = Callable[[BankBackend, str, Values, date, str], dict[str, Any]]

ACCOUNT_NAMES = {"checking": "checking", "savings": "savings", "credit": "credit card"}
"""How each account type is said ("a credit card account")."""


def _balance(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    accounts = {a.type: a for a in bank.accounts(customer)}
    wanted = list(accounts) if v["account"] == "all" else v["account"].split(" and ")
    parts = []
    for kind in wanted:
        if kind not in accounts:
            raise UnknownAccount(f"You don't have a {ACCOUNT_NAMES[kind]} account with us.")
        amount = say_money(bank.balance(customer, kind))
        if kind == "credit":
            parts.append(f"You owe {amount} on your credit card")
        else:
            parts.append(f"Your {kind} balance is {amount}")
    return {"balances": ". ".join(parts) + "."}


def _transfer(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    if v["from_account"] == v["to_account"]:
        raise UnknownAccount("The money has to go to a different account from the one it leaves.")
    result = bank.transfer(customer, v["from_account"], v["to_account"], v["amount"], key)
    return {
        "reference": say_reference(result.reference),
        "from_balance": say_money(result.from_balance),
        "to_balance": say_money(result.to_balance),
    }


def _replace_card(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    order = bank.replace_card(customer, v["card_type"], v["reason"])
    return {
        "reference": say_reference(order.reference),
        "delivery_days": order.delivery_days,
        "new_last4": order.new_last4,
    }


def _order_checks(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    order = bank.order_checks(customer, v["account"], int(v["quantity"]))
    return {"reference": say_reference(order.reference), "delivery_days": order.delivery_days}


def _pay_bill(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    payment = bank.pay_bill(customer, v["payee"], v["amount"], v["account"], v["date"])
    status = (
        "paid" if payment.status == "paid" else f"scheduled for {say_date(payment.date, today)}"
    )
    return {"reference": say_reference(payment.reference), "status": status}


def _book(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    when = datetime.combine(v["date"], v["time"])
    appointment = bank.book_appointment(customer, v["branch"], when, v["topic"])
    return {"reference": say_reference(appointment.reference)}


def _password_reset(bank: BankBackend, customer: str, v: Values, today: date, key: str) -> dict:
    reset = bank.send_password_reset(customer)
    return {
        "reference": say_reference(reset.reference),
        "sent_to": reset.sent_to,
        "expires_minutes": reset.expires_minutes,
    }


ACTIONS: dict[str, Action] = {
    "balance": _balance,
    "transfer": _transfer,
    "replace_card": _replace_card,
    "order_checks": _order_checks,
    "pay_bill": _pay_bill,
    "book_appointment": _book,
    "send_password_reset": _password_reset,
}


def preview(bank: BankBackend, customer: str | None, values: Values, today: date) -> dict:
    """Values a ``confirm`` template may use beyond the slots (e.g. which card is blocked).
    Raises the bank's error for what it would refuse anyway (a card the caller doesn't
    have, an appointment off the hour), so the caller hears it before the read-back."""
    out: dict[str, Any] = {}
    if customer and values.get("card_type"):
        cards = [c for c in bank.cards(customer) if c.type == values["card_type"]]
        active = [c for c in cards if c.status == "active"] or cards
        if not active:
            raise UnknownAccount(f"You don't have a {values['card_type']} card with us.")
        out["card_last4"] = " ".join(active[0].last4)
    moment = values.get("time")
    if values.get("branch") and moment is not None and (moment.minute or moment.second):
        # said before the read-back, not after the caller's "yes" ("quarter past two")
        raise SlotUnavailable("Appointments start on the hour.")
    return out


def describe(name: str, value: Any, today: date) -> str:
    """A slot value as said in a prompt."""
    if isinstance(value, Decimal):
        return say_money(value)
    if name == "account" and value == "all":
        return "all your accounts"
    if isinstance(value, datetime):
        return f"{say_date(value.date(), today)} at {say_time(value.time())}"
    if isinstance(value, date):
        return say_date(value, today)
    if hasattr(value, "hour"):
        return say_time(value)
    if value in ACCOUNT_NAMES and name.endswith("account"):
        return ACCOUNT_NAMES[value]
    return str(value)


def slot_to_reask(error: BankError, slot_names: list[str]) -> str | None:
    """The slot a bank failure sends the caller back to, or None to stop the task."""
    wanted: list[str] = []
    if isinstance(error, (InsufficientFunds, InvalidAmount)):
        wanted = ["amount", "quantity"]
    elif isinstance(error, UnknownPayee):
        wanted = ["payee"]
    elif isinstance(error, SlotUnavailable):
        wanted = ["time", "date"] if "closed" not in str(error) else ["date"]
    elif isinstance(error, UnknownAccount):
        wanted = ["from_account", "to_account", "account", "card_type"]
    return next((name for name in wanted if name in slot_names), None)


__all__ = ["ACTIONS", "describe", "preview", "say_list", "slot_to_reask"]
