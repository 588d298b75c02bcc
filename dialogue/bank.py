"""The bank behind the self-service flows: a protocol a real bank implements, and a demo bank.

The dialogue manager talks to a :class:`BankBackend` only; a deployment wires in an adapter
over the bank's own API, and the demo and the tests use :class:`DemoBank`, a small SQLite
bank that is created and seeded the first time it is opened. Every failure a caller can
hear is a :class:`BankError` whose message is one plain sentence that can be spoken as is,
and whose ``retryable`` says whether trying again could help.

Money is :class:`~decimal.Decimal` dollars at the API and integer cents in the database.
A credit account's balance is the amount owed; a transfer to it is a payment.

Seeded demo customers (verify with the name plus any last four listed, or the PIN):

* Alex Morgan, PIN 1234: checking 4821 ($2,450.75), savings 7719 ($10,200.00),
  credit card 3390 (owes $615.20), debit card 5521.
* Priya Shah, PIN 2468: checking 1357 ($1,830.40), savings 2469 ($5,400.00),
  debit card 8842.
* Sam Lee, PIN 3141: checking 6024 ($312.18), savings 9150 ($75.00),
  credit card 2288 (owes $1,204.55), debit card 4417.
* Maria Garcia, PIN 5678: checking 3306 ($4,120.00), savings 8813 ($22,350.90),
  debit card 7265.
* John Smith, PIN 9012: checking 1100 ($98.60), savings 2200 ($1,500.00),
  credit card 4471 (owes $0.00), debit card 6633.

Every customer has the payees "City Power", "Metro Water" and "Northwind Credit Card";
Priya Shah and Maria Garcia also pay "Bayside Internet". Branches: "Elm Street",
"Harbor Road" and "Oak Avenue" take appointments on the hour, 9:00 to 16:00 Monday to
Friday and 9:00 to 11:00 on Saturdays (Oak Avenue is closed on Saturdays; all are closed
on Sundays). :meth:`DemoBank.reset` puts all of this back.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Account",
    "AccountType",
    "Appointment",
    "BankBackend",
    "BankError",
    "BankUnavailable",
    "BRANCHES",
    "Card",
    "CardOrder",
    "CardType",
    "CheckOrder",
    "Customer",
    "DemoBank",
    "InsufficientFunds",
    "InvalidAmount",
    "PasswordReset",
    "Payment",
    "SlotTaken",
    "SlotUnavailable",
    "TransferResult",
    "UnknownAccount",
    "UnknownPayee",
    "VerificationFailed",
]

AccountType = Literal["checking", "savings", "credit"]
CardType = Literal["debit", "credit"]

BRANCHES = ("Elm Street", "Harbor Road", "Oak Avenue")
WEEKDAY_HOURS = range(9, 17)  # slots start 9:00 .. 16:00
SATURDAY_HOURS = range(9, 12)
CLOSED_SATURDAYS = frozenset({"Oak Avenue"})


# --------------------------------------------------------------------------- errors


class BankError(Exception):
    """A bank operation failed; ``str(error)`` is one sentence fit to be spoken."""

    retryable: bool = False


class BankUnavailable(BankError):
    """The bank could not be reached or was busy; trying again may work."""

    retryable = True

    def __init__(self, message: str = "Our banking system is busy right now.") -> None:
        super().__init__(message)


class VerificationFailed(BankError):
    """The caller is not (or is no longer) a verified customer."""


class UnknownAccount(BankError):
    """The customer has no account or card of that type."""


class UnknownPayee(BankError):
    """The payee is not on the customer's list of payees."""


class InvalidAmount(BankError):
    """The amount is zero, negative, finer than a cent, or otherwise not allowed."""


class InsufficientFunds(BankError):
    """The account does not hold enough money."""

    def __init__(self, message: str, *, balance: Decimal, amount: Decimal) -> None:
        super().__init__(message)
        self.balance = balance
        self.amount = amount


class SlotUnavailable(BankError):
    """The branch does not take appointments at that time (closed, off the hour, or past)."""


class SlotTaken(SlotUnavailable):
    """Someone else already booked that slot."""


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    verified_by: Literal["last4", "pin"]


@dataclass(frozen=True, slots=True)
class Account:
    type: AccountType
    number_last4: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Card:
    type: CardType
    last4: str
    status: Literal["active", "blocked", "ordered"]


@dataclass(frozen=True, slots=True)
class TransferResult:
    reference: str
    from_type: AccountType
    to_type: AccountType
    amount: Decimal
    from_balance: Decimal
    to_balance: Decimal


