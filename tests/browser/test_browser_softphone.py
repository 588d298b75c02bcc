"""The browser softphone: its codec against the service's, the Media Streams protocol against
a mocked WebSocket (what Twilio would send and expect), and one real call to the assistant
with the real models and a fake microphone playing a question spoken by the Piper voice."""

from __future__ import annotations

import base64
import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import VIEWPORT, launch, sign_in
from console_support import PASSWORD, serve
from playwright.sync_api import expect

from console.security import hash_password
from voice.audio import AudioChunk, save_wav, ulaw_decode, ulaw_encode

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOFTPHONE = "/console/softphone"


def until(page, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` while letting Playwright dispatch its events (WebSocket routes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(20)


def tone_ulaw(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (0.3 * 32767 * np.sin(2 * math.pi * hz * t)).astype("<i2").tobytes()
    return ulaw_encode(pcm)


def test_codec_matches_the_service(page, console_url):
    """The page's μ-law encoder and decoder give the service's codes for every sample, and
    its downsampler keeps a tone's shape from the usual sound-card rates down to 8 kHz."""
    sign_in(page, console_url, "ana", then=SOFTPHONE)
    codes = page.evaluate(
        """() => {
            const out = [];
            for (let v = -32768; v < 32768; v++) out.push(Softphone.ulawEncodeSample(v));
            return out;
        }"""
    )
    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert bytes(codes) == ulaw_encode(every_sample)
    decoded = page.evaluate(
        "() => Array.from({length: 256}, (_, c) => Softphone.ulawDecodeSample(c))"
    )
    assert decoded == np.frombuffer(ulaw_decode(bytes(range(256))), "<i2").tolist()

    for rate in (48000, 44100, 16000):
        out = page.evaluate(
            """(rate) => {
                const down = new Softphone.Downsampler(rate, 8000);
                const out = [];
                for (let start = 0; start < rate; start += 128) {
                    const block = new Float32Array(128).map(
                        (_, i) => Math.sin(2 * Math.PI * 440 * (start + i) / rate));
                    out.push(...down.process(block));
                }
                return out;
            }""",
            rate,
        )
        n = len(out)
        blocks = math.ceil(rate / 128) * 128
        assert abs(n - blocks * 8000 / rate) <= 1, (rate, n)
        expected = np.sin(2 * math.pi * 440 * np.arange(n) / 8000)
        assert np.max(np.abs(np.array(out) - expected)) < 0.01, rate


def test_softphone_speaks_twilio_media_streams(page, console_url, shoot):
    """Against a mocked /twilio/media: connected and start as Twilio sends them, 20 ms μ-law
    frames, marks echoed once the audio before them has played (and at once on clear), the
    bot's words shown from the mark names, keypad digits as dtmf, stop on hang-up."""
    sent: list[dict] = []
    routes = []

    def twilio_media(ws) -> None:
        routes.append(ws)
        ws.on_message(lambda message: sent.append({**json.loads(message), "_at": time.monotonic()}))

    def events(kind: str) -> list[dict]:
        return [m for m in sent if m["event"] == kind]

    def bot(message: dict) -> None:
        routes[0].send(json.dumps({"streamSid": stream_sid, **message}))

    def audio(seconds: float) -> dict:
        payload = base64.b64encode(tone_ulaw(seconds)).decode()
        return {"event": "media", "media": {"payload": payload}}

    def mark(name: str) -> dict:
        return {"event": "mark", "mark": {"name": name}}

    page.route_web_socket("**/twilio/media", twilio_media)
    sign_in(page, console_url, "ana", then=SOFTPHONE)
    expect(page.get_by_test_id("user")).to_contain_text("ana")
    expect(page.get_by_test_id("softphone-key-5")).to_be_disabled()
    page.get_by_test_id("softphone-call").click()
    call_button = page.get_by_test_id("softphone-call")
    expect(call_button).to_have_text("Hang up")
    until(page, lambda: len(events("media")) >= 60, what="a second of caller audio")

    connected, start = sent[0], sent[1]
    assert connected["event"] == "connected" and connected["protocol"] == "Call"
    assert start["event"] == "start"
    stream_sid = start["streamSid"]
    assert stream_sid.startswith("MZ") and len(stream_sid) == 34
    assert start["start"]["streamSid"] == stream_sid
    assert start["start"]["callSid"].startswith("CA") and len(start["start"]["callSid"]) == 34
    assert start["start"]["customParameters"] == {"from": "softphone"}
    assert start["start"]["mediaFormat"] == {
        "encoding": "audio/x-mulaw",
        "sampleRate": 8000,
        "channels": 1,
    }
    media = events("media")
    assert all(m["streamSid"] == stream_sid and m["media"]["track"] == "inbound" for m in media)
    frames = [base64.b64decode(m["media"]["payload"]) for m in media]
    assert {len(f) for f in frames} == {160}
    assert [int(m["media"]["chunk"]) for m in media] == list(range(1, len(media) + 1))
    # Real time: 20 ms a frame (the audio thread posts in bursts, so over many frames).
    span = media[-1]["_at"] - media[10]["_at"]
    assert 0.8 < span / ((len(media) - 11) * 0.02) < 1.25
    # The fake microphone's beeps went through the μ-law encoder.
    assert any(set(f) - {0xFF, 0x7F} for f in frames)

    # A reply: its first piece's mark comes back as its audio starts, the end mark after all.
    replied = time.monotonic()
    bot(mark("bot:0:0:Thanks for calling."))
    bot(audio(0.4))
    bot(mark("bot:0:1:How can I help?"))
    bot(audio(0.4))
    bot(mark("bot:0:end"))
    until(page, lambda: len(events("mark")) == 3, what="the marks echoed")
    echoes = events("mark")
    assert [m["mark"]["name"] for m in echoes] == [
        "bot:0:0:Thanks for calling.",
        "bot:0:1:How can I help?",
        "bot:0:end",
    ]
    assert echoes[0]["_at"] - replied < 0.3
    assert 0.3 < echoes[1]["_at"] - replied < 1.0
    assert echoes[2]["_at"] - echoes[1]["_at"] > 0.3
    lines = page.get_by_test_id("softphone-bot-line")
    expect(lines).to_have_text(["Thanks for calling. How can I help?"])

    # The caller barges in: the service sends clear; what was queued is dropped and its
    # marks come back at once, their words never shown.
    bot(mark("bot:1:0:Our branches open at nine."))
    bot(audio(3.0))
    bot(mark("bot:1:1:They close at five."))
    bot(audio(3.0))
    bot(mark("bot:1:end"))
    until(page, lambda: len(events("mark")) == 4, what="the first piece's echo")
    cleared = time.monotonic()
    bot({"event": "clear"})
    until(page, lambda: len(events("mark")) == 6, what="the marks flushed by clear")
    assert events("mark")[-1]["_at"] - cleared < 0.5
    expect(lines.nth(1)).to_have_text("Our branches open at nine.")
    expect(lines.nth(1)).to_have_class(re.compile(r"\bcut\b"))

    page.get_by_test_id("softphone-key-5").click()
    page.get_by_test_id("softphone-key-hash").click()
    until(page, lambda: len(events("dtmf")) == 2, what="the keypad")
    assert [m["dtmf"] for m in events("dtmf")] == [
        {"track": "inbound_track", "digit": "5"},
        {"track": "inbound_track", "digit": "#"},
    ]
    call_button.click()
    until(page, lambda: events("stop"), what="stop")
    assert events("stop")[0]["stop"]["callSid"] == start["start"]["callSid"]
    expect(call_button).to_have_text("Call")
    expect(page.get_by_test_id("softphone-status")).to_have_text("You hung up")
    sequence = [int(m["sequenceNumber"]) for m in sent]
    assert sequence == list(range(1, len(sent) + 1))


@pytest.fixture
def question_wav(resources, tmp_path: Path) -> Path:
    """What the fake microphone says: silence while the greeting plays, then a question."""
    spoken = resources.synthesizer.synthesize("What time does the Elm Street branch open?")
    rate = 48000
    speech = spoken.resampled(rate).pcm
    pause = bytes(2 * rate * 9)
    path = tmp_path / "caller.wav"
    save_wav(path, AudioChunk(pause + speech + bytes(2 * rate * 30), rate))
    return path


def test_softphone_calls_the_assistant(playwright_driver, resources, question_wav, shoot):
    """One real call through the whole pipeline: the greeting's words appear, then the
    answer to the question the fake microphone asks."""
    from console.store import ConsoleStore
    from switchboard.app import create_app

    users = ConsoleStore(resources.store)
    if users.get_user("caller") is None:
        users.add_user("caller", "agent", hash_password(PASSWORD))
    browser = launch(playwright_driver, f"--use-file-for-fake-audio-capture={question_wav}")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        with serve(create_app(resources.settings, resources=resources)) as url:
            sign_in(page, url, "caller", then=SOFTPHONE)
            page.get_by_test_id("softphone-call").click()
            lines = page.get_by_test_id("softphone-bot-line")
            expect(lines.first).to_contain_text("Thanks for calling", timeout=15_000)
            expect(lines.nth(1)).to_contain_text("Saturday", timeout=30_000)
            shoot(page, "softphone")
            page.get_by_test_id("softphone-call").click()
            expect(page.get_by_test_id("softphone-status")).to_have_text("You hung up")
    finally:
        browser.close()
