"""Voice activity detection as pipecat `VADAnalyzer`s: WebRTC (tiny, fast) or Silero (robust).

The pipecat base class turns per-frame confidence into QUIET/STARTING/SPEAKING/STOPPING: a
frame counts as speech when confidence >= params.confidence *and* the smoothed loudness >=
params.min_volume, and start_secs/stop_secs of consecutive frames confirm a change. WebRTC VAD
answers yes/no, reported as confidence 1.0/0.0, so any threshold in (0, 1] works with it.
"""

from __future__ import annotations

import webrtcvad
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

__all__ = ["VAD_KINDS", "WebRTCVADAnalyzer", "make_vad_analyzer"]

VAD_KINDS = ("webrtc", "silero")
_WEBRTC_RATES = (8000, 16000, 32000, 48000)
_WEBRTC_FRAME_MS = 20  # webrtcvad accepts 10, 20 or 30 ms; 20 ms matches telephony frames


class WebRTCVADAnalyzer(VADAnalyzer):
    """pipecat VAD backed by Google's WebRTC GMM detector (no model file, ~µs per frame).

    `aggressiveness` 0 lets the most audio through as speech, 3 filters noise hardest.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        params: VADParams | None = None,
        aggressiveness: int = 2,
    ) -> None:
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"WebRTC VAD aggressiveness must be 0-3, got {aggressiveness}")
        if sample_rate is not None:
            _check_rate(sample_rate)
        super().__init__(sample_rate=sample_rate, params=params)
        self._vad = webrtcvad.Vad(aggressiveness)

    def set_sample_rate(self, sample_rate: int) -> None:
        """Accept only the rates webrtcvad supports, failing early with a clear message."""
        _check_rate(self._init_sample_rate or sample_rate)
        super().set_sample_rate(sample_rate)

    def num_frames_required(self) -> int:
        """Samples per 20 ms frame at the current rate."""
        return self.sample_rate * _WEBRTC_FRAME_MS // 1000

    def voice_confidence(self, buffer: bytes) -> float:
        """1.0 when WebRTC classifies the frame as speech, else 0.0."""
        return 1.0 if self._vad.is_speech(buffer, self.sample_rate) else 0.0


def _check_rate(sample_rate: int) -> None:
    if sample_rate not in _WEBRTC_RATES:
        raise ValueError(f"WebRTC VAD needs a sample rate in {_WEBRTC_RATES}, got {sample_rate}")


def make_vad_analyzer(
    kind: str,
    *,
    sample_rate: int | None,
    start_secs: float,
    stop_secs: float,
    confidence: float,
    min_volume: float,
    aggressiveness: int = 2,
) -> VADAnalyzer:
    """Build the configured analyzer; `aggressiveness` applies to WebRTC only.

    Silero loads its ONNX model (bundled with pipecat) and supports only 8 and 16 kHz.
    """
    params = VADParams(
        confidence=confidence, start_secs=start_secs, stop_secs=stop_secs, min_volume=min_volume
    )
    if kind == "webrtc":
        return WebRTCVADAnalyzer(
            sample_rate=sample_rate, params=params, aggressiveness=aggressiveness
        )
    if kind == "silero":
        from pipecat.audio.vad.silero import SileroVADAnalyzer

        return SileroVADAnalyzer(sample_rate=sample_rate, params=params)
    raise ValueError(f"unknown VAD kind {kind!r}; choose one of: {', '.join(VAD_KINDS)}")
