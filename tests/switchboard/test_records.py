"""The call-record store: round trip, turn order, threads, durability, errors, listing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from switchboard.records import CallRecord, CallStore, TurnRecord, sqlite_path

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    with CallStore(f"sqlite:///{tmp_path}/calls.db") as s:
        yield s


def test_round_trip(store):
    store.start_call(
        "c1",
        call_sid="CA123",
        stream_sid="MZ456",
        from_number="+15550001111",
        to_number="+15550002222",
        started_at=T0,
    )
    latency = {"end_of_turn_ms": 180.0, "stt_ms": 210.5, "total_ms": 520.25}
    assert store.add_turn("c1", "bot", "Hello, how can I help?", started_ms=0, ended_ms=1800) == 0
    assert (
        store.add_turn(
            "c1",
            "caller",
            "Where is my parcel?",
            started_ms=2500,
            ended_ms=4100,
            latency=latency,
            meta={"intent": "track_order", "sources": ["faq.md#3"], "note": "café"},
        )
        == 1
    )
    store.end_call(
        "c1", reason="hangup", recording_path="/data/rec/c1.wav", ended_at=T0 + timedelta(minutes=2)
    )

    call = store.get_call("c1")
    assert call == CallRecord(
        call_id="c1",
        call_sid="CA123",
        stream_sid="MZ456",
        from_number="+15550001111",
        to_number="+15550002222",
        started_at=T0,
        ended_at=T0 + timedelta(minutes=2),
        end_reason="hangup",
        recording_path="/data/rec/c1.wav",
        turns=[
            TurnRecord("c1", 0, "bot", "Hello, how can I help?", 0, 1800, None, None),
            TurnRecord(
                "c1",
                1,
                "caller",
                "Where is my parcel?",
                2500,
                4100,
                latency,
                {"intent": "track_order", "sources": ["faq.md#3"], "note": "café"},
            ),
        ],
    )


def test_defaults_and_open_call(store):
    before = datetime.now(UTC)
    store.start_call("c1")
    call = store.get_call("c1")
    assert call is not None
    assert call.started_at.tzinfo is not None and before <= call.started_at <= datetime.now(UTC)
    assert (call.ended_at, call.end_reason, call.recording_path, call.turns) == (
        None,
        None,
        None,
        [],
    )


def test_times_come_back_as_utc(store):
    paris = timezone(timedelta(hours=1))
    store.start_call("aware", started_at=datetime(2025, 3, 1, 10, 30, tzinfo=paris))
    store.start_call("naive", started_at=datetime(2025, 3, 1, 9, 30))
    assert store.get_call("aware").started_at == T0
    assert store.get_call("naive").started_at == T0
    assert store.get_call("naive").started_at.tzinfo is not None


def test_seq_counts_per_call_in_order(store):
    store.start_call("a", started_at=T0)
    store.start_call("b", started_at=T0)
    seqs = [
        store.add_turn(cid, "caller", f"{cid}{i}", started_ms=i) for i in range(3) for cid in "ab"
    ]
    assert seqs == [0, 0, 1, 1, 2, 2]
    turns = store.get_call("a").turns
    assert [(t.seq, t.text) for t in turns] == [(0, "a0"), (1, "a1"), (2, "a2")]


def test_concurrent_adds_from_threads(store):
    store.start_call("c1", started_at=T0)
    workers, per_worker = 8, 25
    barrier = threading.Barrier(workers)
    returned: list[int] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                returned.append(store.add_turn("c1", "system", f"{worker}:{i}", started_ms=i))
        except BaseException as e:  # surfaced below; a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    total = workers * per_worker
    assert sorted(returned) == list(range(total))
    turns = store.get_call("c1").turns
    assert [t.seq for t in turns] == list(range(total))
    for w in range(workers):  # each thread's own turns keep their order
        mine = [int(t.text.split(":")[1]) for t in turns if t.text.startswith(f"{w}:")]
        assert mine == list(range(per_worker))


async def test_usable_from_asyncio_via_to_thread(store):
    await asyncio.to_thread(store.start_call, "c1", started_at=T0)
    seqs = await asyncio.gather(
        *(asyncio.to_thread(store.add_turn, "c1", "bot", str(i), started_ms=i) for i in range(20))
    )
    assert sorted(seqs) == list(range(20))
    call = await asyncio.to_thread(store.get_call, "c1")
    assert len(call.turns) == 20


def test_turns_survive_a_crash(tmp_path):
    """A second store on the same file, the first never closed, sees every committed turn."""
    path = tmp_path / "calls.db"
    first = CallStore(str(path))
    first.start_call("c1", started_at=T0)
    first.add_turn("c1", "bot", "Hello", started_ms=0)
    first.add_turn("c1", "caller", "Hi", started_ms=900, latency={"stt_ms": 120.0})

    second = CallStore(f"sqlite:///{path}")
    call = second.get_call("c1")
    assert [t.text for t in call.turns] == ["Hello", "Hi"]
    assert call.turns[1].latency == {"stt_ms": 120.0}
    assert call.ended_at is None

    # Both writers share turn numbering through the file.
    assert second.add_turn("c1", "system", "resumed", started_ms=1500) == 2
    assert first.add_turn("c1", "bot", "still here", started_ms=1600) == 3
    second.close()
    first.close()


def test_turns_survive_a_killed_process(tmp_path):
    """The writing process dies without closing anything; what it committed is on disk."""
    path = tmp_path / "calls.db"
    script = textwrap.dedent(
        f"""
        import os
        from switchboard.records import CallStore
        store = CallStore({str(path)!r})
        store.start_call("c1")
        for i in range(3):
            store.add_turn("c1", "caller", f"turn {{i}}", started_ms=i * 1000)
        os._exit(1)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.returncode == 1, done.stderr.decode()
    with CallStore(path) as store:
        assert [t.text for t in store.get_call("c1").turns] == ["turn 0", "turn 1", "turn 2"]


