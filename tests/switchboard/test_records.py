"""The call-record store: round trip, turn order, threads, durability, errors, listing.

Every test that takes ``db_url`` (or ``store``) runs twice: on a SQLite file and on an empty
PostgreSQL schema (skipped, with the reason, when no server can be had: see tests/pg.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from switchboard.records import CallRecord, CallStore, TurnRecord, open_engine, sqlite_path

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(db_url):
    with CallStore(db_url) as s:
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


def test_turns_survive_a_crash(db_url):
    """A second store on the same database, the first never closed, sees every committed turn."""
    first = CallStore(db_url)
    first.start_call("c1", started_at=T0)
    first.add_turn("c1", "bot", "Hello", started_ms=0)
    first.add_turn("c1", "caller", "Hi", started_ms=900, latency={"stt_ms": 120.0})

    second = CallStore(db_url)
    call = second.get_call("c1")
    assert [t.text for t in call.turns] == ["Hello", "Hi"]
    assert call.turns[1].latency == {"stt_ms": 120.0}
    assert call.ended_at is None

    # Both writers share turn numbering through the database.
    assert second.add_turn("c1", "system", "resumed", started_ms=1500) == 2
    assert first.add_turn("c1", "bot", "still here", started_ms=1600) == 3
    second.close()
    first.close()


def test_turns_survive_a_killed_process(db_url):
    """The writing process dies without closing anything; what it committed is on disk."""
    script = textwrap.dedent(
        f"""
        import os
        from switchboard.records import CallStore
        store = CallStore({db_url!r})
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
    with CallStore(db_url) as store:
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
    with pytest.raises(ValueError, match="mysql"):
        CallStore("mysql://user@localhost/switchboard")
    with pytest.raises(ValueError, match="sqlite:///path"):
        CallStore("sqlite://relative.db")


@pytest.mark.parametrize(
    "url", ["postgresql://u@db/sb", "postgres://u@db/sb", "postgresql+psycopg://u@db/sb"]
)
def test_postgresql_urls_get_the_psycopg_driver(url):
    engine = open_engine(url)  # connects lazily: no server needed
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_in_memory_and_nested_folder(tmp_path):
    with CallStore("sqlite:///:memory:") as mem:
        mem.start_call("c1")
        assert mem.add_turn("c1", "bot", "hi", started_ms=0) == 0
    with CallStore(tmp_path / "deep" / "er" / "calls.db") as nested:
        nested.start_call("c1")
    assert (tmp_path / "deep" / "er" / "calls.db").exists()


def test_calls_cut_off_by_a_restart_are_ended_and_keep_their_turns(db_url):
    first = CallStore(db_url)
    first.start_call("CA-live")
    first.add_turn("CA-live", "caller", "hello", started_ms=10)
    first.start_call("CA-done")
    first.end_call("CA-done", reason="goodbye")
    # The process dies; a new one opens the same store.
    second = CallStore(db_url)
    assert second.end_unfinished_calls("service restarted during the call") == 1
    live = second.get_call("CA-live")
    assert live.end_reason == "service restarted during the call" and live.ended_at is not None
    assert [t.text for t in live.turns] == ["hello"]
    assert second.get_call("CA-done").end_reason == "goodbye"
    assert second.end_unfinished_calls("again") == 0


def test_two_stores_writing_one_call_at_once(db_url):
    """Two stores (two pools) append to one call from several threads: seqs stay unique."""
    stores = [CallStore(db_url), CallStore(db_url)]
    stores[0].start_call("c1", started_at=T0)
    workers, per_worker = 6, 15
    barrier = threading.Barrier(workers)
    returned: list[int] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                store = stores[(worker + i) % 2]
                returned.append(store.add_turn("c1", "caller", f"{worker}:{i}", started_ms=i))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in stores:
        store.close()

    assert errors == []
    assert sorted(returned) == list(range(workers * per_worker))
    with CallStore(db_url) as store:
        assert [t.seq for t in store.get_call("c1").turns] == list(range(workers * per_worker))


