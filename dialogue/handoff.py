"""The handoff summary: what the agent reads before saying hello.

Structured fields (who, verified or not, what they wanted, what was done, what is still
open, why they are being handed over, their mood, their own words) and a two-to-three
sentence prose summary. The prose comes from a template by default; when a language model
is configured it writes it from the same fields, and any failure of the model falls back
to the template, so a handoff never waits on or fails because of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from dialogue.understanding import Sentiment

logger = logging.getLogger(__name__)

HandoffReason = Literal[
    "agent_request",
    "repeated_failures",
    "frustration",
    "fraud",
    "dispute",
    "unintelligible",
    "verification_failed",
    "backend_error",
]

REASON_TEXT: dict[str, str] = {
    "agent_request": "the caller asked for a person",
    "repeated_failures": "the assistant could not help after two attempts",
    "frustration": "the caller was frustrated",
    "fraud": "the caller is reporting possible fraud",
    "dispute": "the caller wants to dispute a transaction",
    "unintelligible": "the assistant could not make out what the caller said",
    "verification_failed": "the caller could not be verified",
    "backend_error": "the banking system could not complete the request",
}

INTENT_TEXT: dict[str, str] = {
    "check_balance": "checking a balance",
    "transfer_money": "a transfer between accounts",
    "replace_card": "replacing a card",
    "order_checks": "ordering checks",
    "pay_bill": "paying a bill",
    "reset_password": "resetting an online banking password",
    "branch_hours": "branch opening hours",
    "schedule_appointment": "booking an appointment",
    "faq": "a question",
    "agent_request": "speaking to a person",
}


@dataclass(frozen=True)
class HandoffSummary:
    """Everything an agent needs before picking up. JSON-ready via :meth:`to_dict`."""

    reason: HandoffReason
    caller_name: str | None
    verified: bool
    customer_id: str | None
    intent: str | None
    slots: dict[str, Any]
    done: list[str]
    open: list[str]
    sentiment: Sentiment
    key_quotes: list[str]
    prose: str
    call_id: str | None = None
    caller_number: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def template_prose(
    *,
    reason: str,
    caller_name: str | None,
    verified: bool,
    intent: str | None,
    done: list[str],
    open_items: list[str],
    sentiment: str,
) -> str:
    """Two or three plain sentences from the structured fields."""
    who = caller_name or "The caller"
    status = "verified" if verified else "not verified"
    about = INTENT_TEXT.get(intent or "", None)
    first = f"{who} ({status}) called about {about}." if about else f"{who} ({status}) called."
    middle = []
    if done:
        middle.append("Done so far: " + "; ".join(done) + ".")
    if open_items:
        middle.append("Still open: " + "; ".join(open_items) + ".")
    if not middle:
        middle.append("Nothing was completed by the assistant.")
    mood = " The caller sounded frustrated." if sentiment == "negative" else ""
    last = f"Handed over because {REASON_TEXT.get(reason, reason)}.{mood}"
    return " ".join([first, " ".join(middle), last])


def build_summary(
    *,
    reason: HandoffReason,
    caller_name: str | None,
    verified: bool,
    customer_id: str | None,
    intent: str | None,
    slots: dict[str, Any],
    done: list[str],
    open_items: list[str],
    sentiment: Sentiment,
    key_quotes: list[str],
    call_id: str | None = None,
    caller_number: str | None = None,
    write_prose: Callable[[str, str], str] | None = None,
) -> HandoffSummary:
    """The summary; ``write_prose(system, user)`` (an LLM) writes the prose when given."""
    fields = dict(
        reason=reason,
        caller_name=caller_name,
        verified=verified,
        intent=intent,
        done=done,
        open_items=open_items,
        sentiment=sentiment,
    )
    prose = template_prose(**fields)  # type: ignore[arg-type]
    if write_prose is not None:
        facts = json.dumps({**fields, "slots": slots, "key_quotes": key_quotes}, default=str)
        try:
            written = write_prose(
                "You write handoff notes for bank contact-centre agents. Using only the facts "
                "given, write two or three short sentences: who called and whether they are "
                "verified, what they wanted and what was done, and why they are handed over. "
                "No greeting, no lists.",
                facts,
            ).strip()
            if written:
                prose = written
        except Exception as e:  # the template is always there; a handoff never waits on an LLM
            logger.warning("LLM summary failed, using the template: %s", e)
    return HandoffSummary(
        reason=reason,
        caller_name=caller_name,
        verified=verified,
        customer_id=customer_id,
        intent=intent,
        slots=slots,
        done=done,
        open=open_items,
        sentiment=sentiment,
        key_quotes=key_quotes,
        prose=prose,
        call_id=call_id,
        caller_number=caller_number,
    )


__all__ = [
    "HandoffReason",
    "HandoffSummary",
    "INTENT_TEXT",
    "REASON_TEXT",
    "build_summary",
    "template_prose",
]
