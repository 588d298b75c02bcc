"""The transfer's decisions (pure functions of Twilio's form fields) and the hand-over itself."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from switchboard.records import CallStore
from switchboard.settings import Settings, TransferSettings
from telephony import transfer
from telephony.journal import CallJournal
from telephony.session import CallResources, _Transfer


@pytest.mark.parametrize(
    ("form", "result"),
    [
        ({"QueueResult": "bridged"}, "connected"),
        ({"QueueResult": "bridged", "CallStatus": "completed"}, "connected"),
        ({"DialCallStatus": "completed", "CallStatus": "completed"}, "connected"),
        ({"QueueResult": "redirected"}, "connected"),
        ({"DialCallStatus": "completed"}, "connected"),
        ({"QueueResult": "hangup"}, "abandoned"),
        ({"DialCallStatus": "no-answer", "CallStatus": "completed"}, "abandoned"),
        ({"QueueResult": "leave"}, "unanswered"),
        ({"QueueResult": "queue-full"}, "unanswered"),
        ({"QueueResult": "system-error"}, "unanswered"),
        ({"DialCallStatus": "busy", "CallStatus": "in-progress"}, "unanswered"),
        ({}, "unanswered"),
    ],
)
def test_transfer_result(form, result):
    assert transfer.transfer_result(form) == result


@pytest.mark.parametrize(
    ("digits", "speech", "choice"),
    [
        ("1", "", "callback"),
        ("2", "", "voicemail"),
        ("9", "", None),
        ("", "Call me back, please.", "callback"),
        ("", "a callback", "callback"),
        ("", "I'll leave a message.", "voicemail"),
        ("", "Voice mail.", "voicemail"),
        ("", "What?", None),
    ],
)
def test_parse_choice(digits, speech, choice):
    assert transfer.parse_choice(digits, speech) == choice


@pytest.mark.parametrize(
    ("digits", "speech", "number"),
    [
        ("1", "", "+15550100"),
        ("4155550123", "", "4155550123"),
        ("123", "", None),
        ("", "Yes, that's right.", "+15550100"),
        ("", "four one five five five five oh one two three", "4155550123"),
        ("", "415 555 0123", "4155550123"),
        ("", "Hmm.", None),
    ],
)
def test_parse_callback_number(digits, speech, number):
    assert transfer.parse_callback_number(digits, speech, "+15550100") == number


def test_without_a_caller_id_a_number_must_be_keyed():
    assert transfer.parse_callback_number("1", "", None) is None
    assert transfer.parse_callback_number("", "yes", None) is None
    assert "key in the number" in transfer.number_prompt(None)
    assert "ending 0 1 0 0" in transfer.number_prompt("+15550100")


def test_parse_callback_time():
    assert transfer.parse_callback_time("2", "") == "later today"
    assert transfer.parse_callback_time("7", "") is None
    assert transfer.parse_callback_time("", " Friday after 5 pm. ") == "Friday after 5 pm"
    assert transfer.parse_callback_time("", "") is None


def test_public_base():
    assert transfer.public_base("https://abc.ngrok.app/", "ws", {}) == "https://abc.ngrok.app"
    assert transfer.public_base(None, "ws", {"host": "h:8000"}) == "http://h:8000"
    headers = {"host": "internal", "x-forwarded-proto": "https", "x-forwarded-host": "pub.io"}
    assert transfer.public_base(None, "ws", headers) == "https://pub.io"


class FakeControl:
    def __init__(self, ok: bool = True, delay: float = 0.0):
        self.ok, self.delay, self.calls = ok, delay, []

    async def hang_up(self, call_sid):
        self.calls.append(("hang_up", call_sid))
        return True

    async def enqueue(self, call_sid, queue, *, wait_url, action_url):
        self.calls.append(("enqueue", call_sid, queue, wait_url, action_url))
        await asyncio.sleep(self.delay)
        return self.ok

    async def transfer(self, call_sid, to, *, action_url=None, timeout_secs=30):
        self.calls.append(("transfer", call_sid, to, action_url, timeout_secs))
        return self.ok


async def test_hand_over_enqueues_or_dials_as_configured():
    control = FakeControl()
    assert await transfer.hand_over(control, "CA1", TransferSettings(), "https://x.io")
    dial = TransferSettings(mode="dial", dial_to="+15550111", dial_timeout_secs=15)
    assert await transfer.hand_over(control, "CA1", dial, "https://x.io")
    assert control.calls == [
        ("enqueue", "CA1", "support", "https://x.io/twilio/queue/wait", "https://x.io/twilio/transfer/done"),
        ("transfer", "CA1", "+15550111", "https://x.io/twilio/transfer/done", 15),
    ]  # fmt: skip


async def test_hand_over_without_call_control_or_a_call_is_refused(caplog_loguru):
    assert not await transfer.hand_over(None, "CA1", TransferSettings(), "https://x.io")
    assert "call control is not configured" in caplog_loguru.text
    assert not await transfer.hand_over(FakeControl(), None, TransferSettings(), "https://x.io")


async def test_a_transfer_cut_short_by_twilios_stop_still_counts(tmp_path):
    """Twilio stops the stream as soon as it takes the redirect, which may cancel the
    pipeline before the REST answer is read; the call must still be known as moved."""
    store = CallStore(f"sqlite:///{tmp_path / 'calls.db'}")
    store.start_call("CA1", call_sid="CA1")
    resources = CallResources(
        settings=Settings(_env_file=None, data_dir=tmp_path),
        transcriber=None,
        synthesizer=None,
        smart_turn=None,
        dialogue=None,
        store=store,
        call_control=FakeControl(delay=0.2),
    )
    websocket = SimpleNamespace(url=SimpleNamespace(scheme="wss"), headers={"host": "pub.io"})
    move = _Transfer(resources, CallJournal(store, "CA1", None), "CA1", websocket)
    waiting = asyncio.create_task(move())
    await asyncio.sleep(0.05)
    waiting.cancel()  # the pipeline is cancelled mid-request
    assert await move.outcome()
    assert resources.call_control.calls[0][3] == "https://pub.io/twilio/queue/wait"
    await asyncio.sleep(0.1)  # the journal writes in a thread
    record = store.get_call("CA1")
    assert record.outcome == "handoff"
    assert record.turns[-1].text == "[transferred to the queue 'support']"
    store.close()
