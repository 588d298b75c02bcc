"""Audio formats and codecs: the one place where bytes, rates and channels are converted.

Everything else in Switchboard passes `AudioChunk`s, which carry their own sample rate, so a
conversion only ever happens at an edge (telephony in/out, file loading, a model's input).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

__all__ = [
    "AudioChunk",
    "AudioFileError",
    "StreamResampler",
    "interleave_stereo",
    "load_audio",
    "resample",
    "save_wav",
    "ulaw_decode",
    "ulaw_encode",
]

_INT16_SCALE = 32768.0


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A span of 16-bit little-endian signed PCM, interleaved when `channels` > 1."""

    pcm: bytes
    sample_rate: int
    channels: int = 1

    @property
    def num_samples(self) -> int:
        """Samples per channel (frames)."""
        return len(self.pcm) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / self.sample_rate if self.sample_rate else 0.0

    def _int16(self) -> np.ndarray:
        """Samples as an int16 array shaped (frames, channels)."""
        usable = self.num_samples * self.channels * 2
        return np.frombuffer(self.pcm[:usable], dtype="<i2").reshape(-1, self.channels)

    def to_float32(self) -> np.ndarray:
        """Mono float32 in [-1, 1], the input every model expects (channels are averaged)."""
        samples = self._int16().astype(np.float32) / _INT16_SCALE
        return samples.mean(axis=1) if self.channels > 1 else samples[:, 0].copy()

    @classmethod
    def from_float32(cls, samples: np.ndarray, sample_rate: int) -> AudioChunk:
        """Quantise float samples in [-1, 1] (1-D mono, or (frames, channels)) to a chunk."""
        samples = np.asarray(samples, dtype=np.float32)
        channels = 1 if samples.ndim == 1 else samples.shape[1]
        pcm = _float_to_int16(samples).tobytes()
        return cls(pcm=pcm, sample_rate=sample_rate, channels=channels)

    def resampled(self, rate: int) -> AudioChunk:
        """The same audio at `rate` (self when the rate already matches)."""
        if rate == self.sample_rate:
            return self
        out = soxr.resample(self._int16(), self.sample_rate, rate)
        return AudioChunk(pcm=out.astype("<i2").tobytes(), sample_rate=rate, channels=self.channels)


def _float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Inverse of to_float32 (x 32768) so int16 -> float -> int16 is exact; clip, never wrap."""
    return np.clip(np.rint(samples * _INT16_SCALE), -32768, 32767).astype("<i2")


# --- G.711 μ-law -----------------------------------------------------------------------------
# Twilio Media Streams carry 8 kHz μ-law. Tables are built once so a 20 ms frame costs one
# numpy take() rather than a Python loop per sample.

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def _build_ulaw_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _build_ulaw_encode_table() -> np.ndarray:
    """Code for every int16 value, indexed by the value's unsigned 16-bit pattern."""
    values = np.arange(65536, dtype=np.int32)
    values = np.where(values >= 32768, values - 65536, values)
    sign = np.where(values < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(values), _ULAW_CLIP) + _ULAW_BIAS
    # Exponent = position of the highest set bit above bit 7 (0..7).
    exponent = np.floor(np.log2(magnitude >> 7 | 1)).astype(np.int32)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_ULAW_TO_LINEAR = _build_ulaw_decode_table()
_LINEAR_TO_ULAW = _build_ulaw_encode_table()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 μ-law bytes -> 16-bit PCM (twice as many bytes)."""
    return _ULAW_TO_LINEAR[np.frombuffer(data, dtype=np.uint8)].tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM -> G.711 μ-law bytes (a trailing odd byte is ignored)."""
    usable = len(pcm) - len(pcm) % 2
    return _LINEAR_TO_ULAW[np.frombuffer(pcm[:usable], dtype="<u2")].tobytes()


