"""Text-only drivers of the dialogue manager: replay a conversation, run the scenario suite.

``replay`` reads JSON lines ``{"role": "caller"|"agent", "text"}``: caller turns go through
one :class:`DialogueManager` in order (so it keeps the whole history); an agent line
enters the history as something said to the caller. One result per caller turn.

A scenario (``dialogue/scenarios/*.yaml``) is a conversation with expectations::

    name: transfer with a correction
    today: 2026-11-27              # optional, the date the caller rings on
    turns:
      - caller: I'd like to move a hundred dollars from checking to savings
        expect: {action: flow, intent: transfer_money, slots: {amount: "100.00"}}
      - keypad: "1234"             # keys pressed, then a pause
      - silence: true              # the caller said nothing (the idle prompt)
      - agent: I've put a note on your account.
      - caller: no, from savings
        expect:
          action: flow
          reply_contains: [savings account to your checking]
          sources: [branches/elm-street]     # the first sources, in this order
          sources_any: [a, b]                # or: the first source is one of these
          handoff: fraud                     # the handoff reason
          end_call: true

Each scenario runs against a fresh demo bank whose clock is the scenario's ``today`` at
10:00, so balances and references are the same on every run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from dialogue.bank import DemoBank
from dialogue.manager import DialogueManager, DialogueServices
from dialogue.types import Reply

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_TODAY = date(2026, 11, 27)  # a Friday
_EXPECT_KEYS = frozenset(
    (
        "action intent slots sources sources_any reply_contains reply_not_contains handoff end_call"
    ).split()
)


class ReplayError(ValueError):
    """A replay or scenario file is malformed; the message names the file and line."""


def turn_json(turn: int, reply: Reply) -> dict[str, Any]:
    return {
        "turn": turn,
        "intent": reply.intent,
        "confidence": None if reply.confidence is None else round(reply.confidence, 4),
        "action": reply.action,
        "reply": reply.text,
        "sources": list(reply.sources),
        "slots": reply.meta.get("slots", {}),
    }


def read_conversation(lines: Iterable[str], source: str = "<input>") -> list[dict[str, str]]:
    """Parse replay lines; blank lines are skipped, anything else malformed is an error."""
    turns = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise ReplayError(f"{source}:{number}: not JSON: {e.msg}") from e
        if not isinstance(item, dict) or item.get("role") not in ("caller", "agent"):
            raise ReplayError(f'{source}:{number}: expected {{"role": "caller"|"agent", "text"}}')
        text = item.get("text", "")
        if not isinstance(text, str):
            raise ReplayError(f"{source}:{number}: 'text' must be a string")
        turns.append({"role": item["role"], "text": text})
    return turns


def replay(manager: DialogueManager, turns: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """One result per caller turn, in order; it carries on after a handoff."""
    number = 0
    for item in turns:
        if item["role"] == "agent":
            manager.on_agent_text(item["text"])
            continue
        number += 1
        yield turn_json(number, manager.on_text(item["text"]))


# --- scenarios ------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    name: str
    source: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)


def load_scenarios(path: str | Path = SCENARIOS_DIR) -> list[dict[str, Any]]:
    """Scenarios from a file or every ``*.yaml`` under a folder (a file may hold a list)."""
    path = Path(path)
    files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise ReplayError(f"{path}: no scenario files (*.yaml)")
    scenarios = []
    for file in files:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise ReplayError(f"{file}: cannot read: {e}") from e
        for index, scenario in enumerate(raw if isinstance(raw, list) else [raw]):
            where = f"{file}#{index + 1}"
            if not isinstance(scenario, dict) or not isinstance(scenario.get("turns"), list):
                raise ReplayError(f"{where}: a scenario needs 'name' and a list of 'turns'")
            for n, turn in enumerate(scenario["turns"], start=1):
                kinds = {"caller", "keypad", "silence", "agent"} & set(turn or {})
                if len(kinds) != 1:
                    raise ReplayError(f"{where} turn {n}: one of caller, keypad, silence, agent")
                said = turn.get("caller", "")
                if not isinstance(said, str) and said is not None:
                    raise ReplayError(
                        f"{where} turn {n}: caller text must be quoted (YAML read {said!r})"
                    )
                expect = (turn or {}).get("expect") or {}
                unknown = set(expect) - _EXPECT_KEYS
                if unknown:
                    raise ReplayError(f"{where} turn {n}: unknown expectation(s) {sorted(unknown)}")
                for key in ("reply_contains", "reply_not_contains"):
                    _check_phrases(expect.get(key), f"{where} turn {n}: {key}")
            scenarios.append({**scenario, "_source": where})
    return scenarios


def _check_phrases(phrases: Any, where: str) -> None:
    """Phrases must be strings, and a sum with a comma must be quoted: YAML reads
    ``[4,120 dollars]`` as ``[4, "120 dollars"]``, a weaker check than was meant."""
    if phrases is None:
        return
    if isinstance(phrases, str):
        phrases = [phrases]
    if not isinstance(phrases, list):
        raise ReplayError(f"{where}: a phrase or a list of phrases, not {phrases!r}")
    for before, phrase in zip([None, *phrases], phrases, strict=False):
        if not isinstance(phrase, str):
            raise ReplayError(f"{where}: {phrase!r} is not text; quote the phrase")
        split = re.search(r"(?:^|\D)\d{1,3}$", before or "") and re.match(r"\d{3}\b", phrase)
        if isinstance(before, str) and split:
            raise ReplayError(
                f"{where}: {before!r}, {phrase!r} looks like one number split at its comma; "
                "quote the phrase"
            )


def run_scenario(
    services: DialogueServices,
    scenario: dict[str, Any],
    timings: list[float] | None = None,
    before_turn: Callable[[], None] | None = None,
) -> ScenarioResult:
    """Run one scenario on a fresh demo bank; ``timings`` collects each caller turn's
    dialogue-step time in milliseconds (``before_turn`` runs first, untimed)."""
    today = scenario.get("today") or DEFAULT_TODAY
    if isinstance(today, str):
        today = date.fromisoformat(today)
    bank = DemoBank(
        ":memory:", clock=lambda: datetime.combine(today, datetime.min.time()).replace(hour=10)
    )
    services = replace(services, bank=bank, today=lambda: today)
    manager = services.conversation(call_id=f"scenario:{scenario.get('name')}")
    result = ScenarioResult(str(scenario.get("name", "?")), scenario["_source"], True)
    result.transcript.append(f"bot: {manager.greeting().text}")
    prompts = 0
    try:
        for n, turn in enumerate(scenario["turns"], start=1):
            reply: Reply | None
            if "caller" in turn:
                result.transcript.append(f"caller: {turn['caller']}")
                prompts = 0  # speaking restarts the silence count, as on a call
                if before_turn is not None:
                    before_turn()
                started = time.perf_counter()
                reply = manager.on_text(str(turn["caller"] or ""))
                if timings is not None:
                    timings.append((time.perf_counter() - started) * 1000)
            elif "keypad" in turn:
                result.transcript.append(f"keypad: {turn['keypad']}")
                reply = None
                for key in str(turn["keypad"]):
                    reply = manager.on_dtmf(key) or reply
                # the caller then stops keying: a lone 0 or a short PIN is answered
                reply = reply or manager.on_keypad_pause()
            elif "silence" in turn:
                result.transcript.append("caller: (silence)")
                reply = manager.on_idle(prompts, 2)
                prompts += 1
            else:
                manager.on_agent_text(str(turn["agent"]))
                result.transcript.append(f"agent: {turn['agent']}")
                continue
            if reply is not None:
                result.transcript.append(f"bot [{reply.action}]: {reply.text}")
            for failure in _check(turn.get("expect") or {}, reply):
                result.failures.append(f"turn {n}: {failure}")
    finally:
        bank.close()
    result.passed = not result.failures
    return result


def _check(expect: dict[str, Any], reply: Reply | None) -> Iterator[str]:
    if not expect:
        return
    if reply is None:
        yield "expected a reply, got none (waiting for more keys)"
        return
    for key in ("action", "intent"):
        if key in expect and getattr(reply, key) != expect[key]:
            yield f"{key} {getattr(reply, key)!r}, expected {expect[key]!r}"
    slots = reply.meta.get("slots", {})
    for name, value in (expect.get("slots") or {}).items():
        if str(slots.get(name)) != str(value):
            yield f"slot {name} = {slots.get(name)!r}, expected {value!r}"
    if "sources" in expect:
        wanted = list(expect["sources"] or [])
        got = list(reply.sources)
        if (not wanted and got) or got[: len(wanted)] != wanted:
            yield f"sources {got}, expected {wanted} first"
    if "sources_any" in expect:
        allowed = list(expect["sources_any"] or [])
        first = reply.sources[0] if reply.sources else None
        if first not in allowed:
            yield f"first source {first!r}, expected one of {allowed}"
    text = reply.text.lower()
    for phrase in _as_list(expect.get("reply_contains")):
        if phrase.lower() not in text:
            yield f"reply {reply.text!r} lacks {phrase!r}"
    for phrase in _as_list(expect.get("reply_not_contains")):
        if phrase.lower() in text:
            yield f"reply {reply.text!r} contains {phrase!r}"
    if "handoff" in expect:
        reason = reply.meta.get("reason") if reply.action == "handoff" else None
        if reason != expect["handoff"]:
            yield f"handoff reason {reason!r}, expected {expect['handoff']!r}"
    if "end_call" in expect and reply.end_call != bool(expect["end_call"]):
        yield f"end_call {reply.end_call}, expected {expect['end_call']}"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


__all__ = [
    "DEFAULT_TODAY",
    "ReplayError",
    "SCENARIOS_DIR",
    "ScenarioResult",
    "load_scenarios",
    "read_conversation",
    "replay",
    "run_scenario",
    "turn_json",
]
