"""A warm transfer in a whole call: real models over a WebSocket, a fake Twilio REST API.

The caller asks for a person; the bot's handoff reply is played to the end (the simulated
caller echoes its marks as Twilio would), and only then is the call redirected into the
queue with ``<Enqueue>`` TwiML. The stream then ends from our side; no hang-up is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import SecretStr

from telephony.call_control import TwilioCallControl
from telephony.caller import SimulatedCaller
from telephony.speech import is_reply_end_mark
from tests.conftest import serve
from tests.telephony.test_call_control import fake_twilio
from voice.audio import save_wav

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PERSON = "I want to speak to a person."


@pytest.fixture(scope="module")
def person(resources, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("caller-audio") / "person.wav"
    save_wav(path, resources.synthesizer.synthesize(PERSON))
    return path


class MarkTimingCaller(SimulatedCaller):
    """The simulated caller, noting when it echoes each reply's end mark (when the caller
    has heard the whole reply)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.end_marks: list[tuple[float, str]] = []

    async def _send(self, message: dict) -> None:
        if message.get("event") == "mark" and is_reply_end_mark(message["mark"]["name"]):
            self.end_marks.append((time.monotonic(), message["mark"]["name"]))
        await super()._send(message)


def test_handoff_moves_the_call_into_the_queue_after_the_reply(resources, person):
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
        with serve(create_app(settings, res)) as url:
            caller = MarkTimingCaller(url.replace("http://", "ws://") + "/twilio/media")
            report = asyncio.run(caller.run([str(person)]))
            time.sleep(0.5)  # the call's record is closed just after the socket

    (turn,) = report.turns
    assert "connect you with one of my colleagues" in turn.bot_text
    assert report.hung_up_by_bot, "the stream ends from our side once the call is moved"

    # Exactly one request: the redirect into the queue. No hang-up.
    assert [r["call"] for r in fake.state.requests] == [caller.call_sid]
    form = fake.state.requests[0]["form"]
    assert set(form) == {"Twiml"}
    enqueue = ET.fromstring(form["Twiml"]).find("Enqueue")
    assert enqueue.text == "support"
    assert enqueue.get("waitUrl") == f"{url}/twilio/queue/wait"
    assert enqueue.get("action") == f"{url}/twilio/transfer/done"

    # ... sent once the handoff reply had been heard to its end, not while it played.
    heard_at, last_end = caller.end_marks[-1]
    assert last_end == "bot:2:end"  # the greeting is reply 1, the handoff reply 2
    redirected_at = fake.state.times[0]
    assert heard_at <= redirected_at < heard_at + 2.0

    record = resources.store.get_call(caller.call_sid)
    assert record.outcome == "handoff" and record.end_reason == "handoff"
    system = [t.text for t in record.turns if t.speaker == "system"]
    assert system[0].startswith("[handoff: agent_request]")
    assert system[1] == "[transferred to the queue 'support']"


def test_without_call_control_the_caller_stays_with_the_bot(live_server, person):
    with live_server() as url:
        caller = SimulatedCaller(url.replace("http://", "ws://") + "/twilio/media")
        report = asyncio.run(caller.run([str(person)]))
    heard = report.turns[0].bot_text
    assert "connect you with one of my colleagues" in heard
    assert "I can't put you through to a colleague right now" in heard
    assert not report.hung_up_by_bot


def create_app(settings, resources):
    from switchboard.app import create_app as factory

    return factory(settings, resources=resources)