def test_unknown_call(store):
    assert store.get_call("nope") is None
    with pytest.raises(KeyError, match="nope"):
        store.add_turn("nope", "caller", "hello", started_ms=0)
    with pytest.raises(KeyError, match="nope"):
        store.end_call("nope", reason="hangup")
    assert store.list_calls() == []


def test_bad_input_is_refused(store):
    store.start_call("c1", started_at=T0)
    with pytest.raises(ValueError, match="already"):
        store.start_call("c1")
    with pytest.raises(ValueError, match="speaker"):
        store.add_turn("c1", "agent", "hello", started_ms=0)
    with pytest.raises(TypeError):
        store.add_turn("c1", "bot", "hello", started_ms=0, meta={"when": datetime.now()})
    assert store.get_call("c1").turns == []  # nothing half-written
    assert store.add_turn("c1", "bot", "hello", started_ms=0) == 0


def test_first_end_wins_but_recording_can_arrive_later(store):
    store.start_call("c1", started_at=T0)
    store.end_call("c1", reason="transfer", ended_at=T0 + timedelta(seconds=30))
    store.end_call("c1", reason="stream_closed", recording_path="/data/c1.wav")
    call = store.get_call("c1")
    assert call.end_reason == "transfer"
    assert call.ended_at == T0 + timedelta(seconds=30)
    assert call.recording_path == "/data/c1.wav"


def test_list_calls_newest_first_without_turns(store):
    for i in range(5):
        store.start_call(f"c{i}", started_at=T0 + timedelta(minutes=i))
        store.add_turn(f"c{i}", "bot", "hi", started_ms=0)
    store.start_call("same-time-later", started_at=T0 + timedelta(minutes=4))

    calls = store.list_calls()
    assert [c.call_id for c in calls] == ["same-time-later", "c4", "c3", "c2", "c1", "c0"]
    assert all(c.turns == [] for c in calls)
    assert [c.call_id for c in store.list_calls(limit=2, offset=2)] == ["c3", "c2"]
    assert store.list_calls(limit=10, offset=10) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("calls.db", "calls.db"),
        ("/var/lib/sb/calls.db", "/var/lib/sb/calls.db"),
        ("sqlite:///data/calls.db", "data/calls.db"),
        ("sqlite:////var/lib/sb/calls.db", "/var/lib/sb/calls.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_path(given, expected):
    assert sqlite_path(given) == expected


def test_other_databases_are_refused():
    with pytest.raises(ValueError, match="postgresql"):
        CallStore("postgresql://user@localhost/switchboard")


def test_in_memory_and_nested_folder(tmp_path):
    with CallStore("sqlite:///:memory:") as mem:
        mem.start_call("c1")
        assert mem.add_turn("c1", "bot", "hi", started_ms=0) == 0
    with CallStore(tmp_path / "deep" / "er" / "calls.db") as nested:
        nested.start_call("c1")
    assert (tmp_path / "deep" / "er" / "calls.db").exists()


def test_calls_cut_off_by_a_restart_are_ended_and_keep_their_turns(tmp_path):
    first = CallStore(tmp_path / "calls.db")
    first.start_call("CA-live")
    first.add_turn("CA-live", "caller", "hello", started_ms=10)
    first.start_call("CA-done")
    first.end_call("CA-done", reason="goodbye")
    # The process dies; a new one opens the same store.
    second = CallStore(tmp_path / "calls.db")
    assert second.end_unfinished_calls("service restarted during the call") == 1
    live = second.get_call("CA-live")
    assert live.end_reason == "service restarted during the call" and live.ended_at is not None
    assert [t.text for t in live.turns] == ["hello"]
    assert second.get_call("CA-done").end_reason == "goodbye"
    assert second.end_unfinished_calls("again") == 0
