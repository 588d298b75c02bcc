"""The console's store on SQLite and PostgreSQL: users, the handoff queue, wrap-ups."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from console_support import T0

from console.store import ConsoleStore, HandoffConflict
from switchboard.records import CallStore


@pytest.fixture
def store(db_url):
    with CallStore(db_url) as calls:
        yield ConsoleStore(calls)


def test_users(store):
    ana = store.add_user("ana", "agent", "hash-1", created_at=T0)
    assert (ana.name, ana.role, ana.disabled, ana.session_epoch) == ("ana", "agent", False, 0)
    assert store.get_user("ana") == ana
    with pytest.raises(ValueError, match="already exists"):
        store.add_user("ana", "admin", "hash-2")
    with pytest.raises(ValueError, match="role"):
        store.add_user("bo", "boss", "hash-2")
    store.add_user("ada", "admin", "hash-3")
    assert [u.name for u in store.list_users()] == ["ada", "ana"]
    changed = store.update_user("ana", role="supervisor", disabled=True)
    assert (changed.role, changed.disabled, changed.session_epoch) == ("supervisor", True, 0)
    assert store.update_user("ana", password_hash="hash-9").session_epoch == 1
    assert store.update_user("ana", end_sessions=True).session_epoch == 2
    assert store.update_user("ana").password_hash == "hash-9"  # nothing to change
    with pytest.raises(KeyError):
        store.update_user("nobody", disabled=True)
    with pytest.raises(KeyError):
        store.update_user("nobody")
    assert store.get_user("nobody") is None


def test_the_handoff_queue(store):
    first = store.add_handoff("CA1", "fraud", {"prose": "one", "n": [1, 2]}, created_at=T0)
    second = store.add_handoff(
        "CA2", "agent_request", {"prose": "two"}, created_at=T0 + timedelta(seconds=5)
    )
    store.add_handoff(None, "frustration", {"prose": "chat"}, created_at=T0 + timedelta(1))
    assert store.get_handoff(first.handoff_id) == first
    assert first.summary == {"prose": "one", "n": [1, 2]} and first.status == "waiting"
    waiting = store.list_handoffs(statuses={"waiting"})
    assert [h.handoff_id for h in waiting][:2] == [first.handoff_id, second.handoff_id]
    taken = store.take_handoff(first.handoff_id, "ana", at=T0 + timedelta(seconds=30))
    assert (taken.status, taken.agent) == ("taken", "ana")
    assert taken.taken_at == T0 + timedelta(seconds=30)
    assert store.take_handoff(first.handoff_id, "ana").agent == "ana"  # again: no-op
    with pytest.raises(HandoffConflict, match="taken by ana"):
        store.take_handoff(first.handoff_id, "bo")
    with pytest.raises(KeyError):
        store.take_handoff("missing", "bo")
    assert [h.handoff_id for h in store.list_handoffs(agent="ana")] == [first.handoff_id]
    mine_or_waiting = store.list_handoffs(waiting_or_agent="bo")
    assert first.handoff_id not in {h.handoff_id for h in mine_or_waiting}
    assert len(store.list_handoffs(waiting_or_agent="ana")) == 3
    assert [h.handoff_id for h in store.list_handoffs(call_id="CA2")] == [second.handoff_id]
    assert len(store.list_handoffs(limit=1, offset=1)) == 1
    with pytest.raises(ValueError):
        store.list_handoffs(statuses={"lost"})


def test_statuses_and_wrapups(store):
    handoff = store.add_handoff("CA1", "fraud", {"prose": "p"}, created_at=T0)
    with pytest.raises(HandoffConflict, match="waiting, not taken"):
        store.save_wrapup(handoff.handoff_id, "ana", "summary", "resolved")
    store.take_handoff(handoff.handoff_id, "ana")
    back = store.set_handoff_status(handoff.handoff_id, "waiting")
    assert (back.status, back.agent, back.taken_at) == ("waiting", None, None)
    store.take_handoff(handoff.handoff_id, "bo")
    wrapup = store.save_wrapup(handoff.handoff_id, "bo", "Card blocked.", "resolved", at=T0)
    assert (wrapup.call_id, wrapup.agent, wrapup.disposition) == ("CA1", "bo", "resolved")
    done = store.get_handoff(handoff.handoff_id)
    assert (done.status, done.closed_at) == ("completed", T0)
    edited = store.save_wrapup(handoff.handoff_id, "bo", "Card blocked; new one sent.", "done")
    assert store.get_wrapup(handoff.handoff_id) == edited
    assert store.wrapups_for_call("CA1") == [edited]
    assert store.handled_call("CA1", "bo") and not store.handled_call("CA1", "ana")
    with pytest.raises(HandoffConflict, match="already completed"):
        store.set_handoff_status(handoff.handoff_id, "abandoned")
    with pytest.raises(KeyError):
        store.save_wrapup("missing", "bo", "s", "d")

    gone = store.add_handoff("CA2", "fraud", {})
    assert store.set_handoff_status(gone.handoff_id, "abandoned").closed_at is not None
    with pytest.raises(HandoffConflict):
        store.take_handoff(gone.handoff_id, "ana")
    with pytest.raises(ValueError):
        store.set_handoff_status(gone.handoff_id, "lost")
    with pytest.raises(ValueError):
        store.set_handoff_status(gone.handoff_id, "taken")
    with pytest.raises(KeyError):
        store.set_handoff_status("missing", "callback")


def test_only_one_agent_takes_a_handoff(db_url):
    """Eight agents, each with their own store (a process each), race for one caller."""
    with CallStore(db_url) as calls:
        handoff = ConsoleStore(calls).add_handoff("CA1", "fraud", {})
    winners: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def take(agent: str) -> None:
        with CallStore(db_url) as calls:
            barrier.wait()
            try:
                ConsoleStore(calls).take_handoff(handoff.handoff_id, agent)
                winners.append(agent)
            except HandoffConflict:
                pass
            except BaseException as e:  # surfaced below
                errors.append(e)

    threads = [threading.Thread(target=take, args=(f"agent{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(winners) == 1
    with CallStore(db_url) as calls:
        assert ConsoleStore(calls).get_handoff(handoff.handoff_id).agent == winners[0]


def test_deleting_a_handoff_takes_its_wrapup(db_url):
    import sqlalchemy as sa

    from switchboard.records import handoffs, wrapups

    with CallStore(db_url) as calls:
        store = ConsoleStore(calls)
        handoff = store.add_handoff("CA1", "fraud", {})
        store.take_handoff(handoff.handoff_id, "ana")
        store.save_wrapup(handoff.handoff_id, "ana", "s", "d")
        with calls.transaction(write=True) as conn:
            conn.execute(sa.delete(handoffs))
        with calls.transaction(write=False) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(wrapups)).scalar() == 0
