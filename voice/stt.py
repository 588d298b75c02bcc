"""Speech-to-text with faster-whisper (CTranslate2), one model per process shared by all calls.

Loading a Whisper model takes about a second and a few hundred MB, so every call in the
process shares one `WhisperTranscriber` from `get_transcriber`. CTranslate2 models are safe to
call from several threads at once (calls queue on the model's worker(s)), so no lock is held
here; `num_workers` > 1 lets that many calls run truly in parallel.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice.audio import AudioChunk
from voice.models import resolve_whisper_model, whisper_not_found

__all__ = ["Transcript", "WhisperOptions", "WhisperTranscriber", "get_transcriber"]

WHISPER_SAMPLE_RATE = 16000
MIN_AUDIO_SECONDS = 0.1
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s at 100 mel frames a second
SHORT_WINDOW_MIN_FRAMES = 500
SHORT_WINDOW_PAD_SECONDS = 1.0
SHORT_WINDOW_MAX_SECONDS = 28.0
MAX_TOKENS_PER_SECOND = 6
"""Faster speech than this in a short-window decode means the decoder is running on."""


@dataclass(frozen=True)
class Transcript:
    """What was said in one utterance, and what it cost to find out."""

    text: str
    language: str | None
    audio_seconds: float
    processing_seconds: float


@dataclass(frozen=True)
class WhisperOptions:
    """How to load and run Whisper. Frozen so that it can key the per-process model cache.

    The defaults favour latency on a CPU: int8 weights, greedy decoding (beam_size=1), no
    temperature fallback, no conditioning on previous text and no timestamps. Each utterance
    is short and decoded on its own, so those features buy little accuracy for their cost.
    """

    model: str = "base"
    """A bundled name ("base", "tiny.en"), a CTranslate2 model folder, or a hub name."""
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    """Threads per inference; 0 = all cores (CTranslate2's own 0 would mean just 4)."""
    num_workers: int = 1
    """Inferences that may run at once; more uses more memory, not more cores."""
    language: str | None = "en"
    """Language code, or None to detect it per utterance (slower, less reliable when short)."""
    beam_size: int = 1
    vad_filter: bool = False
    """Silero VAD inside Whisper; off because the pipeline's own VAD already cut the turn."""
    initial_prompt: str | None = None
    """Domain words (product names, ...) that bias decoding towards their spelling."""
    temperature: tuple[float, ...] = (0.0,)
    """Sampling temperatures to fall back through; (0.0,) = greedy only, never re-decode."""
    condition_on_previous_text: bool = False
    without_timestamps: bool = True
    short_window: bool = True
    """Encode only the utterance (plus a second of padding) instead of Whisper's fixed 30 s
    window. The encoder's cost scales with the window, so a 3 s turn is about 10x cheaper;
    a decode that looks wrong (runs on, repeats itself) is redone on the full window."""


class WhisperTranscriber:
    """A loaded Whisper model that turns one utterance's audio into a `Transcript`."""

    def __init__(self, options: WhisperOptions, cache_dir: Path) -> None:
        from faster_whisper import WhisperModel

        self.options = options
        model_path = resolve_whisper_model(options.model, Path(cache_dir))
        threads = options.cpu_threads or os.cpu_count() or 0
        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                model_path,
                device=options.device,
                compute_type=options.compute_type,
                cpu_threads=threads,
                num_workers=options.num_workers,
            )
        except Exception as e:
            if Path(model_path).is_dir():
                raise
            raise whisper_not_found(options.model, type(e).__name__) from e
        self.load_seconds = time.perf_counter() - started
        self.full_window_fallbacks = 0

    def transcribe(self, audio: AudioChunk) -> Transcript:
        """Transcribe synchronously (blocks; call from a worker thread in async code)."""
        seconds = audio.duration
        if seconds < MIN_AUDIO_SECONDS:
            return Transcript("", self.options.language, seconds, 0.0)
        started = time.perf_counter()
        samples = audio.resampled(WHISPER_SAMPLE_RATE).to_float32()
        text, language = self._run(samples)
        elapsed = time.perf_counter() - started
        return Transcript(text, language, seconds, elapsed)

    async def transcribe_async(self, audio: AudioChunk) -> Transcript:
        """Transcribe without blocking the event loop."""
        return await asyncio.to_thread(self.transcribe, audio)

    def warm_up(self) -> None:
        """Run one tiny inference so that the first caller does not pay for lazy set-up."""
        rng = np.random.default_rng(0)
        self._run((rng.standard_normal(WHISPER_SAMPLE_RATE // 2) * 0.01).astype(np.float32))

    def _run(self, samples: np.ndarray) -> tuple[str, str | None]:
        """Decode 16 kHz float samples: the short window when it can, else faster-whisper."""
        o = self.options
        if o.short_window and o.language and len(samples) <= SHORT_WINDOW_MAX_SECONDS * 16000:
            text = self._run_short_window(samples)
            if text is not None:
                return text, o.language
            self.full_window_fallbacks += 1
        return self._run_full_window(samples)

    def _run_short_window(self, samples: np.ndarray) -> str | None:
        """Greedy decode over a window fitted to the utterance; None when it looks wrong."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        o = self.options
        model = self._model
        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=o.language
        )
        features = model.feature_extractor(samples)
        seconds = len(samples) / WHISPER_SAMPLE_RATE
        frames = int(np.ceil((seconds + SHORT_WINDOW_PAD_SECONDS) * 100))
        frames = min(FULL_WINDOW_FRAMES, max(SHORT_WINDOW_MIN_FRAMES, frames + frames % 2))
        window = np.zeros((features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[1])
        window[:, :used] = features[:, :used]
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        if o.initial_prompt:
            prompt = [
                tokenizer.sot_prev,
                *tokenizer.encode(" " + o.initial_prompt.strip()),
                *prompt,
            ]
        budget = int(MAX_TOKENS_PER_SECOND * seconds) + 10
        encoded = model.model.encode(
            ctranslate2.StorageView.from_array(window[np.newaxis]), to_cpu=False
        )
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=o.beam_size,
            max_length=len(prompt) + budget,
            suppress_blank=True,
        )
        tokens = _strip_restart([t for t in result[0].sequences_ids[0] if t < tokenizer.eot])
        text = tokenizer.decode(tokens).strip()
        if len(tokens) >= budget - 1 or _repeats(tokens) or _compression_ratio(text) > 2.4:
            return None
        return text

    def _run_full_window(self, samples: np.ndarray) -> tuple[str, str | None]:
        """faster-whisper's own transcribe; the lazy segment generator is consumed here."""
        o = self.options
        segments, info = self._model.transcribe(
            samples,
            language=o.language,
            beam_size=o.beam_size,
            temperature=list(o.temperature),
            condition_on_previous_text=o.condition_on_previous_text,
            without_timestamps=o.without_timestamps,
            vad_filter=o.vad_filter,
            initial_prompt=o.initial_prompt,
        )
        text = " ".join(segment.text.strip() for segment in segments)
        return text.strip(), info.language


def _strip_restart(tokens: list[int]) -> list[int]:
    """Drop a tail that starts the utterance over ("What's your number? What's your").

    With a short window the decoder, having finished, sometimes reads the padding as more
    speech and begins the same sentence again; what it repeats is its own beginning.
    """
    for start in range(2, len(tokens) - 1):
        tail = tokens[start:]
        if len(tail) >= 2 and tokens[: len(tail)] == tail:
            return tokens[:start]
    return tokens


def _repeats(tokens: list[int], times: int = 3, phrase: int = 4) -> bool:
    """Signs of a decoder loop: a 1-3 token group ``times`` times in a row, or any run of
    ``phrase`` tokens said twice (callers rarely repeat four words verbatim in one turn)."""
    for n in range(1, phrase):
        for i in range(len(tokens) - times * n + 1):
            group = tokens[i : i + n]
            if all(tokens[i + k * n : i + (k + 1) * n] == group for k in range(1, times)):
                return True
    seen = set()
    for i in range(len(tokens) - phrase + 1):
        gram = tuple(tokens[i : i + phrase])
        if gram in seen:
            return True
        seen.add(gram)
    return False


def _compression_ratio(text: str) -> float:
    """How well the text compresses (zlib); repetitive hallucinations compress very well."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


_transcribers: dict[tuple[WhisperOptions, Path], WhisperTranscriber] = {}
_transcribers_lock = threading.Lock()


def get_transcriber(options: WhisperOptions, cache_dir: Path) -> WhisperTranscriber:
    """The process-wide transcriber for these options, loaded on first use."""
    key = (options, Path(cache_dir).resolve())
    with _transcribers_lock:
        transcriber = _transcribers.get(key)
        if transcriber is None:
            transcriber = _transcribers[key] = WhisperTranscriber(options, cache_dir)
        return transcriber
