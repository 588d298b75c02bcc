"""``/api/calls``: the call records for review. Supervisors and admins see every call; an
agent sees the calls they handled (the call's ``agent``, or a handoff of it they took) and
gets 404 for any other, as if it did not exist."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from console.auth import AnyUser, CurrentUser, get_console
from console.views import CallDetailOut, CallPage, Outcome, call_detail, call_summary
from switchboard.records import CallRecord

router = APIRouter(prefix="/api/calls", tags=["calls"])


@router.get("", response_model=CallPage)
async def list_calls(
    request: Request,
    user: AnyUser,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
    outcome: Outcome | None = None,
    intent: Annotated[str | None, Query(max_length=100)] = None,
    sentiment: Annotated[str | None, Query(max_length=50)] = None,
    agent: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in any turn")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CallPage:
    """Calls, newest first, filtered; an agent's list is always their own calls."""
    if not user.sees_all_calls:
        if agent not in (None, user.name):
            raise HTTPException(403, "agents see only their own calls")
        agent = user.name
    store = get_console(request).store.calls
    calls = await asyncio.to_thread(
        store.list_calls,
        limit + 1,
        offset,
        since=since,
        until=until,
        outcome=outcome,
        intent=intent,
        sentiment=sentiment,
        agent=agent,
        text=q or None,
    )
    more = len(calls) > limit
    return CallPage(
        items=[call_summary(c) for c in calls[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


async def _visible_call(request: Request, user: CurrentUser, call_id: str) -> CallRecord:
    console = get_console(request)
    call = await asyncio.to_thread(console.store.calls.get_call, call_id)
    if call is None:
        raise HTTPException(404, "no such call")
    if not user.sees_all_calls and call.agent != user.name:
        handled = await asyncio.to_thread(console.store.handled_call, call_id, user.name)
        if not handled:
            raise HTTPException(404, "no such call")
    return call


@router.get("/{call_id}", response_model=CallDetailOut)
async def get_call(request: Request, user: AnyUser, call_id: str) -> CallDetailOut:
    """One call: redacted transcript with speakers and timestamps (ms from the call's
    start), per-turn latency and sources, handoff summaries, wrap-ups, recording URL."""
    call = await _visible_call(request, user, call_id)
    store = get_console(request).store
    handoffs = await asyncio.to_thread(store.list_handoffs, call_id=call_id)
    wrapups = await asyncio.to_thread(store.wrapups_for_call, call_id)
    return call_detail(call, handoffs, wrapups)


@router.get(
    "/{call_id}/recording",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "two-channel WAV"}},
)
async def get_recording(request: Request, user: AnyUser, call_id: str) -> FileResponse:
    """The call's recording (caller left, bot right), with range requests for seeking."""
    call = await _visible_call(request, user, call_id)
    if not call.recording_path:
        raise HTTPException(404, "this call has no recording")
    path = Path(call.recording_path).resolve()
    folder = get_console(request).settings.recordings_dir.resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise HTTPException(404, "the recording is not available")
    return FileResponse(
        path, media_type="audio/wav", filename=f"{call_id}.wav", content_disposition_type="inline"
    )
