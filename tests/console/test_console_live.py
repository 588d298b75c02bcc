"""The live queue over a real server: a handoff published through the telephony listener
(from another thread, as a call's loop would) reaches a browser's SSE stream."""

from __future__ import annotations

import json
import threading
import types

import httpx
from console_support import PASSWORD, SUMMARY, FakeSummary, serve


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    me = client.post(
        "/api/auth/signin",
        json={"name": name, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert me.status_code == 200
    client.headers["X-CSRF-Token"] = me.json()["csrf_token"]
    return client


def events(response: httpx.Response):
    """(event, data) pairs from an SSE stream; comments (keep-alives) skipped."""
    kind, data = None, []
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif not line and kind:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def publish(console, **summary) -> None:
    """What telephony/session.py does on a handoff, from a thread of its own."""
    event = types.SimpleNamespace(summary=FakeSummary({**SUMMARY, **summary}))
    threads = [
        threading.Thread(target=listener, args=(event,))
        for listener in console.resources.handoff_listeners
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_handoff_appears_live_and_its_changes_follow(console):
    with serve(console.app) as base:
        assert len(console.resources.handoff_listeners) == 1
        ana, bo, sue = (signed_in(base, n) for n in ("ana", "bo", "sue"))
        with (
            ana.stream("GET", "/api/handoffs/stream") as ana_stream,
            sue.stream("GET", "/api/handoffs/stream") as sue_stream,
        ):
            assert ana_stream.headers["content-type"].startswith("text/event-stream")
            ana_events, sue_events = events(ana_stream), events(sue_stream)
            assert next(ana_events) == ("snapshot", {"items": []})
            assert next(sue_events) == ("snapshot", {"items": []})

            publish(console, call_id="CA7")
            kind, handoff = next(ana_events)
            assert kind == "created" and handoff["call_id"] == "CA7"
            assert handoff["status"] == "waiting" and handoff["reason"] == "fraud"
            assert handoff["caller"]["number"] == "…1111" and handoff["caller"]["verified"]
            assert "4532" not in json.dumps(handoff)  # redacted
            assert "[CARD]" in handoff["prose"]
            assert next(sue_events)[0] == "created"

            # bo takes it: ana may no longer see it, the supervisor sees who has it.
            taken = bo.post(f"/api/handoffs/{handoff['handoff_id']}/take")
            assert taken.status_code == 200
            assert next(ana_events) == ("removed", {"handoff_id": handoff["handoff_id"]})
            kind, seen = next(sue_events)
            assert (kind, seen["status"], seen["agent"]) == ("updated", "taken", "bo")

            bo.post(
                f"/api/handoffs/{handoff['handoff_id']}/wrapup",
                json={"summary": "done", "disposition": "resolved"},
            )
            kind, seen = next(sue_events)
            assert (kind, seen["status"]) == ("updated", "completed")

            # A stream opened now starts from the queue as it stands.
            publish(console, call_id="CA8")
            next(ana_events)  # created CA8
        with ana.stream("GET", "/api/handoffs/stream") as again:
            kind, snapshot = next(events(again))
            assert kind == "snapshot"
            assert [h["call_id"] for h in snapshot["items"]] == ["CA8"]
    assert console.resources.handoff_listeners == []  # unsubscribed when the app stopped


def test_a_stream_needs_a_session(console):
    with serve(console.app) as base:
        response = httpx.get(f"{base}/api/handoffs/stream", timeout=10)
        assert response.status_code == 401


def test_a_slow_subscriber_is_dropped_not_waited_for(console):
    import asyncio

    from console import live

    async def run() -> None:
        hub = live.HandoffHub(console.store, asyncio.get_running_loop())
        slow = hub.subscribe()
        record = console.store.add_handoff("CA1", "fraud", {})
        for _ in range(live.QUEUE_SIZE + 5):
            hub.publish(live.HandoffChange("updated", record))
        await asyncio.sleep(0.05)
        assert hub.subscribers == 0
        items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
        assert items[-1] is None and len(items) == live.QUEUE_SIZE + 1
        hub.close()

    asyncio.run(run())
