"""The speech-to-text stage: one caller utterance in, its text out."""

from __future__ import annotations

import time

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from telephony.frames import CallerTextFrame, CallerUtteranceFrame
from voice.stt import WhisperTranscriber


class TranscriptionProcessor(FrameProcessor):
    """Transcribes each ``CallerUtteranceFrame`` with the shared Whisper model.

    Inference runs in a thread. A failure is logged and becomes an empty transcript, which
    the dialogue treats as "didn't catch that": one bad turn must not end the call.
    """

    def __init__(self, transcriber: WhisperTranscriber, **kwargs):
        super().__init__(**kwargs)
        self._transcriber = transcriber

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if not isinstance(frame, CallerUtteranceFrame):
            await self.push_frame(frame, direction)
            return
        started = time.monotonic()
        try:
            transcript = await self._transcriber.transcribe_async(frame.audio)
            text = transcript.text
        except Exception as e:  # noqa: BLE001 - reported, the call goes on
            logger.error(f"{self}: transcription failed: {e.__class__.__name__}: {e}")
            text = ""
        stt_ms = (time.monotonic() - started) * 1000
        logger.info(f"caller said {text!r} ({frame.audio.duration:.2f} s, stt {stt_ms:.0f} ms)")
        await self.push_frame(
            CallerTextFrame(
                text=text,
                speech_started_at=frame.speech_started_at,
                speech_ended_at=frame.speech_ended_at,
                timings={"end_of_turn_ms": frame.end_of_turn_ms, "stt_ms": stt_ms},
            )
        )
