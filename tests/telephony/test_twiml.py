"""Each TwiML document of the warm transfer, parsed as Twilio would read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from telephony.twiml import (
    connect_stream_twiml,
    dequeue_twiml,
    dial_twiml,
    enqueue_twiml,
    gather_twiml,
    hang_up_twiml,
    hold_twiml,
    leave_queue_twiml,
    say_twiml,
    voicemail_twiml,
)


def parse(document: str) -> ET.Element:
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def test_enqueue_names_the_queue_its_hold_url_and_what_comes_after():
    root = parse(
        enqueue_twiml(
            "support", wait_url="https://x.io/twilio/queue/wait", action_url="https://x.io/done"
        )
    )
    assert verbs(root) == ["Enqueue"]
    enqueue = root[0]
    assert enqueue.text == "support"
    assert enqueue.attrib == {
        "action": "https://x.io/done",
        "method": "POST",
        "waitUrl": "https://x.io/twilio/queue/wait",
        "waitUrlMethod": "POST",
    }


def test_queue_names_and_urls_are_escaped():
    root = parse(enqueue_twiml("a<b&c", wait_url="https://x.io/w?a=1&b=2", action_url="https://x"))
    assert root[0].text == "a<b&c"
    assert root[0].get("waitUrl") == "https://x.io/w?a=1&b=2"


@pytest.mark.parametrize(
    ("to", "tag", "text"),
    [
        ("+15550100", "Number", "+15550100"),
        ("client:alice", "Client", "alice"),
        ("sip:agent@pbx.example.com", "Sip", "sip:agent@pbx.example.com"),
    ],
)
def test_dial_rings_a_number_a_client_or_a_sip_address(to, tag, text):
    root = parse(dial_twiml(to, action_url="https://x.io/done", timeout_secs=20))
    assert verbs(root) == ["Dial"]
    dial = root[0]
    assert dial.get("action") == "https://x.io/done" and dial.get("timeout") == "20"
    assert [(c.tag, c.text) for c in dial] == [(tag, text)]


def test_dial_without_an_action_leaves_it_out():
    assert "action" not in parse(dial_twiml("+15550100"))[0].attrib


def test_hold_says_the_message_then_plays_the_music_once():
    root = parse(hold_twiml("https://x.io/music.mp3", message="Please hold.", voice="Polly.Amy"))
    assert verbs(root) == ["Say", "Play"]
    assert root[0].text == "Please hold." and root[0].get("voice") == "Polly.Amy"
    assert root[1].text == "https://x.io/music.mp3" and "loop" not in root[1].attrib
    assert verbs(parse(hold_twiml("https://x.io/music.mp3"))) == ["Play"]


def test_leave_and_hang_up():
    assert verbs(parse(leave_queue_twiml())) == ["Leave"]
    assert verbs(parse(hang_up_twiml())) == ["Hangup"]


def test_agent_side_dials_the_queue_with_an_announcement_for_the_caller():
    root = parse(dequeue_twiml("support", announce_url="https://x.io/twilio/queue/connecting"))
    assert verbs(root) == ["Dial"]
    (queue,) = list(root[0])
    assert queue.tag == "Queue" and queue.text == "support"
    assert queue.get("url") == "https://x.io/twilio/queue/connecting"
    plain = parse(dequeue_twiml("support"))
    assert plain[0][0].attrib == {"method": "POST"}


def test_say_goes_on_or_hangs_up():
    assert verbs(parse(say_twiml("Hello."))) == ["Say"]
    root = parse(say_twiml("Bye.", voice="alice", hang_up=True))
    assert verbs(root) == ["Say", "Hangup"] and root[0].get("voice") == "alice"


def test_gather_takes_speech_or_keys_and_falls_through_without_an_answer():
    root = parse(
        gather_twiml(
            "Press 1.",
            action_url="https://x.io/answer",
            no_input_url="https://x.io/answer?attempt=1",
            num_digits=1,
            hints="call back, message",
        )
    )
    assert verbs(root) == ["Gather", "Redirect"]
    gather, redirect = root
    assert gather.get("input") == "dtmf speech"
    assert gather.get("action") == "https://x.io/answer"
    assert gather.get("numDigits") == "1" and gather.get("hints") == "call back, message"
    assert "finishOnKey" not in gather.attrib
    assert [(c.tag, c.text) for c in gather] == [("Say", "Press 1.")]
    assert redirect.text == "https://x.io/answer?attempt=1"


def test_voicemail_records_with_a_status_callback():
    root = parse(
        voicemail_twiml(
            action_url="https://x.io/vm/done", status_url="https://x.io/vm/status", max_secs=90
        )
    )
    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    record = root[1]
    assert record.get("action") == "https://x.io/vm/done"
    assert record.get("recordingStatusCallback") == "https://x.io/vm/status"
    assert record.get("recordingStatusCallbackMethod") == "POST"
    assert record.get("maxLength") == "90" and record.get("playBeep") == "true"
    assert record.get("finishOnKey") == "#"


def test_connect_stream_is_unchanged():
    root = parse(connect_stream_twiml("wss://x.io/twilio/media", {"callSid": "CA1", "from": ""}))
    stream = root.find("./Connect/Stream")
    assert stream.get("url") == "wss://x.io/twilio/media"
    assert [(p.get("name"), p.get("value")) for p in stream] == [("callSid", "CA1")]
