"""Scenario conversations spoken over a real call: caller audio made by the voice, streamed
by the simulated caller (`switchboard call`'s engine) into the service, Whisper in the loop.

These check that the dialogue manager's behaviour survives speech recognition: a verified
self-service task with a keypad PIN, a follow-up question that leans on the previous one,
and a handoff with its summary in the call record.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telephony.caller import SimulatedCaller
from voice.audio import save_wav

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINES = {
    "balance": "I'd like to check my account balance.",
    "name": "My name is Alex Morgan.",
    "savings": "My savings account, please.",
    "elm": "What time does the Elm Street branch open?",
    "saturday": "And what about on Saturday?",
    "person": "Can I speak to a real person, please?",
    "bye": "No, that's all. Goodbye.",
}


@pytest.fixture(scope="module")
def speech(resources, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("scenario-audio")
    paths = {}
    for key, text in LINES.items():
        path = folder / f"{key}.wav"
        save_wav(path, resources.synthesizer.synthesize(text))
        paths[key] = str(Path(path))
    return paths


def _call(base: str, turns: list[str]):
    caller = SimulatedCaller(base.replace("http://", "ws://") + "/twilio/media")
    return caller, asyncio.run(caller.run(turns))


def test_balance_with_keypad_pin_then_goodbye(live_server, speech, resources):
    with live_server() as url:
        caller, report = _call(
            url, [speech["balance"], speech["name"], "dtmf:1234", speech["savings"], speech["bye"]]
        )
    ask_name, ask_code, verified, balance, bye = (t.bot_text for t in report.turns)
    assert "full name" in ask_name
    assert "last four digits" in ask_code
    assert "you're verified" in verified
    assert "10,200 dollars" in balance  # Alex Morgan's seeded savings balance
    assert "Goodbye" in bye and report.hung_up_by_bot
    record = resources.store.get_call(caller.call_sid)
    keyed = [t for t in record.turns if t.speaker == "caller" and t.text == "[keypad]"]
    assert len(keyed) == 4  # the PIN's digits are never stored
    flow_turns = [
        t
        for t in record.turns
        if t.speaker == "caller" and (t.meta or {}).get("intent") == "check_balance"
    ]
    assert flow_turns and flow_turns[-1].meta["slots"] == {"account": "savings"}
    assert (record.outcome, record.intent) == ("bot", "check_balance")


def test_follow_up_question_keeps_the_branch(live_server, speech, resources):
    with live_server() as url:
        caller, report = _call(url, [speech["elm"], speech["saturday"]])
    hours, saturday = report.turns
    assert "9 am to 5 pm" in hours.bot_text
    assert "Saturday, 9 am to 1 pm" in saturday.bot_text
    record = resources.store.get_call(caller.call_sid)
    answers = [t for t in record.turns if t.speaker == "caller" and t.meta]
    assert [t.meta["sources"][0] for t in answers] == ["branches/elm-street"] * 2


def test_a_request_for_a_person_hands_off_with_a_summary(live_server, speech, resources):
    with live_server() as url:
        caller, report = _call(url, [speech["elm"], speech["person"]])
    assert "connect you with one of my colleagues" in report.turns[1].bot_text
    record = resources.store.get_call(caller.call_sid)
    handoffs = [t for t in record.turns if t.speaker == "system" and "handoff" in (t.meta or {})]
    assert len(handoffs) == 1
    summary = handoffs[0].meta["handoff"]
    assert summary["reason"] == "agent_request"
    assert summary["call_id"] == caller.call_sid
    # Whisper's spelling of the question varies by CPU ("Elm Street", "Elm St."); the source doesn't
    assert any("branches/elm-street" in item for item in summary["done"]), summary["done"]
