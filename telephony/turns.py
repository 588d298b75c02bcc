"""Who is speaking: voice activity, end of the caller's turn, and barge-in.

``CallerTurnProcessor`` sits right after the transport input. It runs the VAD on every
20 ms of caller audio and keeps the audio of the turn in progress (with a little pre-roll
so the first syllable is not clipped). At a pause it decides whether the turn is over,
either after a fixed silence or by asking Smart Turn v3, and then sends the whole
utterance downstream as one ``CallerUtteranceFrame``. When the caller starts speaking while
the bot talks, it interrupts the bot (barge-in), which makes the transport send ``clear``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from telephony.frames import CallerUtteranceFrame, TwilioMarkFrame
from telephony.speech import is_reply_end_mark
from voice.audio import AudioChunk
from voice.turn import SmartTurnModel


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """How turns are taken; see ``switchboard.settings.TurnSettings`` for each field."""

    end_of_turn: str = "smart_turn"
    silence_timeout_secs: float = 0.6
    smart_turn_max_wait_secs: float = 1.2
    smart_turn_recheck_secs: float = 0.3
    smart_turn_threshold: float = 0.5
    allow_barge_in: bool = True
    min_barge_in_secs: float = 0.15
    max_utterance_secs: float = 20.0
    pre_roll_secs: float = 0.3
    trailing_silence_secs: float = 0.15


class CallerTurnProcessor(FrameProcessor):
    """Turns caller audio into utterances; interrupts the bot when the caller barges in."""

    def __init__(
        self,
        vad: VADAnalyzer,
        options: TurnOptions,
        smart_turn: SmartTurnModel | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if options.end_of_turn == "smart_turn" and smart_turn is None:
            raise ValueError("end_of_turn='smart_turn' needs a SmartTurnModel")
        self._vad = vad
        self._options = options
        self._smart_turn = smart_turn
        self._pre_roll: deque[bytes] = deque()
        self._pre_roll_bytes = 0
        self._turn: list[bytes] | None = None
        self._turn_started_at = 0.0
        self._turn_secs = 0.0
        self._speech_secs = 0.0
        self._silence_secs = 0.0
        self._last_speech_at = 0.0
        self._smart_turn_asked_at: float | None = None
        self._bot_speaking = False
        self._interrupted_this_turn = False
        self._sample_rate = 16000

    @property
    def in_turn(self) -> bool:
        return self._turn is not None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(frame, direction)
            await self._on_audio(frame)
            return
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        elif isinstance(frame, TwilioMarkFrame) and is_reply_end_mark(frame.mark):
            # Twilio has played the whole reply: the most faithful "bot stopped" we have.
            self._bot_speaking = False
        await self.push_frame(frame, direction)

    async def cleanup(self):
        await super().cleanup()
        await self._vad.cleanup()

    async def _on_audio(self, frame: InputAudioRawFrame) -> None:
        if self._vad.sample_rate != frame.sample_rate:
            self._vad.set_sample_rate(frame.sample_rate)
            self._sample_rate = frame.sample_rate
        state = await self._vad.analyze_audio(frame.audio)
        now = time.monotonic()
        secs = len(frame.audio) / 2 / frame.sample_rate
        speaking = state in (VADState.SPEAKING, VADState.STARTING)

        if self._turn is None:
            self._keep_pre_roll(frame.audio)
            if state == VADState.SPEAKING:
                await self._start_turn(now)
            return

        self._turn.append(frame.audio)
        if speaking:
            self._speech_secs += secs
            self._silence_secs = 0.0
            self._last_speech_at = now
            self._smart_turn_asked_at = None
            await self._maybe_barge_in()
        else:
            self._silence_secs += secs

        self._turn_secs += secs
        if self._turn_secs >= self._options.max_utterance_secs:
            logger.info(f"{self}: turn cut at {self._turn_secs:.1f} s")
            await self._end_turn(now)
        elif state == VADState.QUIET and await self._turn_is_over():
            await self._end_turn(now)

    def _keep_pre_roll(self, audio: bytes) -> None:
        self._pre_roll.append(audio)
        self._pre_roll_bytes += len(audio)
        limit = int(self._options.pre_roll_secs * self._sample_rate) * 2
        while self._pre_roll and self._pre_roll_bytes - len(self._pre_roll[0]) >= limit:
            self._pre_roll_bytes -= len(self._pre_roll.popleft())

    async def _start_turn(self, now: float) -> None:
        self._turn = list(self._pre_roll)
        self._turn_secs = 0.0  # from the start of speech; the pre-roll does not count
        self._pre_roll.clear()
        self._pre_roll_bytes = 0
        self._turn_started_at = now
        self._last_speech_at = now
        self._speech_secs = self._vad.params.start_secs
        self._silence_secs = 0.0
        self._smart_turn_asked_at = None
        self._interrupted_this_turn = False
        await self.broadcast_frame(UserStartedSpeakingFrame)
        await self._maybe_barge_in()

    async def _maybe_barge_in(self) -> None:
        if (
            self._bot_speaking
            and self._options.allow_barge_in
            and not self._interrupted_this_turn
            and self._speech_secs >= self._options.min_barge_in_secs
        ):
            self._interrupted_this_turn = True
            logger.info(f"{self}: caller barged in, stopping the bot")
            await self.broadcast_interruption()

    async def _turn_is_over(self) -> bool:
        options = self._options
        if options.end_of_turn == "silence" or self._smart_turn is None:
            return self._silence_secs >= options.silence_timeout_secs
        if self._silence_secs >= options.smart_turn_max_wait_secs:
            return True
        asked = self._smart_turn_asked_at
        if asked is not None and self._silence_secs - asked < options.smart_turn_recheck_secs:
            return False
        self._smart_turn_asked_at = self._silence_secs
        audio = AudioChunk(b"".join(self._turn or []), self._sample_rate)
        samples = (
            audio.resampled(16000).to_float32()
            if self._sample_rate != 16000
            else audio.to_float32()
        )
        probability = await asyncio.to_thread(self._smart_turn.completion_probability, samples)
        logger.debug(f"{self}: smart turn says {probability:.2f} after {self._silence_secs:.2f} s")
        return probability >= options.smart_turn_threshold

    async def _end_turn(self, now: float) -> None:
        chunks = self._turn or []
        self._turn = None
        pcm = b"".join(chunks)
        keep_silence = int(self._options.trailing_silence_secs * self._sample_rate) * 2
        trailing = int(self._silence_secs * self._sample_rate) * 2
        if trailing > keep_silence:
            pcm = pcm[: max(0, len(pcm) - (trailing - keep_silence))]
        speech_ended_at = self._last_speech_at
        await self.broadcast_frame(UserStoppedSpeakingFrame)
        await self.push_frame(
            CallerUtteranceFrame(
                audio=AudioChunk(pcm, self._sample_rate),
                speech_started_at=self._turn_started_at,
                speech_ended_at=speech_ended_at,
                end_of_turn_ms=(now - speech_ended_at) * 1000,
            )
        )
