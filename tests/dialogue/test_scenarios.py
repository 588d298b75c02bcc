"""The scenario suite (dialogue/scenarios): every conversation must pass."""

from __future__ import annotations

import pytest

from dialogue.replay import (
    SCENARIOS_DIR,
    ReplayError,
    load_scenarios,
    read_conversation,
    replay,
    run_scenario,
)

SCENARIOS = load_scenarios(SCENARIOS_DIR)
KNOWN_ISSUES = {
    name.strip(): reason.strip()
    for line in (SCENARIOS_DIR / "known_issues.txt").read_text(encoding="utf-8").splitlines()
    if "|" in line and not line.startswith("#")
    for name, reason in [line.split("|", 1)]
}


def _param(scenario: dict):
    reason = KNOWN_ISSUES.get(scenario["name"])
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(scenario, id=scenario["name"], marks=marks)


def test_the_suite_is_big_enough() -> None:
    assert len(SCENARIOS) >= 60


def test_known_issues_name_real_scenarios() -> None:
    assert set(KNOWN_ISSUES) <= {s["name"] for s in SCENARIOS}


@pytest.mark.parametrize("scenario", [_param(s) for s in SCENARIOS])
def test_scenario(shared_services, scenario) -> None:
    result = run_scenario(shared_services, scenario)
    assert result.passed, "\n".join(result.failures + ["", *result.transcript])


def test_a_failing_expectation_is_reported(shared_services) -> None:
    scenario = {
        "name": "wrong on purpose",
        "_source": "test",
        "turns": [{"caller": "what's your routing number?", "expect": {"action": "handoff"}}],
    }
    result = run_scenario(shared_services, scenario)
    assert not result.passed
    assert result.failures == ["turn 1: action 'answer', expected 'handoff'"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "needs 'name' and a list of 'turns'"),
        ("name: x\nturns:\n  - {caller: hi, keypad: '1'}\n", "one of caller, keypad"),
        ("name: x\nturns:\n  - {caller: hi, expect: {colour: red}}\n", "unknown expectation"),
        (
            "name: x\nturns:\n  - caller: hi\n    expect: {reply_contains: [is 4,120 dollars]}\n",
            "one number split at its comma",
        ),
        ("name: x\nturns:\n  - {caller: hi, expect: {reply_contains: [5,000 dollars]}}\n", "quote"),
    ],
)
def test_malformed_scenarios_are_named(tmp_path, text: str, message: str) -> None:
    # also: YAML reads [4,120 dollars] as two phrases, a weaker check than was meant
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReplayError, match=message):
        load_scenarios(path)


def test_replay_lines_and_agent_turns(shared_services) -> None:
    turns = read_conversation(
        [
            '{"role": "caller", "text": "What time does the Elm Street branch open?"}',
            "",
            '{"role": "agent", "text": "Hello, this is Sam from the branch team."}',
            '{"role": "caller", "text": "and on Saturday?"}',
        ]
    )
    manager = shared_services.conversation()
    rows = list(replay(manager, turns))
    assert [r["turn"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"turn", "intent", "confidence", "action", "reply", "sources", "slots"}
    assert rows[1]["sources"][0] == "branches/elm-street"
    assert ("agent", "Hello, this is Sam from the branch team.") in manager.history


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "<input>:1: not JSON"),
        ('{"role": "bot", "text": "x"}', 'expected {"role"'),
        ('{"role": "caller", "text": 5}', "'text' must be a string"),
    ],
)
def test_bad_replay_lines(line: str, message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        read_conversation([line])
