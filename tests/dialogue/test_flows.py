from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from dialogue.flows import (
    FLOWS_DIR,
    FlowError,
    extract_slot,
    json_value,
    load_flow,
    load_flows,
    match_choice,
    say_date,
    say_money,
    say_reference,
    say_time,
)

TODAY = date(2026, 11, 27)
BANK_TASKS = {
    "check_balance", "transfer_money", "replace_card", "order_checks", "pay_bill",
    "reset_password", "branch_hours", "schedule_appointment",
}  # fmt: skip


def test_every_bank_task_has_a_flow() -> None:
    flows = load_flows()
    assert set(flows) == BANK_TASKS
    for name, flow in flows.items():
        assert flow.source.startswith(str(FLOWS_DIR))
        if name not in ("check_balance", "branch_hours"):
            assert flow.confirm, f"{name} changes something, so it must be confirmed"
        assert flow.verify or name == "branch_hours"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list", "a flow is a mapping"),
        ("name: x\naction: balance\ncolour: red\n", "unknown field(s) ['colour']"),
        ("name: x\n", "'action' is required"),
        ("name: x\naction: balance\nslots: 3\n", "'slots' must be a list"),
        ("name: x\naction: knowledge\n", "needs a 'query'"),
        ("name: x\naction: balance\nslots:\n  - {name: a, type: colour, ask: Q}\n", "'type'"),
        ("name: x\naction: balance\nslots:\n  - {name: a, type: amount}\n", "'ask'"),
        ("name: x\naction: balance\nslots:\n  - {name: 1a, type: amount, ask: Q}\n", "'name'"),
        ("name: x\naction: balance\nslots:\n  - {name: a, type: choice, ask: Q}\n", "choices"),
        ("name: x\naction: b\nslots:\n  - {name: a, type: choice, choices: pets, ask: Q}\n",
         "choices must be a list"),
        ("name: x\naction: b\nslots:\n  - {name: a, type: amount, ask: Q}\n"
         "  - {name: a, type: amount, ask: Q}\n", "unique"),
        ("name: [unclosed\n", "cannot read flow"),
        ("name: x\naction: b\nnot_for: cashier's check\n", "'not_for' must be a list"),
    ],
)  # fmt: skip
def test_bad_flow_files_are_named_with_the_problem(tmp_path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FlowError) as error:
        load_flow(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_not_for_names_what_a_task_does_not_cover(tmp_path) -> None:
    spec = load_flow(_write(tmp_path, "name: x\naction: b\nnot_for: [Cashier's check]\n"))
    assert spec.not_for == ("cashier's check",)
    assert not spec.covers("i need a cashier's check for a car")
    assert spec.covers("i'd like to order some checks")
    assert not load_flows()["order_checks"].covers("can i get a cashier's check")


def test_an_empty_folder_and_duplicate_names_are_errors(tmp_path) -> None:
    with pytest.raises(FlowError, match="no flow files"):
        load_flows(tmp_path)
    for n in (1, 2):
        (tmp_path / f"f{n}.yaml").write_text("name: same\naction: balance\n", encoding="utf-8")
    with pytest.raises(FlowError, match="also defined"):
        load_flows(tmp_path)


def _slot(flow: str, name: str):
    return load_flows()[flow].slot(name)


@pytest.mark.parametrize(
    ("text", "pending", "value"),
    [
        ("send a hundred and thirty five dollars", False, Decimal("135")),
        ("$42.50 please", False, Decimal("42.50")),
        ("two hundred", True, Decimal("200.00")),
        ("two hundred", False, None),
        ("hmm", True, None),
    ],
)
def test_amounts(text: str, pending: bool, value) -> None:
    slot = _slot("transfer_money", "amount")
    assert extract_slot(slot, text, today=TODAY, pending=pending) == value


@pytest.mark.parametrize(
    ("text", "slot", "pending", "value"),
    [
        ("from checking to savings", "from_account", False, "checking"),
        ("from checking to savings", "to_account", False, "savings"),
        ("take it out of my savings", "from_account", False, "savings"),
        ("savings", "to_account", True, "savings"),
        ("savings", "to_account", False, None),  # which of the two? only when asked
        ("into my credit card", "to_account", False, "credit"),
    ],
)
def test_accounts_with_roles(text: str, slot: str, pending: bool, value) -> None:
    spec = _slot("transfer_money", slot)
    found = extract_slot(spec, text, today=TODAY, pending=pending, other_roles=True)
    assert found == value


def test_balance_of_all_accounts() -> None:
    slot = _slot("check_balance", "account")
    assert extract_slot(slot, "all of them", today=TODAY, pending=True) == "all"
    assert extract_slot(slot, "my savings please", today=TODAY, pending=True) == "savings"


@pytest.mark.parametrize(
    ("said", "pending", "value"),
    [
        ("elm street", False, "Elm Street"),
        ("the harbor road branch", False, "Harbor Road"),
        ("harbor", True, "Harbor Road"),
        ("harbor", False, None),
        ("the second one", True, "Harbor Road"),
        ("the last one", True, "Oak Avenue"),
        ("not elm street, oak avenue", False, "Oak Avenue"),
        ("downtown", True, None),
    ],
)
def test_choices(said: str, pending: bool, value) -> None:
    options = ["Elm Street", "Harbor Road", "Oak Avenue"]
    assert match_choice(said, options, pending=pending) == value


def test_choice_synonyms() -> None:
    slot = _slot("replace_card", "reason")
    assert extract_slot(slot, "I can't find it anywhere", today=TODAY, pending=True) == "lost"
    assert extract_slot(slot, "it got snapped in half", today=TODAY, pending=True) == "damaged"
    assert extract_slot(slot, "my wallet was stolen", today=TODAY) == "stolen"


def test_numbers_dates_times_and_text() -> None:
    quantity = _slot("order_checks", "quantity")
    assert extract_slot(quantity, "two books of checks", today=TODAY) == 2
    assert extract_slot(quantity, "3", today=TODAY, pending=True) == 3
    assert extract_slot(quantity, "I'd like checks", today=TODAY) is None
    day = _slot("schedule_appointment", "date")
    assert extract_slot(day, "next Tuesday", today=TODAY) == date(2026, 12, 1)
    clock = _slot("schedule_appointment", "time")
    assert extract_slot(clock, "at eleven", today=TODAY) == time(11)
    assert extract_slot(clock, "eleven", today=TODAY) is None
    assert extract_slot(clock, "eleven", today=TODAY, pending=True) == time(11)
    topic = _slot("schedule_appointment", "topic")
    assert extract_slot(topic, "a mortgage", today=TODAY, pending=True) == "a mortgage"
    assert extract_slot(topic, "a mortgage", today=TODAY) is None


def test_saying_values() -> None:
    assert say_money(Decimal("135")) == "$135"
    assert say_money(Decimal("1350.5")) == "$1,350.50"
    assert say_date(TODAY, TODAY) == "today"
    assert say_date(date(2026, 11, 28), TODAY) == "tomorrow"
    assert say_date(date(2026, 12, 1), TODAY) == "Tuesday, December 1"
    assert say_time(time(14, 30)) == "2:30 pm"
    assert say_time(time(12)) == "noon"
    assert say_reference("AP-000042") == "A P 0 0 0 0 4 2"
    assert json_value(Decimal("5")) == "5.00"
    assert json_value(time(9, 5)) == "09:05"