@dataclass(frozen=True, slots=True)
class CardOrder:
    reference: str
    card_type: CardType
    blocked_last4: str
    new_last4: str
    delivery_days: int


@dataclass(frozen=True, slots=True)
class CheckOrder:
    reference: str
    account_type: AccountType
    quantity: int
    delivery_days: int


@dataclass(frozen=True, slots=True)
class Payment:
    reference: str
    payee: str
    amount: Decimal
    account_type: AccountType
    date: date
    status: Literal["paid", "scheduled"]


@dataclass(frozen=True, slots=True)
class Appointment:
    reference: str
    branch: str
    when: datetime
    topic: str


@dataclass(frozen=True, slots=True)
class PasswordReset:
    reference: str
    sent_to: str
    """Where the link went, safe to say aloud ("the mobile number ending in 0142")."""
    expires_minutes: int


@runtime_checkable
class BankBackend(Protocol):
    """What the self-service flows need from a bank. Times are naive, in branch local time."""

    def find_customer(
        self, name: str, last4: str | None = None, pin: str | None = None
    ) -> Customer | None:
        """The customer called ``name`` if ``last4`` (any card or account) or ``pin`` match."""
        ...

    def accounts(self, customer_id: str) -> list[Account]: ...

    def cards(self, customer_id: str) -> list[Card]: ...

    def balance(self, customer_id: str, account_type: AccountType) -> Decimal: ...

    def transfer(
        self,
        customer_id: str,
        from_type: AccountType,
        to_type: AccountType,
        amount: Decimal,
        idempotency_key: str,
    ) -> TransferResult:
        """Move money between the customer's own accounts, once per ``idempotency_key``."""
        ...

    def replace_card(self, customer_id: str, card_type: CardType, reason: str) -> CardOrder:
        """Block the active card of that type and order a new one."""
        ...

    def order_checks(
        self, customer_id: str, account_type: AccountType, quantity: int = 1
    ) -> CheckOrder: ...

    def pay_bill(
        self,
        customer_id: str,
        payee: str,
        amount: Decimal,
        account_type: AccountType = "checking",
        date: date | None = None,
    ) -> Payment: ...

    def payees(self, customer_id: str) -> list[str]: ...

    def book_appointment(
        self, customer_id: str, branch: str, when: datetime, topic: str
    ) -> Appointment: ...

    def open_slots(self, branch: str, day: date) -> list[datetime]: ...

    def send_password_reset(self, customer_id: str) -> PasswordReset:
        """Send an online-banking password-reset link to the customer's phone on file."""
        ...


# --------------------------------------------------------------------------- demo data

_PAYEES = ("City Power", "Metro Water", "Northwind Credit Card")

# id, name, pin, [(type, last4, cents)], [(card type, last4)], extra payees
_SEED = [
    (
        "C1001",
        "Alex Morgan",
        "1234",
        [("checking", "4821", 245075), ("savings", "7719", 1020000), ("credit", "3390", 61520)],
        [("debit", "5521"), ("credit", "3390")],
        (),
    ),
    (
        "C1002",
        "Priya Shah",
        "2468",
        [("checking", "1357", 183040), ("savings", "2469", 540000)],
        [("debit", "8842")],
        ("Bayside Internet",),
    ),
    (
        "C1003",
        "Sam Lee",
        "3141",
        [("checking", "6024", 31218), ("savings", "9150", 7500), ("credit", "2288", 120455)],
        [("debit", "4417"), ("credit", "2288")],
        (),
    ),
    (
        "C1004",
        "Maria Garcia",
        "5678",
        [("checking", "3306", 412000), ("savings", "8813", 2235090)],
        [("debit", "7265")],
        ("Bayside Internet",),
    ),
    (
        "C1005",
        "John Smith",
        "9012",
        [("checking", "1100", 9860), ("savings", "2200", 150000), ("credit", "4471", 0)],
        [("debit", "6633"), ("credit", "4471")],
        (),
    ),
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL, pin TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    customer_id TEXT NOT NULL REFERENCES customers(id), type TEXT NOT NULL,
    last4 TEXT NOT NULL, cents INTEGER NOT NULL, PRIMARY KEY (customer_id, type));
