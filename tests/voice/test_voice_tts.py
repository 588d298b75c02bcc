"""Text-to-speech with the bundled Piper voice, and sentence splitting for streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice.stt import WhisperOptions, get_transcriber
from voice.tts import PiperOptions, get_synthesizer, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello. How are you?", ["Hello.", "How are you?"]),
        ("Great! Anything else? No; thanks.", ["Great!", "Anything else?", "No;", "thanks."]),
        ("Your rate is 2.5 percent. Okay?", ["Your rate is 2.5 percent.", "Okay?"]),
        ("Mr. Smith lives on Main St. in town.", ["Mr. Smith lives on Main St. in town."]),
        ("Bring ID, e.g. a passport. Then wait.", ["Bring ID, e.g. a passport.", "Then wait."]),
        ("The U.S. office is closed. So am I.", ["The U.S. office is closed.", "So am I."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ('He said "yes." Then left.', ['He said "yes."', "Then left."]),
        ("Wait... what?!", ["Wait...", "what?!"]),
        ("Call 555.1234 now", ["Call 555.1234 now"]),
        ("", []),
        ("  \n ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.fixture(scope="module")
def synthesizer():
    return get_synthesizer(PiperOptions())


@pytest.mark.slow
def test_piper_produces_plausible_speech(synthesizer) -> None:
    assert synthesizer.sample_rate == 22050
    audio = synthesizer.synthesize("Thank you for calling. How can I help you today?")
    assert audio.sample_rate == 22050 and audio.channels == 1
    # ~10 words at normal speaking rates (2-4 words per second).
    assert 2.0 < audio.duration < 6.0
    samples = audio.to_float32()
    assert np.sqrt(np.mean(samples**2)) > 0.05


@pytest.mark.slow
def test_piper_streams_one_chunk_per_sentence(synthesizer) -> None:
    chunks = list(synthesizer.synthesize_stream("Hello there. Your balance is ten dollars."))
    assert len(chunks) == 2 and all(len(chunk) > 0 and len(chunk) % 2 == 0 for chunk in chunks)
    assert list(synthesizer.synthesize_stream("   ")) == []
    assert get_synthesizer(PiperOptions()) is synthesizer


@pytest.mark.slow
def test_length_scale_slows_speech(synthesizer) -> None:
    text = "Please hold while I transfer your call."
    slow = get_synthesizer(PiperOptions(length_scale=1.5)).synthesize(text)
    # Durations vary by ~5 % between runs (Piper samples phoneme durations); 1.5 gives ~1.33x.
    assert slow.duration > 1.15 * synthesizer.synthesize(text).duration


@pytest.mark.slow
def test_tts_to_stt_round_trip(synthesizer, models_cache: Path, normalise) -> None:
    sentence = "Your new card will arrive within five working days."
    audio = synthesizer.synthesize(sentence)  # 22.05 kHz; the transcriber resamples
    text = get_transcriber(WhisperOptions(model="base"), models_cache).transcribe(audio).text
    assert normalise(text) == normalise(sentence)
