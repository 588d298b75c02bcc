"""VAD analyzers reach SPEAKING during real speech and QUIET in the silence around it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState

from voice.audio import load_audio
from voice.vad import WebRTCVADAnalyzer, make_vad_analyzer

FRAME_SECS = 0.02
PAD_SECS = 1.0


def _states(analyzer: VADAnalyzer, pcm: bytes, rate: int) -> list[VADState]:
    """Feed 20 ms frames, as a transport would, and record the state after each."""
    analyzer.set_sample_rate(rate)
    frame = int(rate * FRAME_SECS) * 2

    async def run() -> list[VADState]:
        return [
            await analyzer.analyze_audio(pcm[i : i + frame])
            for i in range(0, len(pcm) - frame + 1, frame)
        ]

    return asyncio.run(run())


def _make(kind: str, rate: int) -> VADAnalyzer:
    return make_vad_analyzer(
        kind, sample_rate=rate, start_secs=0.2, stop_secs=0.3, confidence=0.7, min_volume=0.6
    )


@pytest.mark.parametrize("kind", ["webrtc", "silero"])
@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("name", ["ldc93s1/LDC93S1.wav", "cmu_cards/001.wav"])
def test_speech_between_silences(kind: str, rate: int, name: str, data_dir: Path) -> None:
    speech = load_audio(data_dir / name, sample_rate=rate)
    silence = b"\x00" * int(rate * PAD_SECS) * 2
    states = _states(_make(kind, rate), silence + speech.pcm + silence, rate)
    pad_frames = int(PAD_SECS / FRAME_SECS)
    speech_frames = int(speech.duration / FRAME_SECS)
    assert set(states[:pad_frames]) == {VADState.QUIET}  # leading silence
    during = states[pad_frames : pad_frames + speech_frames]
    assert during.count(VADState.SPEAKING) > 0.5 * len(during)
    assert states[-1] == VADState.QUIET  # back to quiet in trailing silence
    assert VADState.QUIET in states[pad_frames + speech_frames : pad_frames + speech_frames + 30]


def test_webrtc_confidence_is_binary(data_dir: Path) -> None:
    analyzer = WebRTCVADAnalyzer(sample_rate=16000, aggressiveness=3)
    analyzer.set_sample_rate(16000)
    assert analyzer.num_frames_required() == 320
    assert analyzer.voice_confidence(b"\x00" * 640) == 0.0
    speech = load_audio(data_dir / "ldc93s1" / "LDC93S1.wav")
    frames = [speech.pcm[i : i + 640] for i in range(0, len(speech.pcm) - 639, 640)]
    assert {analyzer.voice_confidence(frame) for frame in frames} == {0.0, 1.0}


def test_webrtc_rejects_bad_rates_and_aggressiveness() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        WebRTCVADAnalyzer(sample_rate=22050)
    with pytest.raises(ValueError, match="sample rate"):
        WebRTCVADAnalyzer().set_sample_rate(44100)
    with pytest.raises(ValueError, match="aggressiveness"):
        WebRTCVADAnalyzer(aggressiveness=4)


def test_make_vad_analyzer_unknown_kind() -> None:
    with pytest.raises(ValueError, match="webrtc, silero"):
        make_vad_analyzer(
            "energy", sample_rate=None, start_secs=0.2, stop_secs=0.2, confidence=0.7, min_volume=0
        )


def test_make_vad_analyzer_passes_params() -> None:
    analyzer = make_vad_analyzer(
        "webrtc",
        sample_rate=None,
        start_secs=0.1,
        stop_secs=0.5,
        confidence=0.5,
        min_volume=0.0,
        aggressiveness=1,
    )
    assert isinstance(analyzer, WebRTCVADAnalyzer)
    assert (analyzer.params.start_secs, analyzer.params.stop_secs) == (0.1, 0.5)
    analyzer.set_sample_rate(8000)
    assert analyzer.sample_rate == 8000 and analyzer.num_frames_required() == 160
