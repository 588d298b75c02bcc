"""Our own pipecat frames for a phone call.

Frames that carry a whole caller utterance or a whole reply keep the pipeline's order
guarantees simple: a ``CallerUtteranceFrame`` travels as data, so its transcription can
never be overtaken by the system frames that announce the end of speech.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame, SystemFrame

from dialogue.types import Reply
from voice.audio import AudioChunk


@dataclass
class CallerUtteranceFrame(DataFrame):
    """One caller turn, from the first speech to the end-of-turn decision.

    ``speech_ended_at`` is the monotonic time of the last speech frame; ``end_of_turn_ms`` is
    how long the end-of-turn detector waited after it.
    """

    audio: AudioChunk = None  # type: ignore[assignment]
    speech_started_at: float = 0.0
    speech_ended_at: float = 0.0
    end_of_turn_ms: float = 0.0


@dataclass
class CallerTextFrame(DataFrame):
    """The transcription of a caller turn, with the timing that led to it."""

    text: str = ""
    speech_started_at: float = 0.0
    speech_ended_at: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class BotReplyFrame(DataFrame):
    """A reply to speak, with the timing of the turn that caused it (if any)."""

    reply: Reply = None  # type: ignore[assignment]
    turn_id: int = 0
    speech_ended_at: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class TwilioMarkFrame(SystemFrame):
    """A ``mark`` event echoed by Twilio: audio up to that mark has been played.

    (Not ``name``: every pipecat frame already has a ``name`` of its own.)
    """

    mark: str = ""


@dataclass
class CallStopFrame(SystemFrame):
    """The stream ended from Twilio's side (``stop`` event) or the protocol broke."""

    reason: str = ""
