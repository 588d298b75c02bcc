"""The live queue: handoffs from calls become rows, and every change reaches the browsers
that listen (``GET /api/handoffs/stream``).

Telephony calls :meth:`HandoffHub.on_handoff` from a call's event loop (or from any thread):
it must return at once, so the row is written by one worker thread (in arrival order), and
the change is handed to the app's event loop with ``call_soon_threadsafe``, where each
subscriber has a bounded ``asyncio.Queue``. A subscriber that falls ``QUEUE_SIZE`` changes
behind is dropped (its stream ends; ``EventSource`` reconnects and reloads the queue).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from loguru import logger

from console.store import ConsoleStore, HandoffRecord
from console.views import stored_summary
from switchboard.records import OUTCOMES

QUEUE_SIZE = 256

ChangeKind = Literal["created", "updated"]


@dataclass(frozen=True)
class HandoffChange:
    kind: ChangeKind
    handoff: HandoffRecord


class Subscription:
    """One listener's queue; ``None`` in it means "you were dropped"."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[HandoffChange | None] = asyncio.Queue(QUEUE_SIZE + 1)


class HandoffHub:
    """Writes handoffs from calls into the store and fans changes out to subscribers."""

    def __init__(self, store: ConsoleStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self._loop = loop
        self._subscribers: set[Subscription] = set()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-handoffs")

    def on_handoff(self, event: Any) -> None:
        """The ``CallResources.handoff_listeners`` hook: ``event.summary`` is a
        ``HandoffSummary``. Returns at once; the write happens on the hub's thread."""
        summary = event.summary.to_dict()
        self._writer.submit(self._record, summary)

    def record(self, summary: dict[str, Any]) -> HandoffRecord | None:
        """Queue a handoff now (in this thread) and publish it; for tests and callers
        without a ``HandoffSummary`` object. Returns ``None`` if it could not be stored."""
        return self._record(summary)

    def _record(self, summary: dict[str, Any]) -> HandoffRecord | None:
        call_id = summary.get("call_id")
        try:
            handoff = self.store.add_handoff(
                call_id, str(summary.get("reason") or "unknown"), stored_summary(summary)
            )
        except Exception as e:  # noqa: BLE001 - reported; the caller is still handed over
            logger.exception(f"console: could not queue the handoff of call {call_id}: {e}")
            return None
        if call_id:
            self._set_outcome(call_id, "handoff")
        self.publish(HandoffChange("created", handoff))
        return handoff

    def _set_outcome(self, call_id: str, outcome: str) -> None:
        if outcome not in OUTCOMES:
            return
        try:
            self.store.calls.set_call_fields(call_id, outcome=outcome)
        except KeyError:
            pass  # a conversation without a call row (the text chat)
        except Exception as e:  # noqa: BLE001
            logger.warning(f"console: could not set the outcome of call {call_id}: {e}")

    def status_changed(self, handoff: HandoffRecord) -> None:
        """Publish a change made elsewhere (taken, wrapped up, abandoned, callback); a closed
        handoff's outcome is copied to its call (abandoned, callback)."""
        if handoff.call_id and handoff.status in ("abandoned", "callback"):
            self._set_outcome(handoff.call_id, handoff.status)
        self.publish(HandoffChange("updated", handoff))

    def publish(self, change: HandoffChange) -> None:
        """Hand ``change`` to every subscriber; callable from any thread."""
        try:
            self._loop.call_soon_threadsafe(self._fan_out, change)
        except RuntimeError:  # the loop is closed: the app is shutting down
            pass

    def subscribe(self) -> Subscription:
        """A new subscription (call on the app's event loop)."""
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the handoffs received so far are written (and published)."""
        self._writer.submit(lambda: None).result(timeout=timeout)

    def close(self) -> None:
        """Finish the writes in flight, then end every stream."""
        self._writer.shutdown(wait=True)
        for subscription in list(self._subscribers):
            self._drop(subscription)

    def _fan_out(self, change: HandoffChange) -> None:
        for subscription in list(self._subscribers):
            if subscription.queue.qsize() >= QUEUE_SIZE:
                self._drop(subscription)
            else:
                subscription.queue.put_nowait(change)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        try:
            subscription.queue.put_nowait(None)
        except asyncio.QueueFull:
            pass
