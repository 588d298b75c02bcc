"""The dialogue stage: caller text, keys and silence in; replies to speak out.

It owns the conversational timing a caller expects: the greeting when the call starts, a
prompt after silence and a polite hang-up after repeated silence, the end of a keyed PIN
after a pause (a lone 0 there asks for a person), ending the call once a goodbye has been
heard, and handing the caller to a person once the handoff reply has been heard
(``on_handoff`` moves the call; if it can't, the caller is told and stays with us).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    StartFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from dialogue.manager import DialogueManager
from dialogue.types import Reply
from telephony.frames import BotReplyFrame, CallerTextFrame, TwilioMarkFrame
from telephony.journal import CallJournal
from telephony.speech import parse_mark

TRANSFER_FAILED = Reply(
    "I'm sorry, I can't put you through to a colleague right now. I'm still here, though: "
    "is there anything else I can help you with?",
    action="fallback",
    intent="agent_request",
    meta={"transfer_failed": True},
)
"""Said when the call could not be moved to a person (no call control, or Twilio refused)."""


class DialogueProcessor(FrameProcessor):
    """Runs the per-call dialogue and schedules greeting, idle prompts and hang-up."""

    def __init__(
        self,
        dialogue: DialogueManager,
        journal: CallJournal,
        *,
        idle_prompt_secs: float = 7.0,
        keypad_pause_secs: float = 4.0,
        idle_prompts_before_hangup: int = 2,
        hangup_grace_secs: float = 2.0,
        on_handoff: Callable[[], Awaitable[bool]] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._dialogue = dialogue
        self._journal = journal
        self._idle_secs = idle_prompt_secs
        self._keypad_secs = keypad_pause_secs
        self._max_prompts = idle_prompts_before_hangup
        self._hangup_grace = hangup_grace_secs
        self._on_handoff = on_handoff
        self._turn_id = 0
        self._idle_prompts = 0
        self._idle_task: asyncio.Task | None = None
        self._keypad_task: asyncio.Task | None = None
        self._hangup_task: asyncio.Task | None = None
        self._ending_turn: int | None = None
        self._ending: Literal["hang_up", "handoff"] | None = None
        self._ended = False
        self._bot_speaking = False
        self._caller_speaking = False
        self.end_reason: str | None = None
        self.transferred = False
        """The call was moved to a person: it goes on without us, so don't hang it up."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            # Every stage before us has taken the StartFrame: the call is listening.
            logger.info(f"call {self._journal.call_id} ready to listen in {self._journal.ms()} ms")
            await self._say(self._dialogue.greeting())
            return
        if isinstance(frame, CallerTextFrame):
            self._caller_speaking = False
            await self._on_caller_text(frame)
            return
        if isinstance(frame, InputDTMFFrame):
            await self._on_dtmf(frame.button.value)
            return
        if isinstance(frame, UserStartedSpeakingFrame):
            self._caller_speaking = True
            self._idle_prompts = 0
            self._cancel_idle()
            self._cancel_keypad()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            self._cancel_idle()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            await self._bot_finished(played=False)
        elif isinstance(frame, TwilioMarkFrame):
            mark = parse_mark(frame.mark)
            if mark is not None and mark[1] is None and mark[0] == self._turn_id:
                await self._bot_finished(played=True)
        await self.push_frame(frame, direction)

    async def _bot_finished(self, *, played: bool) -> None:
        """The bot's audio has been sent (``played=False``) or heard to the end (``True``)."""
        self._bot_speaking = False
        if self._ending_turn is not None:
            self._schedule_hangup(0.0 if played else self._hangup_grace)
        elif self._idle_task is None:
            self._restart_idle()

    def call_fields(self) -> dict[str, str | None]:
        """The call's main intent and the caller's overall sentiment, for the call record."""
        return self._dialogue.call_fields()

    async def cleanup(self):
        await super().cleanup()
        self._cancel_idle()
        self._cancel_keypad()
        for task in (self._hangup_task,):
            if task is not None:
                task.cancel()

    async def _on_caller_text(self, frame: CallerTextFrame) -> None:
        started = time.monotonic()
        reply = self._safe(self._dialogue.on_text, frame.text)
        timings = dict(frame.timings, dialogue_ms=(time.monotonic() - started) * 1000)
        self._journal.add_turn(
            "caller",
            frame.text,
            started_at=frame.speech_started_at,
            ended_at=frame.speech_ended_at,
            meta={
                "intent": reply.intent,
                "confidence": reply.confidence,
                "action": reply.action,
                "sources": list(reply.sources),
                "slots": reply.meta.get("slots", {}),
            },
        )
        await self._say(reply, speech_ended_at=frame.speech_ended_at, timings=timings)

    async def _on_dtmf(self, digit: str) -> None:
        self._idle_prompts = 0
        self._cancel_idle()
        if self._bot_speaking:
            await self.broadcast_interruption()
        self._journal.add_turn("caller", "[keypad]", meta={"dtmf": True})
        self._cancel_keypad()
        reply = self._safe(self._dialogue.on_dtmf, digit)
        if reply is not None:
            await self._say(reply)
        else:  # a PIN is being keyed: more digits to come, or a pause that ends them
            self._keypad_task = self.create_task(self._keypad_timer(), name="keypad-timer")

    async def _keypad_timer(self) -> None:
        await asyncio.sleep(self._keypad_secs)
        self._keypad_task = None
        reply = self._safe(self._dialogue.on_keypad_pause)
        if reply is not None:  # a lone 0 (a person), or a PIN too short
            await self._say(reply)
        else:
            self._restart_idle()

    def _cancel_keypad(self) -> None:
        if self._keypad_task is not None:
            self._keypad_task.cancel()
            self._keypad_task = None

    def _safe(self, step, *args) -> Reply | None:
        try:
            return step(*args)
        except Exception as e:  # noqa: BLE001 - a spoken apology instead of a dead call
            logger.exception(f"{self}: dialogue step failed: {e}")
            return Reply(
                "Sorry, something went wrong on my side. Could you say that again?",
                action="fallback",
            )

    async def _say(
        self,
        reply: Reply,
        *,
        speech_ended_at: float | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        if self._ended:
            return
        self._turn_id += 1
        if reply.end_call:
            self._ending_turn = self._turn_id
            self._ending = "hang_up"
            self.end_reason = reply.intent or reply.action
        elif reply.action == "handoff" and self._on_handoff is not None:
            # Like a goodbye: once this reply has been heard, the call leaves us.
            self._ending_turn = self._turn_id
            self._ending = "handoff"
        await self.push_frame(
            BotReplyFrame(
                reply=reply,
                turn_id=self._turn_id,
                speech_ended_at=speech_ended_at,
                timings=timings or {},
            )
        )

    def _restart_idle(self) -> None:
        self._cancel_idle()
        if not self._caller_speaking and not self._ended:
            self._idle_task = self.create_task(self._idle_timer(), name="idle-timer")

    def _cancel_idle(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None

    async def _idle_timer(self) -> None:
        await asyncio.sleep(self._idle_secs)
        self._idle_task = None
        reply = self._dialogue.on_idle(self._idle_prompts, self._max_prompts)
        self._idle_prompts += 1
        self._journal.add_turn("system", f"[caller silent for {self._idle_secs:.0f} s]")
        await self._say(reply)

    def _schedule_hangup(self, delay: float) -> None:
        if self._ended:
            return
        if self._hangup_task is not None:
            if delay > 0:
                return
            self._hangup_task.cancel()
        self._hangup_task = self.create_task(self._hangup(delay), name="hangup")

    async def _hangup(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._ended:
            return
        self._ended = True  # from here on nothing reschedules or cancels this task
        self._cancel_idle()
        if self._ending == "handoff" and not await self._hand_over():
            return
        logger.info(f"{self}: ending the call ({self.end_reason})")
        await self.push_frame(EndWorkerFrame(reason=self.end_reason))

    async def _hand_over(self) -> bool:
        """Move the call to a person. If that fails the caller is told and the call goes on."""
        try:
            moved = await self._on_handoff()
        except Exception as e:  # noqa: BLE001 - the caller is still on the line with us
            logger.exception(f"{self}: handoff failed: {e}")
            moved = False
        if moved:
            self.transferred = True
            self.end_reason = "handoff"
            return True
        logger.warning(f"call {self._journal.call_id}: not transferred; staying with the caller")
        self._ended = False
        self._ending_turn = None
        self._ending = None
        self._hangup_task = None
        await self._say(TRANSFER_FAILED)
        return False
