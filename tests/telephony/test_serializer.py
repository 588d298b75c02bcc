"""The Media Streams serializer: every kind of bad input is dropped with a reason."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
)

from telephony.frames import CallStopFrame, TwilioMarkFrame
from telephony.serializer import MAX_CONSECUTIVE_ERRORS, TwilioMediaSerializer
from voice.audio import ulaw_decode, ulaw_encode


def media(payload: str) -> str:
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {"payload": payload}})


def tone(seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


@pytest.fixture
def serializer() -> TwilioMediaSerializer:
    return TwilioMediaSerializer("MZ1", pipeline_sample_rate=16000)


async def test_media_becomes_16k_pcm(serializer):
    frames = []
    for _ in range(5):  # the streaming resampler holds back a little at first
        ulaw = ulaw_encode(tone(0.02, 8000))
        frames.append(await serializer.deserialize(media(base64.b64encode(ulaw).decode())))
    audio = [f for f in frames if f is not None]
    assert all(isinstance(f, InputAudioRawFrame) and f.sample_rate == 16000 for f in audio)
    total = sum(len(f.audio) for f in audio) / 2
    assert 0.08 * 16000 <= total <= 0.1 * 16000


@pytest.mark.parametrize(
    "message, problem",
    [
        ("{not json", "invalid JSON"),
        ("[1, 2, 3]", "JSON list"),
        ('"media"', "JSON str"),
        (json.dumps({"event": "bogus"}), "unknown event"),
        (media("!!!not base64!!!"), "not valid base64"),
        (json.dumps({"event": "media", "media": {}}), "without a payload"),
        (json.dumps({"event": "media", "media": "x"}), "without a payload"),
        (json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}), "invalid digit"),
        (json.dumps({"event": "dtmf"}), "invalid digit"),
        (json.dumps({"event": "mark", "mark": {}}), "mark without a name"),
        (b"\x00\x01binary", "binary message"),
    ],
)
async def test_bad_messages_are_dropped_and_logged(serializer, message, problem, caplog_loguru):
    assert await serializer.deserialize(message) is None
    assert serializer.malformed_messages == 1
    assert problem in caplog_loguru.text


async def test_endless_garbage_closes_the_call(serializer):
    results = [await serializer.deserialize("{bad") for _ in range(MAX_CONSECUTIVE_ERRORS)]
    assert results[:-1] == [None] * (MAX_CONSECUTIVE_ERRORS - 1)
    assert isinstance(results[-1], CallStopFrame)
    assert "protocol errors" in results[-1].reason


async def test_a_good_message_resets_the_error_run(serializer):
    for _ in range(MAX_CONSECUTIVE_ERRORS - 1):
        await serializer.deserialize("{bad")
    await serializer.deserialize(json.dumps({"event": "dtmf", "dtmf": {"digit": "5"}}))
    assert await serializer.deserialize("{bad") is None


async def test_events(serializer):
    dtmf = await serializer.deserialize(json.dumps({"event": "dtmf", "dtmf": {"digit": "#"}}))
    assert isinstance(dtmf, InputDTMFFrame) and dtmf.button.value == "#"
    mark = await serializer.deserialize(json.dumps({"event": "mark", "mark": {"name": "m1"}}))
    assert isinstance(mark, TwilioMarkFrame) and mark.mark == "m1"
    stop = await serializer.deserialize(json.dumps({"event": "stop", "stop": {}}))
    assert isinstance(stop, CallStopFrame) and stop.reason == "caller hung up"
    for quiet in ("connected", "start"):
        assert await serializer.deserialize(json.dumps({"event": quiet})) is None
    assert serializer.malformed_messages == 0


async def test_outbound_messages(serializer):
    clear = json.loads(await serializer.serialize(InterruptionFrame()))
    assert clear == {"event": "clear", "streamSid": "MZ1"}
    out = json.loads(
        await serializer.serialize(
            OutputAudioRawFrame(audio=tone(0.1, 8000), sample_rate=8000, num_channels=1)
        )
    )
    assert out["event"] == "media" and out["streamSid"] == "MZ1"
    pcm = ulaw_decode(base64.b64decode(out["media"]["payload"]))
    assert len(pcm) == 2 * 800
    mark = json.loads(
        await serializer.serialize(
            OutputTransportMessageFrame(message=serializer.mark("bot:1:end"))
        )
    )
    assert mark == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "bot:1:end"}}
