"""What the console shows, as response models, and the functions that build them from the
stores' records. Every text that came from a caller, the dialogue or an agent goes through
``switchboard.redaction`` here, on the way out, whatever was stored; caller numbers are
shown by their last four digits only. Pages render these same models (thin pages: the
JSON API and the HTML show one thing)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from console.store import HandoffRecord, UserRecord, WrapupRecord
from switchboard.records import CallRecord, TurnRecord
from switchboard.redaction import redact, redact_mapping

Role = Literal["agent", "supervisor", "admin"]
HandoffStatus = Literal["waiting", "taken", "completed", "abandoned", "callback"]
Outcome = Literal["bot", "handoff", "abandoned", "callback"]


class UserOut(BaseModel):
    name: str
    role: Role
    created_at: datetime
    disabled: bool


class MeOut(BaseModel):
    name: str
    role: Role
    csrf_token: str = Field(description="Send as X-CSRF-Token with every POST/PUT/PATCH/DELETE.")


class CsrfOut(BaseModel):
    csrf_token: str


class CallSummaryOut(BaseModel):
    call_id: str
    started_at: datetime
    ended_at: datetime | None
    duration_ms: int | None
    caller: str | None = Field(description="The caller's number, last four digits only.")
    end_reason: str | None
    outcome: Outcome | None
    intent: str | None
    sentiment: str | None
    agent: str | None
    recording_url: str | None


class CallPage(BaseModel):
    items: list[CallSummaryOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class TurnOut(BaseModel):
    seq: int
    speaker: Literal["caller", "bot", "system"]
    text: str
    started_ms: int
    ended_ms: int | None
    latency: dict[str, float] | None = Field(description="Per-stage milliseconds (bot turns).")
    latency_ms: float | None = Field(description="End of caller speech to first bot audio.")
    intent: str | None
    action: str | None
    sources: list[str]
    meta: dict[str, Any] | None


class WrapupOut(BaseModel):
    handoff_id: str
    call_id: str | None
    agent: str
    summary: str
    disposition: str
    saved_at: datetime


class CallerOut(BaseModel):
    name: str | None
    number: str | None = Field(description="Last four digits only.")
    customer_id: str | None
    verified: bool


class HandoffOut(BaseModel):
    handoff_id: str
    call_id: str | None
    created_at: datetime
    status: HandoffStatus
    reason: str
    prose: str
    caller: CallerOut
    intent: str | None
    sentiment: str | None
    key_quotes: list[str]
    done: list[str]
    open: list[str]
    summary: dict[str, Any] = Field(description="The whole HandoffSummary, redacted.")
    agent: str | None
    taken_at: datetime | None
    closed_at: datetime | None
    waiting_secs: float = Field(description="In the queue until now, or until taken/closed.")


class HandoffPage(BaseModel):
    items: list[HandoffOut]


class WrapupIn(BaseModel):
    summary: str = Field(min_length=1, max_length=4000)
    disposition: str = Field(min_length=1, max_length=64)


class HandoffDetailOut(HandoffOut):
    wrapup: WrapupOut | None = Field(description="The saved wrap-up, if any.")
    wrapup_draft: WrapupIn = Field(description="A prefilled wrap-up for the form.")


class CallDetailOut(CallSummaryOut):
    call_sid: str | None
    turns: list[TurnOut]
    handoffs: list[HandoffOut]
    wrapups: list[WrapupOut]
    latency_p50_ms: float | None
    latency_max_ms: float | None


DISPOSITIONS = ("resolved", "follow_up", "callback_scheduled", "transferred", "no_resolution")
"""Suggested dispositions (the API takes any short text)."""


def last_four(number: str | None) -> str | None:
    digits = "".join(c for c in number or "" if c.isdigit())
    if not digits:
        return None
    return "…" + digits[-4:]


def user_out(user: UserRecord) -> UserOut:
    return UserOut(
        name=user.name, role=user.role, created_at=user.created_at, disabled=user.disabled
    )


def call_summary(call: CallRecord) -> CallSummaryOut:
    duration = None
    if call.ended_at is not None:
        duration = int((call.ended_at - call.started_at).total_seconds() * 1000)
    return CallSummaryOut(
        call_id=call.call_id,
        started_at=call.started_at,
        ended_at=call.ended_at,
        duration_ms=duration,
        caller=last_four(call.from_number),
        end_reason=call.end_reason,
        outcome=call.outcome,
        intent=call.intent,
        sentiment=call.sentiment,
        agent=call.agent,
        recording_url=f"/api/calls/{call.call_id}/recording" if call.recording_path else None,
    )


def turn_out(turn: TurnRecord) -> TurnOut:
    meta = redact_mapping(turn.meta) if turn.meta else None
    total = (turn.latency or {}).get("total_ms")
    sources = (meta or {}).get("sources") or []
    return TurnOut(
        seq=turn.seq,
        speaker=turn.speaker,
        text=redact(turn.text),
        started_ms=turn.started_ms,
        ended_ms=turn.ended_ms,
        latency=turn.latency,
        latency_ms=float(total) if isinstance(total, int | float) else None,
        intent=(meta or {}).get("intent"),
        action=(meta or {}).get("action"),
        sources=[str(s) for s in sources] if isinstance(sources, list) else [],
        meta=meta,
    )


def call_detail(
    call: CallRecord, handoffs: list[HandoffRecord], wrapups: list[WrapupRecord]
) -> CallDetailOut:
    turns = [turn_out(t) for t in call.turns]
    latencies = sorted(t.latency_ms for t in turns if t.latency_ms is not None)
    return CallDetailOut(
        **call_summary(call).model_dump(),
        call_sid=call.call_sid,
        turns=turns,
        handoffs=[handoff_out(h) for h in handoffs],
        wrapups=[wrapup_out(w) for w in wrapups],
        latency_p50_ms=_nearest_rank(latencies, 0.5),
        latency_max_ms=latencies[-1] if latencies else None,
    )


def handoff_out(handoff: HandoffRecord, now: datetime | None = None) -> HandoffOut:
    summary = redact_mapping(handoff.summary)
    until = handoff.taken_at or handoff.closed_at or now or datetime.now(UTC)
    return HandoffOut(
        handoff_id=handoff.handoff_id,
        call_id=handoff.call_id,
        created_at=handoff.created_at,
        status=handoff.status,
        reason=handoff.reason,
        prose=str(summary.get("prose") or ""),
        caller=CallerOut(
            name=summary.get("caller_name"),
            number=summary.get("caller_number"),
            customer_id=summary.get("customer_id"),
            verified=bool(summary.get("verified")),
        ),
        intent=summary.get("intent"),
        sentiment=summary.get("sentiment"),
        key_quotes=_texts(summary.get("key_quotes")),
        done=_texts(summary.get("done")),
        open=_texts(summary.get("open")),
        summary=summary,
        agent=handoff.agent,
        taken_at=handoff.taken_at,
        closed_at=handoff.closed_at,
        waiting_secs=max(0.0, (until - handoff.created_at).total_seconds()),
    )


def handoff_detail(handoff: HandoffRecord, wrapup: WrapupRecord | None) -> HandoffDetailOut:
    out = handoff_out(handoff)
    draft_lines = [out.prose]
    if out.done:
        draft_lines.append("Done: " + "; ".join(out.done) + ".")
    if out.open:
        draft_lines.append("Open: " + "; ".join(out.open) + ".")
    return HandoffDetailOut(
        **out.model_dump(),
        wrapup=wrapup_out(wrapup) if wrapup else None,
        wrapup_draft=WrapupIn(
            summary=" ".join(line for line in draft_lines if line) or "Call handled.",
            disposition="follow_up" if out.open else "resolved",
        ),
    )


def wrapup_out(wrapup: WrapupRecord) -> WrapupOut:
    return WrapupOut(
        handoff_id=wrapup.handoff_id,
        call_id=wrapup.call_id,
        agent=wrapup.agent,
        summary=redact(wrapup.summary),
        disposition=wrapup.disposition,
        saved_at=wrapup.saved_at,
    )


def stored_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A handoff summary as the queue stores it: the caller's number cut to its last four
    digits, everything else redacted."""
    summary = dict(summary)
    summary["caller_number"] = last_four(summary.get("caller_number"))
    return redact_mapping(summary)


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _nearest_rank(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]