CREATE TABLE IF NOT EXISTS cards (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
    type TEXT NOT NULL, last4 TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payees (
    customer_id TEXT NOT NULL REFERENCES customers(id), name TEXT NOT NULL,
    PRIMARY KEY (customer_id, name));
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL,
    from_type TEXT NOT NULL, to_type TEXT NOT NULL, cents INTEGER NOT NULL,
    from_cents INTEGER NOT NULL, to_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS card_orders (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, card_type TEXT NOT NULL,
    blocked_last4 TEXT NOT NULL, new_last4 TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS check_orders (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, account_type TEXT NOT NULL,
    quantity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, payee TEXT NOT NULL,
    cents INTEGER NOT NULL, account_type TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS appointments (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, branch TEXT NOT NULL,
    starts TEXT NOT NULL, topic TEXT NOT NULL, UNIQUE (branch, starts));
CREATE TABLE IF NOT EXISTS password_resets (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL);
"""
_TABLES = (
    "password_resets appointments payments check_orders card_orders transfers payees cards"
    " accounts customers"
).split()
_CARD_DELIVERY_DAYS = {"lost": 2, "stolen": 2}  # expedited; anything else 5 business days
_CHECK_DELIVERY_DAYS = 7
_RESET_LINK_MINUTES = 30
_MAX_CHECK_BOOKS = 4


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _sounds(name: str) -> str:
    """How a name sounds, roughly: each word's first letter and its other consonants, so
    spellings a transcript may choose alike ("Lee"/"Leigh", "Smith"/"Smyth") are equal."""
    keys = []
    for word in re.findall(r"[a-z]+", name.casefold()):
        word = re.sub(r"(?<=.)gh", "", word).replace("ph", "f").replace("ck", "k")
        rest = re.sub(r"[aeiouhwy]", "", word[1:])
        keys.append(re.sub(r"(.)\1+", r"\1", word[0] + rest))
    return " ".join(keys)


def _digits(text: str | None) -> str | None:
    if text is None:
        return None
    only = "".join(c for c in text if c.isdigit())
    return only or None


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _say(cents: int) -> str:
    return f"${_money(cents):,}"


def _cents(amount: Decimal | int | str) -> int:
    """Whole cents in a positive ``amount``, or :class:`InvalidAmount`."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError) as e:
        raise InvalidAmount("I didn't catch a valid amount.") from e
    if not value.is_finite() or value <= 0:
        raise InvalidAmount("The amount has to be more than zero.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise InvalidAmount("Amounts can only go down to the cent.")
    return int(cents)


def _say_hour(when: datetime) -> str:
    return f"{when.hour % 12 or 12} {'AM' if when.hour < 12 else 'PM'}"


def _branch(name: str) -> str:
    """The branch ``name`` refers to ("elm street", "Elm St branch", "elm")."""
    words = _key(name).split()
    for branch in BRANCHES:
        if words and words[0] == branch.split()[0].casefold():
            return branch
    raise SlotUnavailable(f"We don't have a branch called {name.strip() or 'that'}.")


def _hours(branch: str, day: date) -> range:
    weekday = day.weekday()
    if weekday == 6 or (weekday == 5 and branch in CLOSED_SATURDAYS):
        return range(0)
    return SATURDAY_HOURS if weekday == 5 else WEEKDAY_HOURS


# --------------------------------------------------------------------------- demo bank


class DemoBank(BankBackend):
    """A demo bank in SQLite (a file path or ``":memory:"``), safe to share between threads.

    One connection is guarded by a lock; every write is one ``BEGIN IMMEDIATE`` transaction,
    so a transfer either moves the money on both sides or not at all, also when another
    process opens the same file. ``clock`` gives "now" for appointments and bill dates.
    """

    def __init__(
        self, path: str | Path = ":memory:", *, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        with self._lock:
            try:
                self._conn.executescript(_SCHEMA)
            except sqlite3.OperationalError as e:
                raise BankUnavailable() from e
        with self._tx() as db:
            if db.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0:
                self._seed(db)

    # -- lifecycle

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> DemoBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Drop every order, booking and payment, and put the seeded balances back."""
        with self._tx() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")
            self._seed(db)

    @staticmethod
    def _seed(db: sqlite3.Connection) -> None:
        for cid, name, pin, accounts, cards, extra in _SEED:
            db.execute("INSERT INTO customers VALUES (?, ?, ?, ?)", (cid, name, _key(name), pin))
            db.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?, ?)", [(cid, *a) for a in accounts]
            )
            db.executemany(
                "INSERT INTO cards (customer_id, type, last4, status) VALUES (?, ?, ?, 'active')",
                [(cid, *c) for c in cards],
            )
            db.executemany(
                "INSERT INTO payees VALUES (?, ?)", [(cid, p) for p in (*_PAYEES, *extra)]
            )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise BankUnavailable() from e
            try:
                yield self._conn
            except sqlite3.OperationalError as e:
                self._rollback()
                raise BankUnavailable() from e
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as e:
                self._rollback()
                raise BankUnavailable() from e

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.OperationalError as e:
                raise BankUnavailable() from e

    @staticmethod
    def _customer(db: sqlite3.Connection, customer_id: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None:
            raise VerificationFailed("I couldn't find your details, so let's verify you again.")
        return row

    @staticmethod
    def _account(db: sqlite3.Connection, customer_id: str, account_type: str) -> sqlite3.Row:
        row = db.execute(
            "SELECT * FROM accounts WHERE customer_id = ? AND type = ?",
            (customer_id, account_type),
        ).fetchone()
        if row is None:
            raise UnknownAccount(f"You don't have a {account_type} account with us.")
        return row

    # -- verification and reads

    def find_customer(
        self, name: str, last4: str | None = None, pin: str | None = None
    ) -> Customer | None:
        """The customer called ``name`` whose every given credential matches, else ``None``.

        ``last4`` may be any of the customer's account or card numbers (non-digits are
        ignored); with both, both must match. With neither there is nothing to verify.
        """
        last4, pin = _digits(last4), _digits(pin)
        if last4 is None and pin is None:
            raise VerificationFailed(
                "I need the last four digits of a card or account, or your PIN."
            )
        with self._read() as db:
            exact = db.execute("SELECT * FROM customers WHERE name_key = ?", (_key(name),))
            found = self._proven(db, exact.fetchall(), last4, pin)
            if found is None:
                # A name heard with another spelling ("Sam Leigh", "John Smyth") is still the
                # caller's: the card digits or the PIN are what prove who they are.
                heard = _sounds(name)
                everyone = db.execute("SELECT * FROM customers").fetchall()
                alike = [row for row in everyone if _sounds(row["name"]) == heard]
                found = self._proven(db, alike, last4, pin)
        return found

    def _proven(
        self, db: sqlite3.Connection, rows: list[sqlite3.Row], last4: str | None, pin: str | None
    ) -> Customer | None:
        """The first of ``rows`` whose every given credential matches."""
        for row in rows:
            if pin is not None and not secrets.compare_digest(pin, row["pin"]):
                continue
            if last4 is not None and last4 not in self._numbers(db, row["id"]):
                continue
            return Customer(row["id"], row["name"], "last4" if last4 else "pin")
        return None

    @staticmethod
    def _numbers(db: sqlite3.Connection, customer_id: str) -> set[str]:
        rows = db.execute(
            "SELECT last4 FROM accounts WHERE customer_id = ?1 "
            "UNION SELECT last4 FROM cards WHERE customer_id = ?1",
            (customer_id,),
        )
        return {r[0] for r in rows}

    def accounts(self, customer_id: str) -> list[Account]:
        with self._read() as db:
            self._customer(db, customer_id)
            rows = db.execute(
                "SELECT * FROM accounts WHERE customer_id = ? ORDER BY "
                "CASE type WHEN 'checking' THEN 0 WHEN 'savings' THEN 1 ELSE 2 END",
                (customer_id,),
            ).fetchall()
        return [Account(r["type"], r["last4"], _money(r["cents"])) for r in rows]

    def cards(self, customer_id: str) -> list[Card]:
        with self._read() as db:
            self._customer(db, customer_id)
            rows = db.execute(
                "SELECT * FROM cards WHERE customer_id = ? ORDER BY id", (customer_id,)
            ).fetchall()
        return [Card(r["type"], r["last4"], r["status"]) for r in rows]

    def balance(self, customer_id: str, account_type: AccountType) -> Decimal:
        with self._read() as db:
            self._customer(db, customer_id)
            return _money(self._account(db, customer_id, account_type)["cents"])

    def payees(self, customer_id: str) -> list[str]:
        with self._read() as db:
            self._customer(db, customer_id)
            rows = db.execute(
                "SELECT name FROM payees WHERE customer_id = ? ORDER BY name", (customer_id,)
            )
            return [r[0] for r in rows]

    # -- money

    def transfer(
        self,
        customer_id: str,
        from_type: AccountType,
        to_type: AccountType,
        amount: Decimal,
        idempotency_key: str,
    ) -> TransferResult:
        """Move ``amount`` between two of the customer's accounts in one transaction.

        Replaying an ``idempotency_key`` returns the first result and moves nothing; reusing
        it for a different transfer is refused. Money cannot leave a credit account, and a
        payment to one cannot exceed what is owed.
        """
        cents = _cents(amount)
        if from_type == to_type:
            raise BankError(f"Both sides of that transfer are your {from_type} account.")
        if from_type == "credit":
            raise UnknownAccount("I can't move money out of a credit card over the phone.")
        with self._tx() as db:
            self._customer(db, customer_id)
            done = db.execute(
                "SELECT * FROM transfers WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
            if done is not None:
                if (done["customer_id"], done["from_type"], done["to_type"], done["cents"]) != (
                    customer_id,
                    from_type,
                    to_type,
                    cents,
                ):
                    raise BankError("That transfer reference was already used for another one.")
                return self._transfer_result(done)
            source = self._account(db, customer_id, from_type)
            target = self._account(db, customer_id, to_type)
            if cents > source["cents"]:
                raise InsufficientFunds(
                    f"Your {from_type} balance of {_say(source['cents'])} "
                    f"isn't enough to move {_say(cents)}.",
                    balance=_money(source["cents"]),
                    amount=_money(cents),
                )
            if to_type == "credit" and cents > target["cents"]:
                raise InvalidAmount(
                    f"That's more than the {_say(target['cents'])} owed on your credit card."
                )
            from_cents = source["cents"] - cents
            to_cents = target["cents"] + (-cents if to_type == "credit" else cents)
            update = "UPDATE accounts SET cents = ? WHERE customer_id = ? AND type = ?"
            db.execute(update, (from_cents, customer_id, from_type))
            db.execute(update, (to_cents, customer_id, to_type))
            cur = db.execute(
                "INSERT INTO transfers (idempotency_key, customer_id, from_type, to_type, cents,"
                " from_cents, to_cents) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (idempotency_key, customer_id, from_type, to_type, cents, from_cents, to_cents),
            )
            row = db.execute("SELECT * FROM transfers WHERE id = ?", (cur.lastrowid,)).fetchone()
            return self._transfer_result(row)

    @staticmethod
    def _transfer_result(row: sqlite3.Row) -> TransferResult:
        return TransferResult(
            reference=f"TR-{row['id']:06d}",
            from_type=row["from_type"],
            to_type=row["to_type"],
            amount=_money(row["cents"]),
            from_balance=_money(row["from_cents"]),
            to_balance=_money(row["to_cents"]),
        )

    def pay_bill(
        self,
        customer_id: str,
        payee: str,
        amount: Decimal,
        account_type: AccountType = "checking",
        date: date | None = None,
    ) -> Payment:
        """Pay a known payee now (``date`` today or ``None``) or schedule it for later.

        A payment today leaves the account at once and needs the funds; a later one is only
        recorded. Payees match regardless of case and spacing.
        """
        cents = _cents(amount)
        today = self._clock().date()
        day = date or today
        if day < today:
            raise InvalidAmount("I can't make a payment on a date that has already passed.")
        if account_type == "credit":
            raise UnknownAccount("Bills can be paid from checking or savings.")
        with self._tx() as db:
            self._customer(db, customer_id)
            names = db.execute("SELECT name FROM payees WHERE customer_id = ?", (customer_id,))
            known = {_key(r[0]): r[0] for r in names}
            if _key(payee) not in known:
                raise UnknownPayee(f"{payee.strip() or 'That payee'} isn't one of your payees.")
            name = known[_key(payee)]
            source = self._account(db, customer_id, account_type)
            status = "paid" if day == today else "scheduled"
            if status == "paid":
                if cents > source["cents"]:
                    raise InsufficientFunds(
                        f"Your {account_type} balance of {_say(source['cents'])} "
                        f"isn't enough to pay {_say(cents)}.",
                        balance=_money(source["cents"]),
                        amount=_money(cents),
                    )
                db.execute(
                    "UPDATE accounts SET cents = cents - ? WHERE customer_id = ? AND type = ?",
                    (cents, customer_id, account_type),
                )
            cur = db.execute(
                "INSERT INTO payments (customer_id, payee, cents, account_type, day, status)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (customer_id, name, cents, account_type, day.isoformat(), status),
            )
        return Payment(f"BP-{cur.lastrowid:06d}", name, _money(cents), account_type, day, status)

    # -- orders

    def replace_card(self, customer_id: str, card_type: CardType, reason: str) -> CardOrder:
        """Block the customer's active ``card_type`` card and order a new number.

        Lost and stolen cards are sent express (2 days); others take 5.
        """
        with self._tx() as db:
            self._customer(db, customer_id)
            old = db.execute(
                "SELECT * FROM cards WHERE customer_id = ? AND type = ? AND status != 'blocked'"
                " ORDER BY id DESC",
                (customer_id, card_type),
            ).fetchone()
            if old is None:
                raise UnknownAccount(f"You don't have a {card_type} card with us.")
            taken = self._numbers(db, customer_id)
            new = old["last4"]
            while new in taken:
                new = f"{secrets.randbelow(10_000):04d}"
            db.execute("UPDATE cards SET status = 'blocked' WHERE id = ?", (old["id"],))
            db.execute(
                "INSERT INTO cards (customer_id, type, last4, status) VALUES (?, ?, ?, 'ordered')",
                (customer_id, card_type, new),
            )
            cur = db.execute(
                "INSERT INTO card_orders (customer_id, card_type, blocked_last4, new_last4,"
                " reason) VALUES (?, ?, ?, ?, ?)",
                (customer_id, card_type, old["last4"], new, reason),
            )
        days = _CARD_DELIVERY_DAYS.get(_key(reason), 5)
        return CardOrder(f"CR-{cur.lastrowid:06d}", card_type, old["last4"], new, days)

    def order_checks(
        self, customer_id: str, account_type: AccountType, quantity: int = 1
    ) -> CheckOrder:
        """Order ``quantity`` books of checks (1 to 4) for a checking account."""
        if not 1 <= quantity <= _MAX_CHECK_BOOKS:
            raise InvalidAmount(f"I can order between 1 and {_MAX_CHECK_BOOKS} books of checks.")
        if account_type != "checking":
            raise UnknownAccount("Checks are only available for checking accounts.")
        with self._tx() as db:
            self._customer(db, customer_id)
            self._account(db, customer_id, account_type)
            cur = db.execute(
                "INSERT INTO check_orders (customer_id, account_type, quantity) VALUES (?, ?, ?)",
                (customer_id, account_type, quantity),
            )
        return CheckOrder(f"CK-{cur.lastrowid:06d}", account_type, quantity, _CHECK_DELIVERY_DAYS)

    # -- appointments

    def open_slots(self, branch: str, day: date) -> list[datetime]:
        """Free appointment start times at ``branch`` on ``day``, excluding ones already past."""
        name = _branch(branch)
        now = self._clock()
        slots = [datetime.combine(day, time(h)) for h in _hours(name, day)]
        with self._read() as db:
            rows = db.execute(
                "SELECT starts FROM appointments WHERE branch = ? AND starts LIKE ?",
                (name, f"{day.isoformat()}%"),
            )
            booked = {datetime.fromisoformat(r[0]) for r in rows}
        return [s for s in slots if s > now and s not in booked]

    def book_appointment(
        self, customer_id: str, branch: str, when: datetime, topic: str
    ) -> Appointment:
        name = _branch(branch)
        when = when.replace(tzinfo=None)
        if when.hour not in _hours(name, when.date()):
            day = when.strftime("%A")
            if not _hours(name, when.date()):
                raise SlotUnavailable(f"The {name} branch is closed on {day}s.")
            raise SlotUnavailable(f"The {name} branch doesn't take appointments at that time.")
        if when.minute or when.second or when.microsecond:
            raise SlotUnavailable("Appointments start on the hour.")
        if when <= self._clock():
            raise SlotUnavailable("That time has already passed.")
        with self._tx() as db:
            self._customer(db, customer_id)
            try:
                cur = db.execute(
                    "INSERT INTO appointments (customer_id, branch, starts, topic)"
                    " VALUES (?, ?, ?, ?)",
                    (customer_id, name, when.isoformat(), topic),
                )
            except sqlite3.IntegrityError as e:
                raise SlotTaken(f"{_say_hour(when)} at {name} is already taken.") from e
        return Appointment(f"AP-{cur.lastrowid:06d}", name, when, topic)

    def send_password_reset(self, customer_id: str) -> PasswordReset:
        with self._tx() as db:
            row = self._customer(db, customer_id)
            cur = db.execute("INSERT INTO password_resets (customer_id) VALUES (?)", (customer_id,))
        # The demo bank sends nothing; the phone on file is the PIN-derived fake 555 number.
        phone_last4 = f"01{row['pin'][-2:]}"
        return PasswordReset(
            f"PR-{cur.lastrowid:06d}",
            f"the mobile number ending in {phone_last4}",
            _RESET_LINK_MINUTES,
        )
