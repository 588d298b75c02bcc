"""Text-to-speech with Piper, streamed sentence by sentence.

Piper phonemizes the whole text and then runs its ONNX model once per sentence, so the first
sentence can be played while the rest is still being synthesised. Piper guards espeak-ng with
its own lock and onnxruntime sessions are thread-safe, so one voice serves every call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from voice.audio import AudioChunk
from voice.models import resolve_piper_voice

__all__ = ["PiperOptions", "PiperSynthesizer", "get_synthesizer", "split_sentences"]


@dataclass(frozen=True)
class PiperOptions:
    """Which Piper voice to load and how it speaks. Frozen so it can key the voice cache."""

    voice: str = "en_US-joe-medium"
    """A bundled voice name or a path to a voice .onnx file."""
    use_cuda: bool = False
    length_scale: float | None = None
    """Phoneme duration: < 1 speaks faster, > 1 slower; None keeps the voice's own (1.0)."""
    volume: float = 1.0
    """Gain applied after Piper normalises each sentence to full scale."""


class PiperSynthesizer:
    """A loaded Piper voice producing mono 16-bit PCM at the voice's own sample rate."""

    def __init__(self, options: PiperOptions) -> None:
        from piper import PiperVoice, SynthesisConfig

        self.options = options
        self._voice = PiperVoice.load(resolve_piper_voice(options.voice), use_cuda=options.use_cuda)
        self._config = SynthesisConfig(length_scale=options.length_scale, volume=options.volume)

    @property
    def sample_rate(self) -> int:
        """Rate of every chunk this voice produces (22050 Hz for medium voices)."""
        return int(self._voice.config.sample_rate)

    def synthesize_stream(self, text: str) -> Iterator[bytes]:
        """Yield int16 PCM, one chunk per sentence, as soon as each is ready."""
        if not text.strip():
            return
        for chunk in self._voice.synthesize(text, syn_config=self._config):
            yield chunk.audio_int16_bytes

    def synthesize(self, text: str) -> AudioChunk:
        """The whole text as one chunk (for prompts rendered ahead of time, tests)."""
        pcm = b"".join(self.synthesize_stream(text))
        return AudioChunk(pcm=pcm, sample_rate=self.sample_rate)

    def warm_up(self) -> None:
        """Load espeak-ng data and run the model once so the first reply is not slow."""
        for _ in self.synthesize_stream("Hello."):
            pass


_synthesizers: dict[PiperOptions, PiperSynthesizer] = {}
_synthesizers_lock = threading.Lock()


def get_synthesizer(options: PiperOptions) -> PiperSynthesizer:
    """The process-wide synthesizer for these options, loaded on first use."""
    with _synthesizers_lock:
        synthesizer = _synthesizers.get(options)
        if synthesizer is None:
            synthesizer = _synthesizers[options] = PiperSynthesizer(options)
        return synthesizer


# --- Sentence splitting ----------------------------------------------------------------------
# A dialogue reply arrives as text (possibly streamed from an LLM); speaking it sentence by
# sentence lets the first audio start after one sentence instead of the whole answer.

# Only words that rarely end a sentence: "Inc." or "no." often do, so they are not here.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr vs approx dept ave rd blvd apt mt jan feb apr aug sept oct nov".split()
)
# A candidate boundary: terminal punctuation (plus closing quotes/brackets) then whitespace,
# or a newline.
_BOUNDARY = re.compile(r"[.!?;]+[\"')\]]*(?=\s)|\n")


def split_sentences(text: str) -> list[str]:
    """Split text into speakable sentences at . ! ? ; and newlines.

    Decimals ("2.5") never split because a boundary needs whitespace after the mark.
    Abbreviations ("Mr.", "St.", "e.g.", "U.S.") do not end a sentence.
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group() != "\n" and _ends_with_abbreviation(text[start : match.end()]):
            continue
        _append(sentences, text[start : match.end()])
        start = match.end()
    _append(sentences, text[start:])
    return sentences


def _ends_with_abbreviation(candidate: str) -> bool:
    """True when the final period belongs to an abbreviation rather than ending a sentence."""
    if not candidate.rstrip("\"')]").endswith("."):
        return False
    words = candidate.rstrip("\"')]").split()
    last = words[-1].lstrip("\"'([") if words else ""
    core = last.rstrip(".")
    if core.lower() in _ABBREVIATIONS:
        return True
    # Dotted initialisms: "e.g.", "i.e.", "U.S.", "a.m." (a lone "I." is a word, so 2+ letters).
    return re.fullmatch(r"(?:[A-Za-z]\.){2,}", last) is not None


def _append(sentences: list[str], piece: str) -> None:
    piece = " ".join(piece.split())
    if piece and any(ch.isalnum() for ch in piece):
        sentences.append(piece)
    elif piece and sentences:
        sentences[-1] += piece
