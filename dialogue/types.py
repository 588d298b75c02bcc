"""Small types that cross the dialogue boundary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Action = Literal[
    "greeting", "answer", "clarify", "flow", "handoff", "goodbye", "fallback", "prompt"
]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the assistant says next, and what it means for the call.

    ``text`` is spoken sentence by sentence. ``end_call`` asks telephony to hang up once the
    reply has been heard. ``sources`` are the ids of the documents the answer came from.
    ``stream``, when set, yields the reply's sentences as a language model writes them
    (``text`` is then empty): a blocking iterator, to be driven from a worker thread, that
    may be abandoned when the caller interrupts.
    """

    text: str
    action: Action
    intent: str | None = None
    end_call: bool = False
    sources: tuple[str, ...] = ()
    confidence: float | None = None
    meta: dict = field(default_factory=dict)
    stream: Iterator[str] | None = field(default=None, compare=False, repr=False)
