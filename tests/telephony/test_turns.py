"""Caller turns: VAD, end of turn (silence or Smart Turn), pre-roll and trimming, barge-in.

The processor runs in pipecat's test pipeline (``run_test``). It reads ``time.monotonic()``
for the turn's length and timings, so the tests give it a clock that advances 20 ms with
each audio frame: audio time, not wall time, and the same result on a busy machine.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    TextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import run_test

import telephony.turns
from telephony.frames import CallerUtteranceFrame, TwilioMarkFrame
from telephony.speech import mark_name
from telephony.turns import CallerTurnProcessor, TurnOptions
from voice.audio import load_audio
from voice.vad import make_vad_analyzer

RATE = 16000
FRAME_SECS = 0.02
FRAME_BYTES = int(RATE * FRAME_SECS) * 2
LEAD_SECS = 0.5
TAIL_SECS = 1.5
SPEECH = load_audio(Path(__file__).resolve().parents[1] / "data" / "ldc93s1" / "LDC93S1.wav")
# Where the voice is in LDC93S1.wav (20 ms frames above 2% of the loudest), in seconds.
VOICE_START, VOICE_END = 0.18, 2.84


def _silence(seconds: float) -> bytes:
    return b"\0\0" * int(seconds * RATE)


CALL_PCM = _silence(LEAD_SECS) + SPEECH.pcm + _silence(TAIL_SECS)


def _audio_frames(pcm: bytes = CALL_PCM) -> list[InputAudioRawFrame]:
    return [
        InputAudioRawFrame(audio=pcm[i : i + FRAME_BYTES], sample_rate=RATE, num_channels=1)
        for i in range(0, len(pcm), FRAME_BYTES)
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(telephony.turns, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    return clock


@pytest.fixture
def make_processor(clock: Clock):
    def make(smart_turn=None, **options) -> CallerTurnProcessor:
        vad = make_vad_analyzer(
            "webrtc",
            sample_rate=RATE,
            start_secs=0.12,
            stop_secs=0.2,
            confidence=0.7,
            min_volume=0.0,
        )
        options.setdefault("end_of_turn", "silence")
        processor = CallerTurnProcessor(vad, TurnOptions(**options), smart_turn=smart_turn)
        process_frame = processor.process_frame

        async def process_on_the_clock(frame: Frame, direction: FrameDirection) -> None:
            if isinstance(frame, InputAudioRawFrame):
                clock.now += len(frame.audio) / 2 / frame.sample_rate
            await process_frame(frame, direction)

        processor.process_frame = process_on_the_clock
        return processor

    return make


async def _run(processor: CallerTurnProcessor, frames: list[Frame]):
    """(downstream, upstream) frames, without the caller audio that passes through."""
    down, up = await run_test(processor, frames_to_send=frames)
    assert sum(isinstance(f, InputAudioRawFrame) for f in down) == sum(
        isinstance(f, InputAudioRawFrame) for f in frames
    )
    return [f for f in down if not isinstance(f, InputAudioRawFrame)], list(up)


def _types(frames: list[Frame]) -> list[type]:
    return [type(f) for f in frames]


def _span(
    utterance: CallerUtteranceFrame, pcm: bytes = CALL_PCM, after: float = 0.0
) -> tuple[float, float]:
    """Where the utterance's audio lies in what the caller sent (from ``after``), in seconds."""
    offset = pcm.find(utterance.audio.pcm, int(after * RATE) * 2)
    assert offset >= 0 and offset % 2 == 0, "the utterance is not a slice of the caller's audio"
    start = offset / 2 / RATE
    return start, start + utterance.audio.duration


