"""Speech-to-text with the real bundled Whisper models (golden transcripts)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from voice.audio import AudioChunk, load_audio
from voice.stt import Transcript, WhisperOptions, get_transcriber

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["base", "tiny.en"])
def transcriber(request: pytest.FixtureRequest, models_cache: Path):
    return get_transcriber(WhisperOptions(model=request.param), models_cache)


def test_jfk_golden(transcriber, data_dir: Path, normalise) -> None:
    transcript = transcriber.transcribe(load_audio(data_dir / "jfk" / "jfk.flac"))
    assert isinstance(transcript, Transcript)
    assert "ask not what your country can do for you" in normalise(transcript.text)
    assert transcript.language == "en"
    assert transcript.audio_seconds == pytest.approx(11.0, abs=0.05)
    assert 0 < transcript.processing_seconds < transcript.audio_seconds
    assert transcript.text == transcript.text.strip()


def test_telephone_rate_audio_is_resampled(transcriber, data_dir: Path, normalise) -> None:
    """An 8 kHz chunk is passed as is: the transcriber must resample it to 16 kHz itself."""
    audio = load_audio(data_dir / "ldc93s1" / "LDC93S1_pcms16le_1_8000.wav", sample_rate=8000)
    text = normalise(transcriber.transcribe(audio).text)
    assert "greasy wash" in text and "all year" in text


def test_short_command_16k(transcriber, data_dir: Path, normalise) -> None:
    """A 1 s utterance ("ten of clubs"); base sometimes hears "cloves", so only the start."""
    text = normalise(transcriber.transcribe(load_audio(data_dir / "cmu_cards" / "001.wav")).text)
    assert text.startswith("10 of")


def test_too_short_audio_skips_the_model(transcriber) -> None:
    assert transcriber.transcribe(AudioChunk(b"", 16000)).text == ""
    short = transcriber.transcribe(AudioChunk(b"\x01\x00" * 800, 16000))  # 50 ms
    assert (short.text, short.processing_seconds) == ("", 0.0)


def test_async_and_concurrent_calls_agree(transcriber, data_dir: Path) -> None:
    audio = load_audio(data_dir / "cmu_cards" / "001.wav")
    expected = transcriber.transcribe(audio).text
    assert asyncio.run(transcriber.transcribe_async(audio)).text == expected
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: transcriber.transcribe(audio).text, range(3)))
    assert results == [expected] * 3


def test_transcriber_is_cached_per_options(models_cache: Path) -> None:
    first = get_transcriber(WhisperOptions(model="tiny.en"), models_cache)
    assert get_transcriber(WhisperOptions(model="tiny.en"), models_cache) is first
    first.warm_up()
