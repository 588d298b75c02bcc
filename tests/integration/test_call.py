"""Whole calls over a real WebSocket with the real models: the caller's view of the service.

Caller audio is made by the bundled Piper voice; the simulated caller streams it in real
time as Twilio would, so each test takes as long as its conversation (seconds).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest
import soundfile as sf
import websockets

from telephony.caller import SimulatedCaller
from voice.audio import save_wav

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHRASES = {
    "hours": "What time does the Elm Street branch open on Saturday?",
    "card": "I lost my debit card. What should I do?",
    "bye": "No, that's all. Goodbye.",
}


@pytest.fixture(scope="session")
def phrases(resources, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("caller-audio")
    paths = {}
    for key, text in PHRASES.items():
        paths[key] = folder / f"{key}.wav"
        save_wav(paths[key], resources.synthesizer.synthesize(text))
    return paths


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/twilio/media"


def call(url: str, turns: list[str], **kwargs):
    caller = SimulatedCaller(ws_url(url), **kwargs)
    report = asyncio.run(caller.run(turns))
    return caller, report


def test_greeting_question_answered_and_goodbye(live_server, phrases, resources, tmp_path):
    with live_server() as url:
        caller, report = call(url, [str(phrases["hours"]), str(phrases["bye"])])
    assert "Thanks for calling" in report.greeting_text
    assert report.greeting_ms is not None and report.greeting_ms < 2000
    hours, bye = report.turns
    assert "Saturday, 9 am to 1 pm" in hours.bot_text
    assert hours.latency_ms is not None and hours.latency_ms > 0
    assert "Goodbye" in bye.bot_text
    assert report.hung_up_by_bot, "a goodbye ends the call from the bot's side"
    assert report.p50_latency_ms is not None and report.p95_latency_ms >= report.p50_latency_ms

    caller.save_recording(tmp_path / "heard.wav")
    audio, rate = sf.read(tmp_path / "heard.wav")
    assert rate == 8000 and audio.shape[1] == 2

    store = resources.store
    record = store.get_call(caller.call_sid)
    assert record is not None and record.end_reason == "goodbye"
    speakers = [t.speaker for t in record.turns]
    assert speakers[:3] == ["bot", "caller", "bot"]
    caller_turn = record.turns[1]
    assert "saturday" in caller_turn.text.lower()
    answer = record.turns[2]
    assert answer.meta["sources"] == ["branches/elm-street"]
    assert {"end_of_turn_ms", "stt_ms", "dialogue_ms", "tts_first_audio_ms", "total_ms"} <= set(
        answer.latency
    )
    recording, rate = sf.read(record.recording_path)
    assert rate == 8000 and recording.shape[1] == 2
    assert abs(recording[:, 0]).max() > 0.05 and abs(recording[:, 1]).max() > 0.05


def test_barge_in_stops_the_bot_and_clears_twilio(live_server, phrases):
    with live_server() as url:
        _, report = call(url, [str(phrases["card"]), f"barge:1.0:{phrases['hours']}"])
    card, hours = report.turns
    assert card.bot_text.startswith("If you misplace your card")  # answered, then an offer
    assert "Shall I?" not in card.bot_text, "the rest of the reply was cut"
    assert hours.cleared
    assert hours.barge_in_ms is not None and hours.barge_in_ms < 450
    assert "Saturday" in hours.bot_text


def test_keypad_digits_reach_the_dialogue(live_server):
    with live_server() as url:
        _, report = call(url, ["dtmf:5", "dtmf:0"])
    no_menu, agent = report.turns
    assert "Press 0 to speak to a person" in no_menu.bot_text
    assert "connect you with one of my colleagues" in agent.bot_text


def test_silence_gets_a_prompt_then_a_polite_hang_up(live_server):
    with live_server(turn__idle_prompt_secs=1.0, turn__idle_prompts_before_hangup=1) as url:
        _, report = call(url, ["silence:12"])
    heard = report.turns[0].bot_text
    assert "Are you still there?" in heard
    assert "end the call now" in heard
    assert report.hung_up_by_bot


def test_twilio_rest_hang_up_after_goodbye(resources, phrases):
    import dataclasses

    from pydantic import SecretStr

    from switchboard.app import create_app
    from telephony.call_control import TwilioCallControl
    from tests.conftest import serve
    from tests.telephony.test_call_control import fake_twilio

    fake = fake_twilio()
    with serve(fake) as twilio_url:
        twilio = resources.settings.twilio.model_copy(
            update={
                "account_sid": "AC1",
                "auth_token": SecretStr("tok"),
                "api_base_url": twilio_url,
            }
        )
        settings = resources.settings.model_copy(update={"twilio": twilio})
        res = dataclasses.replace(
            resources,
            settings=settings,
            active_calls={},
            call_control=TwilioCallControl("AC1", "tok", base_url=twilio_url),
        )
        with serve(create_app(settings, resources=res)) as url:
            caller, report = call(url, [str(phrases["bye"])])
    assert "Goodbye" in report.turns[0].bot_text
    assert [r["call"] for r in fake.state.requests] == [caller.call_sid]
    assert fake.state.requests[0]["form"] == {"Status": "completed"}


async def _raw_call(url: str, messages: list, *, listen: float = 0.0) -> dict:
    """Send raw messages; collect what the server sends back for ``listen`` seconds."""
    events: dict = {"media": 0, "mark": [], "clear": 0, "closed": None}
    async with websockets.connect(ws_url(url)) as ws:
        for message in messages:
            await ws.send(message)
        deadline = time.monotonic() + listen
        try:
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                event = json.loads(raw)
                if event["event"] == "media":
                    events["media"] += 1
                elif event["event"] == "mark":
                    events["mark"].append(event["mark"]["name"])
        except TimeoutError:
            pass
        except websockets.ConnectionClosed as e:
            events["closed"] = (e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else None)
    return events


def start_message(stream: str = "MZraw", call_sid: str = "CAraw") -> str:
    return json.dumps(
        {"event": "start", "streamSid": stream, "start": {"streamSid": stream, "callSid": call_sid}}
    )


SILENCE = base64.b64encode(b"\xff" * 160).decode()


def test_malformed_messages_are_ignored_and_the_call_goes_on(live_server, phrases):
    garbage_before = [
        "{not json",
        json.dumps({"event": "media", "media": {"payload": SILENCE}}),  # media before start
        json.dumps(["a", "list"]),
        json.dumps({"event": "connected", "protocol": "Call"}),
    ]
    garbage_after = [
        "{still not json",
        json.dumps({"event": "media", "media": {"payload": "***"}}),
        json.dumps({"event": "what-is-this"}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}),
        json.dumps({"event": "mark"}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "1"}}),
    ]
    with live_server() as url:
        events = asyncio.run(
            _raw_call(url, [*garbage_before, start_message(), *garbage_after], listen=6.0)
        )
        assert events["media"] > 0, "the greeting still plays"
        assert any(m.startswith("bot:1:") for m in events["mark"])
        assert events["closed"] is None
        # The server is fine and takes the next call normally.
        _, report = call(url, ["dtmf:0"])
    assert "colleagues" in report.turns[0].bot_text


def test_endless_garbage_closes_only_that_call(live_server):
    with live_server() as url:
        events = asyncio.run(_raw_call(url, [start_message()] + ["{bad"] * 60, listen=5.0))
        assert events["closed"] is not None and events["closed"][0] == 1008
        _, report = call(url, ["dtmf:0"])
    assert "colleagues" in report.turns[0].bot_text


def test_stream_that_stops_before_starting_is_closed_with_a_reason(live_server):
    with live_server() as url:
        events = asyncio.run(_raw_call(url, [json.dumps({"event": "stop"})], listen=3.0))
    assert events["closed"] == (1008, "stream stopped before it started")


def test_caller_vanishing_mid_utterance_affects_no_other_call(live_server, phrases, resources):
    from voice.audio import load_audio, ulaw_encode

    speech = ulaw_encode(load_audio(phrases["card"], 8000).pcm)

    async def vanish(url: str) -> None:
        async with websockets.connect(ws_url(url)) as ws:
            await ws.send(start_message("MZgone", "CAgone"))
            for i in range(0, len(speech) // 2, 160):  # half the sentence, then gone
                payload = base64.b64encode(speech[i : i + 160]).decode()
                await ws.send(json.dumps({"event": "media", "media": {"payload": payload}}))
                await asyncio.sleep(0.02)
            ws.transport.abort()  # no stop, no close handshake

    async def both(url: str):
        other = SimulatedCaller(ws_url(url))
        results = await asyncio.gather(vanish(url), other.run([str(phrases["hours"])]))
        return results[1]

    with live_server() as url:
        report = asyncio.run(both(url))
        time.sleep(1.0)
    assert "Saturday" in report.turns[0].bot_text
    record = resources.store.get_call("CAgone")
    assert record is not None and record.end_reason == "caller disconnected"