def _assert_one_utterance(down: list[Frame]) -> CallerUtteranceFrame:
    utterances = [f for f in down if isinstance(f, CallerUtteranceFrame)]
    assert len(utterances) == 1, _types(down)
    utterance = utterances[0]
    assert utterance.audio.sample_rate == RATE
    start, end = _span(utterance)
    voice_start, voice_end = LEAD_SECS + VOICE_START, LEAD_SECS + VOICE_END
    # Nothing of the voice is clipped; at most the pre-roll (0.3 s) and VAD start (0.12 s)
    # before it, and after it only the kept 0.15 s of trailing silence plus the VAD's hangover.
    assert voice_start - 0.45 <= start <= voice_start + 0.03
    assert voice_end - 0.03 <= end <= voice_end + 0.4
    assert utterance.audio.duration == pytest.approx(VOICE_END - VOICE_START + 0.4, abs=0.35)
    assert utterance.speech_started_at < utterance.speech_ended_at
    return utterance


async def test_silence_ends_the_turn(make_processor) -> None:
    down, up = await _run(make_processor(silence_timeout_secs=0.6), _audio_frames())
    assert _types(down) == [
        UserStartedSpeakingFrame,
        UserStoppedSpeakingFrame,
        CallerUtteranceFrame,
    ]
    assert _types(up) == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]
    utterance = _assert_one_utterance(down)
    assert utterance.end_of_turn_ms == pytest.approx(600, abs=25)
    # The voice started about LEAD + VOICE_START (+ VAD start) into the call.
    assert utterance.speech_started_at - 1000.0 == pytest.approx(0.82, abs=0.15)


async def test_trailing_silence_is_trimmed_to_what_is_kept(make_processor) -> None:
    short, _ = await _run(make_processor(trailing_silence_secs=0.0), _audio_frames())
    long, _ = await _run(make_processor(trailing_silence_secs=0.5), _audio_frames())
    (a,) = [f for f in short if isinstance(f, CallerUtteranceFrame)]
    (b,) = [f for f in long if isinstance(f, CallerUtteranceFrame)]
    assert b.audio.duration - a.audio.duration == pytest.approx(0.5, abs=0.001)
    assert _span(a)[0] == _span(b)[0]


async def test_silence_only_is_no_turn(make_processor) -> None:
    down, up = await _run(make_processor(), _audio_frames(_silence(2.0)))
    assert down == [] and up == []


async def test_two_turns(make_processor) -> None:
    pcm = CALL_PCM + SPEECH.pcm + _silence(1.0)
    down, _ = await _run(make_processor(), _audio_frames(pcm))
    assert (
        _types(down)
        == [
            UserStartedSpeakingFrame,
            UserStoppedSpeakingFrame,
            CallerUtteranceFrame,
        ]
        * 2
    )
    first, second = (f for f in down if isinstance(f, CallerUtteranceFrame))
    assert second.audio.duration == pytest.approx(first.audio.duration, abs=0.1)
    first_end = _span(first, pcm)[1]
    second_start = _span(second, pcm, after=first_end)[0]
    second_voice = len(CALL_PCM) / 2 / RATE + VOICE_START
    assert second_voice - 0.45 <= second_start <= second_voice + 0.03


async def test_other_frames_pass_through(make_processor) -> None:
    text = TextFrame("hello")
    down, _ = await _run(make_processor(), [text, *_audio_frames(_silence(0.2))])
    assert down == [text]


@pytest.mark.slow
async def test_smart_turn_ends_the_turn(make_processor) -> None:
    from voice.turn import get_smart_turn

    processor = make_processor(get_smart_turn(), end_of_turn="smart_turn")
    down, up = await _run(processor, _audio_frames())
    assert _types(down) == [
        UserStartedSpeakingFrame,
        UserStoppedSpeakingFrame,
        CallerUtteranceFrame,
    ]
    assert _types(up) == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]
    utterance = _assert_one_utterance(down)
    # Asked once the VAD reports quiet (0.2 s); never later than the 1.2 s limit.
    assert 150 <= utterance.end_of_turn_ms <= 1200 + 25


def test_smart_turn_mode_needs_the_model() -> None:
    vad = make_vad_analyzer(
        "webrtc", sample_rate=RATE, start_secs=0.12, stop_secs=0.2, confidence=0.7, min_volume=0.0
    )
    with pytest.raises(ValueError, match="SmartTurnModel"):
        CallerTurnProcessor(vad, TurnOptions(end_of_turn="smart_turn"))


