"""Short-window Whisper decoding: loop detection, agreement with the full window, fallback."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest

from voice.audio import load_audio
from voice.stt import (
    SHORT_WINDOW_MAX_SECONDS,
    WhisperOptions,
    WhisperTranscriber,
    _compression_ratio,
    _repeats,
    _strip_restart,
    get_transcriber,
)

# --- loop detection (no model) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "tokens",
    [
        [5, 5, 5],
        [1, 2, 5, 5, 5, 3],
        [1, 2, 1, 2, 1, 2],
        [9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 8],
        [1, 2, 3, 4, 9, 1, 2, 3, 4],  # a four-token phrase said twice
        [1, 2, 3, 4, 1, 2, 3, 4],
        # What tiny.en really produced on a 1 s clip: " 10 of clubs 10 of clubs ..."
        [838, 286, 9784] * 10 + [838],
    ],
    ids=[
        "one-token",
        "one-token-inside",
        "two-tokens",
        "three-tokens",
        "phrase",
        "phrase-adj",
        "real-loop",
    ],
)
def test_repeats_spots_loops(tokens: list[int]) -> None:
    assert _repeats(tokens)


@pytest.mark.parametrize(
    "tokens",
    [
        [],
        [7],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        [5, 5],  # a word said twice ("no no") is not a loop
        [1, 2, 1, 2],
        [1, 2, 3, 9, 1, 2, 3],  # a three-token phrase said twice is allowed
        [1, 2, 3, 4, 5, 1, 2, 3, 6],
    ],
    ids=["empty", "one", "distinct", "pair", "two-twice", "three-twice", "near-phrase"],
)
def test_repeats_accepts_normal_text(tokens: list[int]) -> None:
    assert not _repeats(tokens)


def test_repeats_thresholds() -> None:
    assert _repeats([5, 5], times=2)
    assert not _repeats([5, 5, 5], times=4)
    assert _repeats([1, 2, 9, 1, 2], phrase=2)
    assert not _repeats([1, 2, 9, 1, 2], phrase=3)


def test_compression_ratio() -> None:
    assert _compression_ratio("") == 0.0
    sentence = "And so my fellow Americans, ask not what your country can do for you."
    assert _compression_ratio(sentence) < 2.4
    assert _compression_ratio(" 10 of clubs" * 10) > 2.4


# --- which window runs (model stubbed out) ---------------------------------------------------


class _StubTranscriber(WhisperTranscriber):
    """The real ``_run`` policy, with both decoders replaced by recorders."""

    def __init__(self, options: WhisperOptions, short_result: str | None = "short") -> None:
        self.options = options
        self.full_window_fallbacks = 0
        self.calls: list[str] = []
        self._short_result = short_result

    def _run_short_window(self, samples: np.ndarray) -> str | None:
        self.calls.append("short")
        return self._short_result

    def _run_full_window(self, samples: np.ndarray) -> tuple[str, str | None]:
        self.calls.append("full")
        return "full", "en"


def _seconds(n: float) -> np.ndarray:
    return np.zeros(int(n * 16000), dtype=np.float32)


def test_short_window_used_when_it_decodes() -> None:
    stub = _StubTranscriber(WhisperOptions())
    assert stub._run(_seconds(3)) == ("short", "en")
    assert (stub.calls, stub.full_window_fallbacks) == (["short"], 0)


def test_failed_short_window_falls_back_and_counts() -> None:
    stub = _StubTranscriber(WhisperOptions(), short_result=None)
    assert stub._run(_seconds(3)) == ("full", "en")
    assert stub._run(_seconds(3)) == ("full", "en")
    assert stub.calls == ["short", "full"] * 2
    assert stub.full_window_fallbacks == 2


@pytest.mark.parametrize(
    ("options", "seconds"),
    [
        (WhisperOptions(short_window=False), 3),
        (WhisperOptions(language=None), 3),  # language detection needs the full path
        (WhisperOptions(), SHORT_WINDOW_MAX_SECONDS + 0.5),
    ],
    ids=["disabled", "no-language", "too-long"],
)
def test_full_window_only(options: WhisperOptions, seconds: float) -> None:
    stub = _StubTranscriber(options)
    assert stub._run(_seconds(seconds))[0] == "full"
    assert (stub.calls, stub.full_window_fallbacks) == (["full"], 0)


# --- the real models -------------------------------------------------------------------------

MODELS = ["tiny.en", "base"]


@pytest.fixture(scope="module", params=MODELS)
def transcriber(request: pytest.FixtureRequest, models_cache: Path) -> WhisperTranscriber:
    return get_transcriber(WhisperOptions(model=request.param), models_cache)


def _samples(path: Path) -> np.ndarray:
    return load_audio(path).resampled(16000).to_float32()


@pytest.mark.slow
@pytest.mark.parametrize(
    "audio",
    [
        "jfk/jfk.flac",
        pytest.param(
            "ldc93s1/LDC93S1.wav",
            marks=pytest.mark.xfail(
                reason="the 5 s short window hears this 2.9 s TIMIT clip differently: tiny.en "
                "'doc suit in greasy wash for all year. She' vs 'dog suit and greasy wash water "
                "all year' (WER 0.36); base 'wash for' vs 'washwater' (WER 0.2)",
                strict=False,
            ),
        ),
    ],
)
def test_short_window_hears_what_the_full_window_hears(
    transcriber: WhisperTranscriber, data_dir: Path, normalise, audio: str
) -> None:
    samples = _samples(data_dir / audio)
    short = transcriber._run_short_window(samples)
    full, _ = transcriber._run_full_window(samples)
    assert short is not None, "the short window gave up on clean speech"
    assert normalise(full)
    assert jiwer.wer(normalise(full), normalise(short)) <= 0.1, (short, full)


@pytest.mark.slow
def test_short_window_keeps_the_content_of_ldc93s1(
    transcriber: WhisperTranscriber, data_dir: Path, normalise
) -> None:
    """Even where words differ (see the xfail above), the gist survives."""
    short = transcriber._run_short_window(_samples(data_dir / "ldc93s1" / "LDC93S1.wav"))
    assert short is not None
    text = normalise(short)
    assert text.startswith("she had") and "greasy wash" in text and "all year" in text


@pytest.mark.slow
def test_clean_speech_needs_no_fallback(
    transcriber: WhisperTranscriber, data_dir: Path, normalise
) -> None:
    before = transcriber.full_window_fallbacks
    text = transcriber.transcribe(load_audio(data_dir / "jfk" / "jfk.flac")).text
    assert "ask not what your country can do for you" in normalise(text)
    assert transcriber.full_window_fallbacks == before


@pytest.mark.slow
def test_forced_fallback_still_gives_the_right_text(
    transcriber: WhisperTranscriber,
    data_dir: Path,
    normalise,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio = load_audio(data_dir / "jfk" / "jfk.flac")
    calls = []

    def looping(samples: np.ndarray) -> None:
        calls.append(len(samples))
        return None

    monkeypatch.setattr(transcriber, "_run_short_window", looping)
    before = transcriber.full_window_fallbacks
    transcript = transcriber.transcribe(audio)
    assert calls == [audio.num_samples * 16000 // audio.sample_rate]
    assert transcriber.full_window_fallbacks == before + 1
    assert "ask not what your country can do for you" in normalise(transcript.text)
    assert (
        transcript.text == transcriber._run_full_window(_samples(data_dir / "jfk" / "jfk.flac"))[0]
    )


@pytest.mark.slow
def test_restart_after_the_utterance_is_cut_off(models_cache: Path, data_dir: Path, normalise):
    """tiny.en starts this 1 s clip over in a 5 s window ("10 of clubs 10 of clubs ..."):
    the repeated beginning is dropped and no second decode is needed."""
    transcriber = get_transcriber(WhisperOptions(model="tiny.en"), models_cache)
    audio = load_audio(data_dir / "cmu_cards" / "001.wav")
    assert normalise(transcriber._run_short_window(audio.to_float32())) == "10 of clubs"
    before = transcriber.full_window_fallbacks
    assert normalise(transcriber.transcribe(audio).text) == "10 of clubs"
    assert transcriber.full_window_fallbacks == before


def test_strip_restart_drops_a_repeated_beginning():
    assert _strip_restart([1, 2, 3, 4, 1, 2]) == [1, 2, 3, 4]
    assert _strip_restart([1, 2, 3, 1, 2, 3, 1, 2]) == [1, 2, 3]
    assert _strip_restart([5, 1, 2, 3, 4]) == [5, 1, 2, 3, 4]
    assert _strip_restart([1, 2, 3, 1]) == [1, 2, 3, 1]  # one token is not a restart
    assert _strip_restart([]) == []


@pytest.mark.slow
def test_short_window_off_never_tries_it(
    models_cache: Path, data_dir: Path, normalise, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcriber = get_transcriber(WhisperOptions(model="tiny.en", short_window=False), models_cache)

    def unexpected(samples: np.ndarray) -> str:
        raise AssertionError("short window used although disabled")

    monkeypatch.setattr(transcriber, "_run_short_window", unexpected)
    text = transcriber.transcribe(load_audio(data_dir / "cmu_cards" / "001.wav")).text
    assert normalise(text) == "10 of clubs"
    assert transcriber.full_window_fallbacks == 0
