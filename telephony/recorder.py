"""Two-channel call recording: caller on the left, bot on the right, 8 kHz like the line.

The caller's stream is continuous (Twilio sends audio even when nobody speaks), so it is the
clock: each piece of bot audio is placed where the caller's stream had got to when the
transport sent it, and the gaps are silence.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voice.audio import StreamResampler

RECORDING_RATE = 8000


class RecorderProcessor(FrameProcessor):
    """Sits after the output transport and keeps both sides of the call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.caller = bytearray()
        self.bot = bytearray()
        self._resamplers: dict[tuple[str, int], StreamResampler] = {}

    def _to_line_rate(self, side: str, pcm: bytes, rate: int) -> bytes:
        if rate == RECORDING_RATE:
            return pcm
        key = (side, rate)
        if key not in self._resamplers:
            self._resamplers[key] = StreamResampler(rate, RECORDING_RATE)
        return self._resamplers[key].process(pcm)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.caller += self._to_line_rate("caller", frame.audio, frame.sample_rate)
        elif isinstance(frame, OutputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            if len(self.bot) < len(self.caller):
                self.bot += bytes(len(self.caller) - len(self.bot))
            self.bot += self._to_line_rate("bot", frame.audio, frame.sample_rate)
        await self.push_frame(frame, direction)