# --- Resampling ------------------------------------------------------------------------------


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample mono 16-bit PCM in one go (for whole utterances; see StreamResampler)."""
    if from_rate == to_rate:
        return pcm
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    return soxr.resample(samples, from_rate, to_rate).astype("<i2").tobytes()


class StreamResampler:
    """Resamples a mono 16-bit stream chunk by chunk, keeping filter state between chunks.

    Resampling each 20 ms frame independently would click at every frame boundary; soxr's
    stream keeps the filter history so the output is the same as resampling the whole call.
    """

    def __init__(self, from_rate: int, to_rate: int, *, low_latency: bool = False) -> None:
        """``low_latency``: for live 20 ms frames. soxr's HQ filter holds back about 100 ms
        and releases it in bursts, which delays end-of-turn and barge-in; the live path
        instead doubles 8 kHz with a short half-band FIR (1.5 ms delay) and falls back to
        soxr's quick cubic mode for other ratios."""
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._doubler = _HalfBandDoubler() if low_latency and to_rate == 2 * from_rate else None
        quality = "QQ" if low_latency else "HQ"
        self._stream = (
            None
            if from_rate == to_rate or self._doubler is not None
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality=quality)
        )

    def process(self, pcm: bytes) -> bytes:
        """Resample the next chunk; output may lag input by the filter delay (a few ms)."""
        return self._run(pcm, last=False)

    def flush(self) -> bytes:
        """Return the samples still held in the filter at the end of a stream."""
        return self._run(b"", last=True)

    def _run(self, pcm: bytes, *, last: bool) -> bytes:
        if self._doubler is not None:
            return self._doubler.process(pcm)
        if self._stream is None:
            return pcm
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        return self._stream.resample_chunk(samples, last=last).astype("<i2").tobytes()


class _HalfBandDoubler:
    """Upsample by exactly 2 with a 31-tap Kaiser-windowed sinc, keeping state across chunks."""

    _TAPS = 31

    def __init__(self) -> None:
        n = np.arange(self._TAPS) - (self._TAPS - 1) / 2
        kernel = np.sinc(n / 2) * np.kaiser(self._TAPS, 8.0)
        self._kernel = (kernel / kernel.sum() * 2).astype(np.float64)
        self._history = np.zeros(self._TAPS - 1)

    def process(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        if samples.size == 0:
            return b""
        stuffed = np.zeros(samples.size * 2)
        stuffed[::2] = samples
        signal = np.concatenate([self._history, stuffed])
        self._history = signal[-(self._TAPS - 1) :]
        out = np.convolve(signal, self._kernel, mode="valid")
        return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes()


# --- Files -----------------------------------------------------------------------------------


class AudioFileError(ValueError):
    """An audio file is missing or cannot be decoded."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read audio file {self.path}: {reason}")


def load_audio(path: str | Path, sample_rate: int = 16000) -> AudioChunk:
    """Read WAV/FLAC/MP3/OGG (or anything FFmpeg decodes) as mono 16-bit at `sample_rate`.

    soundfile (libsndfile) is tried first because it is fast and exact; PyAV covers the
    formats libsndfile lacks (AAC, M4A, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    try:
        samples, rate = _read_soundfile(path)
    except Exception as sf_error:  # libsndfile raises its own error types
        try:
            samples, rate = _read_pyav(path)
        except Exception as av_error:
            reason = f"not a readable audio file ({_one_line(sf_error)}; {_one_line(av_error)})"
            raise AudioFileError(path, reason) from av_error
    if samples.size == 0:
        return AudioChunk(pcm=b"", sample_rate=sample_rate)
    if rate != sample_rate:
        samples = soxr.resample(samples, rate, sample_rate)
    return AudioChunk.from_float32(samples, sample_rate)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def _read_pyav(path: Path) -> tuple[np.ndarray, int]:
    import av

    parts: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return samples.astype(np.float32), rate


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def save_wav(
    path: str | Path,
    chunk_or_pcm: AudioChunk | bytes,
    sample_rate: int | None = None,
    channels: int = 1,
) -> Path:
    """Write 16-bit PCM WAV; raw bytes need `sample_rate`, a chunk brings its own."""
    if isinstance(chunk_or_pcm, AudioChunk):
        pcm, rate, channels = chunk_or_pcm.pcm, chunk_or_pcm.sample_rate, chunk_or_pcm.channels
    else:
        if sample_rate is None:
            raise ValueError("save_wav needs sample_rate when given raw PCM bytes")
        pcm, rate = bytes(chunk_or_pcm), sample_rate
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


def interleave_stereo(left: bytes, right: bytes) -> bytes:
    """Two mono 16-bit tracks -> one stereo stream, the shorter padded with silence.

    Call recordings put the caller on the left and the bot on the right so a reviewer can
    hear (and a tool can score) each side separately.
    """
    a = np.frombuffer(left[: len(left) - len(left) % 2], dtype="<i2")
    b = np.frombuffer(right[: len(right) - len(right) % 2], dtype="<i2")
    frames = max(a.size, b.size)
    out = np.zeros((frames, 2), dtype="<i2")
    out[: a.size, 0] = a
    out[: b.size, 1] = b
    return out.tobytes()