async def test_caller_speech_interrupts_the_bot(make_processor) -> None:
    down, up = await _run(make_processor(), [BotStartedSpeakingFrame(), *_audio_frames()])
    assert _types(down) == [
        BotStartedSpeakingFrame,
        UserStartedSpeakingFrame,
        InterruptionFrame,
        UserStoppedSpeakingFrame,
        CallerUtteranceFrame,
    ]
    assert _types(up) == [UserStartedSpeakingFrame, InterruptionFrame, UserStoppedSpeakingFrame]
    _assert_one_utterance(down)


async def test_bot_still_speaking_after_a_piece_mark(make_processor) -> None:
    frames = [
        BotStartedSpeakingFrame(),
        TwilioMarkFrame(mark=mark_name(1, 0, "Hello.")),
        *_audio_frames(),
    ]
    down, _ = await _run(make_processor(), frames)
    assert _types(down).count(InterruptionFrame) == 1


@pytest.mark.parametrize(
    "bot_done",
    [BotStoppedSpeakingFrame, lambda: TwilioMarkFrame(mark=mark_name(1, None))],
    ids=["bot-stopped", "reply-end-mark"],
)
async def test_no_barge_in_once_the_bot_has_finished(make_processor, bot_done) -> None:
    frames = [BotStartedSpeakingFrame(), bot_done(), *_audio_frames()]
    down, up = await _run(make_processor(), frames)
    assert InterruptionFrame not in _types(down) + _types(up)
    _assert_one_utterance(down)


async def test_barge_in_disabled(make_processor) -> None:
    processor = make_processor(allow_barge_in=False)
    down, up = await _run(processor, [BotStartedSpeakingFrame(), *_audio_frames()])
    assert InterruptionFrame not in _types(down) + _types(up)
    _assert_one_utterance(down)


async def test_speech_shorter_than_the_barge_in_minimum_does_not_interrupt(
    make_processor,
) -> None:
    processor = make_processor(min_barge_in_secs=SPEECH.duration + 1)
    down, _ = await _run(processor, [BotStartedSpeakingFrame(), *_audio_frames()])
    assert InterruptionFrame not in _types(down)
    _assert_one_utterance(down)


async def test_one_interruption_per_turn(make_processor) -> None:
    pcm = CALL_PCM + SPEECH.pcm + _silence(1.0)
    down, _ = await _run(make_processor(), [BotStartedSpeakingFrame(), *_audio_frames(pcm)])
    assert _types(down).count(InterruptionFrame) == 2
    assert _types(down).count(CallerUtteranceFrame) == 2


async def test_max_utterance_cuts_a_long_turn(make_processor) -> None:
    down, up = await _run(make_processor(max_utterance_secs=1.0), _audio_frames())
    utterances = [f for f in down if isinstance(f, CallerUtteranceFrame)]
    assert len(utterances) >= 2
    assert _types(down).count(UserStartedSpeakingFrame) == len(utterances)
    assert _types(down).count(UserStoppedSpeakingFrame) == len(utterances)
    first = utterances[0]
    # Pre-roll (0.3 s) plus one second of turn, give or take a frame.
    assert 1.0 <= first.audio.duration <= 1.3 + FRAME_SECS
    assert first.speech_ended_at - first.speech_started_at == pytest.approx(1.0, abs=FRAME_SECS)
    for utterance in utterances:
        assert utterance.audio.duration <= 1.3 + FRAME_SECS
    # The cut loses no speech: each piece starts where the previous one ended.
    spans = [_span(utterances[0])]
    for utterance in utterances[1:]:
        spans.append(_span(utterance, after=spans[-1][1] - FRAME_SECS))
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start == pytest.approx(end, abs=FRAME_SECS)
    assert spans[-1][1] >= LEAD_SECS + VOICE_END - 0.03
