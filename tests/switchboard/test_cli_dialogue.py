"""``switchboard chat``, ``replay`` and ``eval`` end to end on a fresh data folder."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from switchboard.cli import DEMO_KB, main
from switchboard.settings import get_settings


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dialogue-cli-data")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path):
    for name in list(os.environ):
        if name.upper().startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def ingested(data_dir: Path) -> None:
    os.environ["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    try:
        assert main(["kb", "ingest", str(DEMO_KB), "--collection", "demo_bank"]) == 0
    finally:
        del os.environ["SWITCHBOARD_DATA_DIR"]
        get_settings.cache_clear()


def test_replay_prints_one_json_line_per_caller_turn(ingested, tmp_path, capsys) -> None:
    conversation = tmp_path / "call.jsonl"
    conversation.write_text(
        "\n".join(
            json.dumps(turn)
            for turn in [
                {"role": "caller", "text": "What time does the Elm Street branch open?"},
                {"role": "caller", "text": "And what time do they open on Saturday?"},
                {"role": "caller", "text": "I want to speak to a person"},
                {"role": "agent", "text": "Hi, I'm Dana. How can I help?"},
                {"role": "caller", "text": "What's the fee for an international wire?"},
            ]
        ),
        encoding="utf-8",
    )
    assert main(["replay", str(conversation), "--collection", "demo_bank"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["turn"] for r in rows] == [1, 2, 3, 4]
    assert [r["action"] for r in rows] == ["answer", "answer", "handoff", "answer"]
    assert rows[1]["sources"][0] == "branches/elm-street"
    assert "Saturday" in rows[1]["reply"]
    assert all(set(r) == {"turn", "intent", "confidence", "action", "reply", "sources", "slots"}
               for r in rows)  # fmt: skip


def test_replay_reports_a_bad_file(ingested, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"role": "caller", "text": "hi"}\n{oops\n', encoding="utf-8")
    assert main(["replay", str(bad)]) == 1
    assert f"{bad}:2: not JSON" in capsys.readouterr().err


def test_a_missing_knowledge_base_is_one_clear_line(ingested, tmp_path) -> None:
    conversation = tmp_path / "call.jsonl"
    conversation.write_text('{"role": "caller", "text": "hi"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="knowledge base 'nope' not found"):
        main(["replay", str(conversation), "--collection", "nope"])


def test_eval_prints_the_pass_rate(ingested, tmp_path, capsys) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        "- name: routing\n  turns:\n    - caller: what's your routing number?\n"
        "      expect: {action: answer}\n"
        "- name: wrong\n  turns:\n    - caller: what's your routing number?\n"
        "      expect: {action: handoff}\n",
        encoding="utf-8",
    )
    assert main(["eval", str(scenarios), "-v"]) == 1
    out = capsys.readouterr().out
    assert "PASS  routing" in out and "FAIL  wrong" in out
    assert "1/2 scenarios passed (50.0%)" in out


def test_chat_reads_lines_until_the_end(ingested, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("What's your routing number?\n#0\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "1 2 3 4 5 6 7 8 0" in out
    assert "[handoff agent_request]" in out
    assert "handoff summary:" in out