def test_two_processes_writing_one_call_at_once(db_url):
    with CallStore(db_url) as store:
        store.start_call("c1", started_at=T0)
    script = textwrap.dedent(
        f"""
        import sys
        from switchboard.records import CallStore
        with CallStore({db_url!r}) as store:
            print("ready", flush=True)
            sys.stdin.readline()  # both start writing together
            print(",".join(
                str(store.add_turn("c1", "system", sys.argv[1], started_ms=i)) for i in range(40)
            ))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read().decode()
    for proc in procs:
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    seqs: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        seqs += [int(s) for s in out.decode().strip().split(",")]
    assert sorted(seqs) == list(range(80))
    with CallStore(db_url) as store:
        turns = store.get_call("c1").turns
    assert [t.seq for t in turns] == list(range(80))
    assert sorted(t.text for t in turns) == ["a"] * 40 + ["b"] * 40


def test_json_that_postgresql_would_refuse_is_refused_everywhere(store):
    store.start_call("c1", started_at=T0)
    with pytest.raises(ValueError):
        store.add_turn("c1", "bot", "hi", started_ms=0, latency={"stt_ms": float("nan")})
    assert store.get_call("c1").turns == []


def test_desk_fields_start_empty_and_can_be_set(store):
    store.start_call("c1", started_at=T0)
    call = store.get_call("c1")
    assert (call.outcome, call.intent, call.sentiment, call.agent) == (None, None, None, None)

    store.set_call_fields("c1", outcome="handoff", intent="card_lost", agent="ana")
    store.set_call_fields("c1", sentiment="negative", agent=None)
    call = store.get_call("c1")
    assert (call.outcome, call.intent, call.sentiment, call.agent) == (
        "handoff",
        "card_lost",
        "negative",
        None,
    )
    assert store.list_calls()[0].outcome == "handoff"
    store.set_call_fields("c1")  # nothing to set: fine for a known call


def test_desk_fields_refuse_bad_input(store):
    store.start_call("c1", started_at=T0)
    with pytest.raises(TypeError, match="end_reason"):
        store.set_call_fields("c1", end_reason="sneaky")
    with pytest.raises(TypeError, match="intent"):
        store.set_call_fields("c1", intent=3)
    with pytest.raises(ValueError, match="outcome"):
        store.set_call_fields("c1", outcome="resolved")
    with pytest.raises(KeyError, match="nope"):
        store.set_call_fields("nope", outcome="bot")
    with pytest.raises(KeyError, match="nope"):
        store.set_call_fields("nope")
    assert store.get_call("c1").end_reason is None


def test_call_record_keeps_its_positional_shape():
    call = CallRecord("c1", None, None, None, None, T0, None, None, None)
    assert call.turns == [] and (call.outcome, call.intent, call.sentiment, call.agent) == (
        None,
        None,
        None,
        None,
    )


@pytest.fixture
def desk(store):
    """Five calls a minute apart with desk fields and turns to search."""
    rows = [
        ("c0", "bot", "balance", "neutral", None, "What is my balance?"),
        ("c1", "handoff", "card_lost", "negative", "ana", "I lost my CARD yesterday"),
        ("c2", "handoff", "card_lost", "negative", "bo", "Card stolen, 100% sure"),
        ("c3", "abandoned", None, None, None, "hello?"),
        ("c4", "callback", "mortgage", "positive", "ana", "call me back about my_mortgage"),
    ]
    for i, (call_id, outcome, intent, sentiment, agent, said) in enumerate(rows):
        store.start_call(call_id, started_at=T0 + timedelta(minutes=i))
        store.add_turn(call_id, "bot", "Hello, how can I help?", started_ms=0)
        store.add_turn(call_id, "caller", said, started_ms=1000)
        store.set_call_fields(
            call_id, outcome=outcome, intent=intent, sentiment=sentiment, agent=agent
        )
    store.start_call("open", started_at=T0 + timedelta(minutes=10))
    return store


def _ids(calls: list[CallRecord]) -> list[str]:
    return [c.call_id for c in calls]


def test_list_calls_filters(desk):
    assert _ids(desk.list_calls()) == ["open", "c4", "c3", "c2", "c1", "c0"]
    assert _ids(desk.list_calls(outcome="handoff")) == ["c2", "c1"]
    assert _ids(desk.list_calls(intent="card_lost", agent="ana")) == ["c1"]
    assert _ids(desk.list_calls(sentiment="positive")) == ["c4"]
    assert _ids(desk.list_calls(agent="nobody")) == []
    # since is inclusive, until exclusive; any timezone is fine.
    paris = timezone(timedelta(hours=1))
    since = (T0 + timedelta(minutes=1)).astimezone(paris)
    assert _ids(desk.list_calls(since=since, until=T0 + timedelta(minutes=3))) == ["c2", "c1"]
    assert _ids(desk.list_calls(since=T0.replace(tzinfo=None) + timedelta(minutes=4))) == [
        "open",
        "c4",
    ]
    # Filters combine with the positional limit and offset.
    assert _ids(desk.list_calls(1, 1, outcome="handoff")) == ["c1"]
    assert desk.list_calls(outcome="handoff")[0].turns == []
    with pytest.raises(ValueError, match="outcome"):
        desk.list_calls(outcome="resolved")


def test_list_calls_text_search(desk):
    assert _ids(desk.list_calls(text="card")) == ["c2", "c1"]  # any case
    assert _ids(desk.list_calls(text="lost my card")) == ["c1"]
    assert _ids(desk.list_calls(text="how can I help")) == ["c4", "c3", "c2", "c1", "c0"]
    assert _ids(desk.list_calls(text="100%")) == ["c2"]  # % and _ are not wildcards
    assert _ids(desk.list_calls(text="0%s")) == []
    assert _ids(desk.list_calls(text="my_mortgage")) == ["c4"]
    assert _ids(desk.list_calls(text="my mortgage")) == []
    assert _ids(desk.list_calls(text="card", outcome="handoff", agent="bo")) == ["c2"]
    assert _ids(desk.list_calls(text="")) == _ids(desk.list_calls())
