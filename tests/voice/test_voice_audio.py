"""Audio formats and codecs: μ-law, resampling, file loading and writing."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voice.audio import (
    AudioChunk,
    AudioFileError,
    StreamResampler,
    interleave_stereo,
    load_audio,
    resample,
    save_wav,
    ulaw_decode,
    ulaw_encode,
)


def _sine(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_chunk_properties_and_float_round_trip() -> None:
    samples = _sine(0.5, 16000)
    chunk = AudioChunk.from_float32(samples, 16000)
    assert chunk.num_samples == 8000
    assert chunk.duration == pytest.approx(0.5)
    assert np.max(np.abs(chunk.to_float32() - samples)) < 1e-4
    stereo = AudioChunk(interleave_stereo(chunk.pcm, chunk.pcm), 16000, channels=2)
    assert stereo.num_samples == 8000
    assert np.allclose(stereo.to_float32(), chunk.to_float32())


def test_from_float32_clips_instead_of_wrapping() -> None:
    chunk = AudioChunk.from_float32(np.array([2.0, -2.0], dtype=np.float32), 8000)
    assert np.frombuffer(chunk.pcm, "<i2").tolist() == [32767, -32768]


def test_ulaw_decode_then_encode_is_identity() -> None:
    codes = bytes(range(256))
    again = ulaw_encode(ulaw_decode(codes))
    # 0x7F is μ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    assert [i for i in range(256) if again[i] != codes[i]] == [0x7F]
    assert again[0x7F] == 0xFF


def test_ulaw_decode_matches_reference_values() -> None:
    pcm = np.frombuffer(ulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F, 0xEF, 0x6F])), "<i2")
    assert pcm.tolist() == [-32124, 32124, 0, 0, 132, -132]


def test_ulaw_encode_then_decode_is_close() -> None:
    x = np.arange(-32768, 32768, 7, dtype="<i2")
    y = np.frombuffer(ulaw_decode(ulaw_encode(x.tobytes())), "<i2").astype(np.int32)
    error = np.abs(y - x.astype(np.int32))
    # μ-law steps grow with amplitude: error stays within half a step (~3 % of the value).
    assert np.all(error <= np.maximum(8, np.abs(x.astype(np.int32)) * 0.035 + 8))
    assert len(ulaw_encode(x.tobytes())) == x.size


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000)])
def test_resample_lengths(src: int, dst: int) -> None:
    pcm = AudioChunk.from_float32(_sine(1.0, src), src).pcm
    out = resample(pcm, src, dst)
    assert abs(len(out) // 2 - dst) <= 1
    assert resample(pcm, src, src) is pcm


def test_stream_resampler_matches_length_of_whole_resample() -> None:
    pcm = AudioChunk.from_float32(_sine(1.0, 8000), 8000).pcm
    stream = StreamResampler(8000, 16000)
    frames = [stream.process(pcm[i : i + 320]) for i in range(0, len(pcm), 320)]
    out = b"".join(frames) + stream.flush()
    assert abs(len(out) // 2 - 16000) <= 2
    # The stream keeps filter state: the output is a clean sine, not clicks at frame edges.
    samples = np.frombuffer(out, "<i2").astype(np.float32) / 32768
    assert np.max(np.abs(np.diff(samples[200:-200]))) < 0.1


def test_stream_resampler_identity() -> None:
    assert StreamResampler(8000, 8000).process(b"\x01\x00") == b"\x01\x00"


def test_resampled_chunk_keeps_rate_and_duration() -> None:
    chunk = AudioChunk.from_float32(_sine(0.3, 8000), 8000)
    up = chunk.resampled(16000)
    assert up.sample_rate == 16000
    assert up.duration == pytest.approx(0.3, abs=0.002)
    assert chunk.resampled(8000) is chunk


def test_load_flac_stereo_44k_to_16k_mono(data_dir: Path) -> None:
    chunk = load_audio(data_dir / "jfk" / "jfk.flac")
    assert (chunk.sample_rate, chunk.channels) == (16000, 1)
    assert chunk.duration == pytest.approx(11.0, abs=0.05)
    assert np.abs(chunk.to_float32()).max() > 0.1


def test_load_wav_at_other_rate(data_dir: Path) -> None:
    chunk = load_audio(data_dir / "ldc93s1" / "LDC93S1.wav", sample_rate=8000)
    assert chunk.sample_rate == 8000
    assert chunk.duration == pytest.approx(2.92, abs=0.01)


@pytest.mark.parametrize(("suffix", "fmt"), [(".ogg", "OGG"), (".mp3", "MP3")])
def test_load_compressed_formats(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"tone{suffix}"
    soundfile.write(path, np.stack([_sine(1.0, 48000)] * 2, axis=1), 48000, format=fmt)
    chunk = load_audio(path, sample_rate=16000)
    assert chunk.duration == pytest.approx(1.0, abs=0.1)
    assert np.abs(chunk.to_float32()).max() > 0.3


def test_load_falls_back_to_pyav(tmp_path: Path) -> None:
    """AAC in M4A is beyond libsndfile, so this exercises the PyAV path."""
    import av

    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = _sine(1.0, 44100)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    chunk = load_audio(path, sample_rate=16000)
    assert chunk.duration == pytest.approx(1.0, abs=0.1)


def test_missing_file_raises_audio_file_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file") as info:
        load_audio(tmp_path / "nope.wav")
    assert isinstance(info.value, ValueError)


def test_corrupt_file_raises_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    with pytest.raises(AudioFileError) as info:
        load_audio(path)
    assert info.value.path == str(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_save_wav_round_trip(tmp_path: Path) -> None:
    chunk = AudioChunk.from_float32(_sine(0.2, 8000), 8000)
    path = save_wav(tmp_path / "sub" / "a.wav", chunk)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    assert load_audio(path, 8000).pcm == chunk.pcm
    save_wav(tmp_path / "b.wav", chunk.pcm, sample_rate=8000)
    with pytest.raises(ValueError, match="sample_rate"):
        save_wav(tmp_path / "c.wav", chunk.pcm)


def test_interleave_stereo_pads_shorter_side() -> None:
    left = np.array([1, 2, 3], dtype="<i2").tobytes()
    right = np.array([-1], dtype="<i2").tobytes()
    out = np.frombuffer(interleave_stereo(left, right), "<i2").reshape(-1, 2)
    assert out.tolist() == [[1, -1], [2, 0], [3, 0]]


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000)])
def test_low_latency_stream_resampler_has_no_backlog(src: int, dst: int) -> None:
    """Live frames must come out as they go in: each 20 ms frame yields ~20 ms at once."""
    pcm = AudioChunk.from_float32(_sine(1.0, src), src).pcm
    stream = StreamResampler(src, dst, low_latency=True)
    frame = src // 50 * 2
    outputs = [stream.process(pcm[i : i + frame]) for i in range(0, len(pcm), frame)]
    assert sum(len(o) for o in outputs[5:]) // 2 >= 0.9 * dst * len(outputs[5:]) / 50
    samples = np.frombuffer(b"".join(outputs), "<i2").astype(np.float32) / 32768
    max_step = 2 * np.pi * 440 / dst * 0.5  # steepest slope of the 440 Hz, 0.5 sine
    assert np.max(np.abs(np.diff(samples[200:-200]))) < 1.2 * max_step
