"""Twilio Media Streams protocol <-> pipecat frames, hardened against bad input.

Twilio sends JSON text messages: ``connected``, ``start``, ``media`` (base64 8 kHz μ-law),
``dtmf``, ``mark`` and ``stop``; we send ``media``, ``mark`` and ``clear``. Any message that
cannot be understood is logged and dropped; it never raises, because an exception here would
end the call's receive loop. A peer that sends nothing but garbage is cut off with a reason.
"""

from __future__ import annotations

import base64
import binascii
import json

from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    AudioRawFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.serializers.base_serializer import FrameSerializer

from telephony.frames import CallStopFrame, TwilioMarkFrame
from voice.audio import StreamResampler, ulaw_decode, ulaw_encode

TWILIO_SAMPLE_RATE = 8000
MAX_CONSECUTIVE_ERRORS = 50
"""Malformed messages in a row before the call is closed (one second of 20 ms frames)."""


class TwilioMediaSerializer(FrameSerializer):
    """Serializer for one Media Stream (one call)."""

    def __init__(self, stream_sid: str, *, pipeline_sample_rate: int = 16000):
        super().__init__()
        self.stream_sid = stream_sid
        self._pipeline_rate = pipeline_sample_rate
        self._in_resampler = StreamResampler(
            TWILIO_SAMPLE_RATE, pipeline_sample_rate, low_latency=True
        )
        self._out_resamplers: dict[int, StreamResampler] = {}
        self._errors_in_row = 0
        self.malformed_messages = 0

    async def setup(self, setup: FrameProcessorSetup):
        pass

    # Outbound -----------------------------------------------------------------------------

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, InterruptionFrame):
            return json.dumps({"event": "clear", "streamSid": self.stream_sid})
        if isinstance(frame, AudioRawFrame):
            pcm = frame.audio
            if frame.sample_rate != TWILIO_SAMPLE_RATE:
                resampler = self._out_resamplers.get(frame.sample_rate)
                if resampler is None:
                    resampler = StreamResampler(frame.sample_rate, TWILIO_SAMPLE_RATE)
                    self._out_resamplers[frame.sample_rate] = resampler
                pcm = resampler.process(pcm)
            if not pcm:
                return None
            payload = base64.b64encode(ulaw_encode(pcm)).decode("ascii")
            return json.dumps(
                {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
            )
        if isinstance(frame, (OutputTransportMessageFrame, OutputTransportMessageUrgentFrame)):
            return json.dumps(frame.message)
        return None

    def mark(self, name: str) -> dict:
        """A ``mark`` message; Twilio echoes it once the audio before it has played."""
        return {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}}

    # Inbound ------------------------------------------------------------------------------

    async def deserialize(self, data: str | bytes) -> Frame | None:
        frame, problem = self._parse(data)
        if problem is None:
            self._errors_in_row = 0
            return frame
        self.malformed_messages += 1
        self._errors_in_row += 1
        logger.warning(f"stream {self.stream_sid}: {problem}; message dropped")
        if self._errors_in_row >= MAX_CONSECUTIVE_ERRORS:
            return CallStopFrame(reason=f"protocol errors: {MAX_CONSECUTIVE_ERRORS} bad messages")
        return None

    def _parse(self, data: str | bytes) -> tuple[Frame | None, str | None]:
        """The frame for ``data`` (or None), and a description of what was wrong with it."""
        if isinstance(data, bytes):
            return None, f"binary message of {len(data)} bytes (Twilio sends JSON text)"
        try:
            message = json.loads(data)
        except (json.JSONDecodeError, RecursionError):
            return None, f"invalid JSON {data[:80]!r}"
        if not isinstance(message, dict):
            return None, f"JSON {type(message).__name__} instead of an object"
        event = message.get("event")
        if event == "media":
            return self._media(message)
        if event == "dtmf":
            digit = (
                (message.get("dtmf") or {}).get("digit")
                if isinstance(message.get("dtmf"), dict)
                else None
            )
            try:
                return InputDTMFFrame(KeypadEntry(str(digit))), None
            except ValueError:
                return None, f"dtmf with invalid digit {digit!r}"
        if event == "mark":
            mark = message.get("mark")
            name = mark.get("name") if isinstance(mark, dict) else None
            if not isinstance(name, str):
                return None, "mark without a name"
            return TwilioMarkFrame(mark=name), None
        if event == "stop":
            return CallStopFrame(reason="caller hung up"), None
        if event in ("connected", "start"):
            return None, None
        return None, f"unknown event {str(event)[:40]!r}"

    def _media(self, message: dict) -> tuple[Frame | None, str | None]:
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str):
            return None, "media without a payload"
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            return None, None  # the bot's own audio on a both-tracks stream
        try:
            ulaw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return None, "media payload is not valid base64"
        if not ulaw:
            return None, None
        pcm = self._in_resampler.process(ulaw_decode(ulaw))
        if not pcm:
            return None, None
        frame = InputAudioRawFrame(audio=pcm, sample_rate=self._pipeline_rate, num_channels=1)
        return frame, None
