"""``/api/handoffs``: the agent desk's queue. Everyone signed in sees the waiting callers;
an agent also sees the handoffs they took, a supervisor or admin sees all of them. Agents
and supervisors take calls and write wrap-ups; a wrap-up is the taker's (or a
supervisor's) to write.

``GET /api/handoffs/stream`` is a Server-Sent Events stream: first a ``snapshot`` event (the
open handoffs, as ``GET /api/handoffs`` returns them), then ``created`` and ``updated``
events (one handoff each) and ``removed`` (``{"handoff_id": ...}``, when one leaves what
this user may see). Events may repeat what the snapshot holds: pages upsert by
``handoff_id``. A comment line every ``KEEPALIVE_SECS`` keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from console.auth import AnyUser, CurrentUser, DeskUser, SignInRequired, current_user, get_console
from console.live import HandoffChange
from console.store import OPEN_STATUSES, HandoffConflict, HandoffRecord
from console.views import (
    HandoffDetailOut,
    HandoffPage,
    HandoffStatus,
    WrapupIn,
    WrapupOut,
    handoff_detail,
    handoff_out,
    wrapup_out,
)
from switchboard.redaction import redact

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])

KEEPALIVE_SECS = 15.0


def _visible(handoff: HandoffRecord, user: CurrentUser) -> bool:
    return user.sees_all_calls or handoff.status == "waiting" or handoff.agent == user.name


async def _open_handoffs(
    request: Request, user: CurrentUser, statuses: set[str], limit: int, offset: int
) -> list[HandoffRecord]:
    store = get_console(request).store
    return await asyncio.to_thread(
        store.list_handoffs,
        statuses=statuses,
        waiting_or_agent=None if user.sees_all_calls else user.name,
        limit=limit,
        offset=offset,
    )


@router.get("", response_model=HandoffPage)
async def list_handoffs(
    request: Request,
    user: AnyUser,
    status: Annotated[
        list[HandoffStatus] | None, Query(description="default: waiting and taken")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HandoffPage:
    """The queue, oldest first: summary, reason, caller, verification, time waiting."""
    records = await _open_handoffs(
        request, user, set(status or OPEN_STATUSES), limit=limit, offset=offset
    )
    return HandoffPage(items=[handoff_out(h) for h in records])


@router.get("/stream", response_class=StreamingResponse)
async def stream_handoffs(request: Request, user: AnyUser) -> StreamingResponse:
    """Live changes to the queue as Server-Sent Events (see the module docstring)."""
    hub = get_console(request).hub
    subscription = hub.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            records = await _open_handoffs(request, user, set(OPEN_STATUSES), 500, 0)
            yield _event("snapshot", HandoffPage(items=[handoff_out(h) for h in records]))
            while True:
                try:
                    change = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECS)
                except TimeoutError:
                    try:  # a disabled user or an ended session stops listening
                        await current_user(request)
                    except SignInRequired:
                        return
                    yield ": keep-alive\n\n"
                    continue
                if change is None:
                    return
                yield _change_event(change, user)
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(kind: str, model) -> str:
    return f"event: {kind}\ndata: {model.model_dump_json()}\n\n"


def _change_event(change: HandoffChange, user: CurrentUser) -> str:
    if _visible(change.handoff, user):
        return _event(change.kind, handoff_out(change.handoff))
    data = json.dumps({"handoff_id": change.handoff.handoff_id})
    return f"event: removed\ndata: {data}\n\n"


async def _visible_handoff(request: Request, user: CurrentUser, handoff_id: str) -> HandoffRecord:
    handoff = await asyncio.to_thread(get_console(request).store.get_handoff, handoff_id)
    if handoff is None or not _visible(handoff, user):
        raise HTTPException(404, "no such handoff")
    return handoff


@router.get("/{handoff_id}", response_model=HandoffDetailOut)
async def get_handoff(request: Request, user: AnyUser, handoff_id: str) -> HandoffDetailOut:
    """One handoff with its saved wrap-up and a prefilled draft for the wrap-up form."""
    handoff = await _visible_handoff(request, user, handoff_id)
    wrapup = await asyncio.to_thread(get_console(request).store.get_wrapup, handoff_id)
    return handoff_detail(handoff, wrapup)


@router.post(
    "/{handoff_id}/take",
    response_model=HandoffDetailOut,
    responses={409: {"description": "already taken or closed"}},
)
async def take_handoff(request: Request, user: DeskUser, handoff_id: str) -> HandoffDetailOut:
    """Take a waiting caller; the first agent wins, the others get 409."""
    console = get_console(request)
    try:
        handoff = await asyncio.to_thread(console.store.take_handoff, handoff_id, user.name)
    except KeyError as e:
        raise HTTPException(404, "no such handoff") from e
    except HandoffConflict as e:
        raise HTTPException(409, str(e)) from e
    if handoff.call_id:
        try:
            await asyncio.to_thread(
                console.store.calls.set_call_fields, handoff.call_id, agent=user.name
            )
        except KeyError:
            pass  # no call row (a text conversation)
    console.hub.status_changed(handoff)
    return handoff_detail(handoff, None)


@router.post(
    "/{handoff_id}/wrapup",
    response_model=WrapupOut,
    responses={409: {"description": "not taken yet, or closed"}},
)
async def save_wrapup(
    request: Request, user: DeskUser, handoff_id: str, body: WrapupIn
) -> WrapupOut:
    """Save the after-call wrap-up (redacted) and complete the handoff; saving again edits
    it. Only the agent who took the call, or a supervisor."""
    console = get_console(request)
    handoff = await _visible_handoff(request, user, handoff_id)
    if handoff.agent is None:
        raise HTTPException(409, f"handoff {handoff_id} is {handoff.status}: take it first")
    if handoff.agent != user.name and not user.sees_all_calls:
        raise HTTPException(403, "only the agent who took this call writes its wrap-up")
    try:
        wrapup = await asyncio.to_thread(
            console.store.save_wrapup,
            handoff_id,
            handoff.agent or user.name,
            redact(body.summary),
            redact(body.disposition),
        )
    except HandoffConflict as e:
        raise HTTPException(409, str(e)) from e
    updated = await asyncio.to_thread(console.store.get_handoff, handoff_id)
    if updated is not None:
        console.hub.status_changed(updated)
    return wrapup_out(wrapup)
