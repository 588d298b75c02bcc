"""The warm transfer's TwiML endpoints as Twilio drives them: hold, timeout, agent, callback,
voicemail; the outcomes they write to the call record; signatures on every one of them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from switchboard.app import create_app
from switchboard.records import CallStore
from switchboard.settings import Settings, TransferSettings, TwilioSettings
from telephony import transfer
from telephony.session import CallResources

CALL = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+15550100", "To": "+15550199"}


@pytest.fixture
def store(tmp_path):
    store = CallStore(f"sqlite:///{tmp_path / 'calls.db'}")
    store.start_call("CA1", call_sid="CA1", from_number="+15550100", to_number="+15550199")
    store.add_turn(
        "CA1",
        "system",
        "[handoff: agent_request] Jane Doe asked for a person about a lost card.",
        started_ms=5000,
        meta={"handoff": {"reason": "agent_request", "prose": "Jane Doe lost her card."}},
    )
    yield store
    store.close()


def make_client(tmp_path, store=None, twilio=None, **transfer_fields) -> TestClient:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        twilio=twilio or TwilioSettings(),
        transfer=TransferSettings(**transfer_fields),
    )
    resources = CallResources(
        settings=settings,
        transcriber=None,
        synthesizer=None,
        smart_turn=None,
        dialogue=None,
        store=store,
        call_control=None,
    )
    return TestClient(create_app(settings, resources=resources))


def post(client: TestClient, path: str, **form: str) -> ET.Element:
    response = client.post(path, data={**CALL, **form})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def follow(url: str) -> tuple[str, dict[str, str]]:
    """A URL from our TwiML as a path and query for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else ""), parse_qs(parts.query)


# --- hold and the queue timeout ---------------------------------------------------------------


def test_first_wait_says_the_hold_message_then_only_music(tmp_path):
    with make_client(tmp_path, hold_message="Please hold.", voice="Polly.Amy") as client:
        first = post(client, transfer.WAIT_PATH, QueueTime="0", QueuePosition="1")
        later = post(client, transfer.WAIT_PATH, QueueTime="40")
    assert verbs(first) == ["Say", "Play"]
    assert first[0].text == "Please hold." and first[0].get("voice") == "Polly.Amy"
    assert first[1].text.startswith("http://com.twilio.music.classical")
    assert verbs(later) == ["Play"]


def test_the_caller_leaves_the_queue_after_max_wait(tmp_path):
    with make_client(tmp_path, max_wait_secs=60) as client:
        assert verbs(post(client, transfer.WAIT_PATH, QueueTime="59")) == ["Play"]
        assert verbs(post(client, transfer.WAIT_PATH, QueueTime="60")) == ["Leave"]
        assert verbs(post(client, transfer.WAIT_PATH, QueueTime="600")) == ["Leave"]


def test_hold_music_is_configurable_as_a_url_or_a_local_file(tmp_path):
    with make_client(tmp_path, hold_music="https://cdn.example.com/hold.mp3") as client:
        assert post(client, transfer.WAIT_PATH, QueueTime="9")[0].text == (
            "https://cdn.example.com/hold.mp3"
        )
    music = tmp_path / "hold.wav"
    music.write_bytes(b"RIFF....WAVE")
    with make_client(tmp_path, hold_music=str(music)) as client:
        played = post(client, transfer.WAIT_PATH, QueueTime="9")[0].text
        assert played == "http://testserver/twilio/hold-music"
        assert client.get("/twilio/hold-music").content == b"RIFF....WAVE"
    with make_client(tmp_path, hold_music=str(tmp_path / "missing.mp3")) as client:
        assert client.get("/twilio/hold-music").status_code == 404


# --- after the queue ------------------------------------------------------------------------


def test_leaving_the_queue_offers_a_callback_or_voicemail(tmp_path, store):
    with make_client(tmp_path, store) as client:
        root = post(client, transfer.DONE_PATH, QueueResult="leave", QueueTime="120")
    assert verbs(root) == ["Gather", "Redirect"]
    gather = root[0]
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert "press 1" in gather[0].text and "press 2" in gather[0].text
    assert gather.get("action") == "http://testserver/twilio/callback?attempt=1"
    assert store.get_call("CA1").outcome is None


@pytest.mark.parametrize(
    "form",
    [{"QueueResult": "bridged"}, {"DialCallStatus": "completed"}],
)
def test_after_a_bridged_call_the_caller_is_hung_up(tmp_path, store, form):
    with make_client(tmp_path, store) as client:
        assert verbs(post(client, transfer.DONE_PATH, **form)) == ["Hangup"]


def test_an_unanswered_dial_offers_a_callback(tmp_path, store):
    with make_client(tmp_path, store) as client:
        root = post(client, transfer.DONE_PATH, DialCallStatus="no-answer")
    assert verbs(root) == ["Gather", "Redirect"]


def test_a_caller_hanging_up_in_the_queue_is_abandoned(tmp_path, store):
    with make_client(tmp_path, store) as client:
        root = post(client, transfer.DONE_PATH, QueueResult="hangup", QueueTime="33")
    assert verbs(root) == ["Hangup"]
    record = store.get_call("CA1")
    assert record.outcome == "abandoned"
    assert record.turns[-1].text == "[caller hung up after 33 s waiting for a person]"


# --- callback ----------------------------------------------------------------------------------


def test_callback_on_the_callers_own_number_at_a_chosen_time(tmp_path, store):
    with make_client(tmp_path, store) as client:
        ask = post(client, transfer.CALLBACK_PATH, Digits="1")
        assert verbs(ask) == ["Gather", "Redirect"]
        assert "ending 0 1 0 0" in ask[0][0].text and ask[0].get("finishOnKey") == "#"
        path, _ = follow(ask[0].get("action"))
        when = post(client, path, Digits="1")
        assert "When would suit you?" in when[0][0].text
        path, query = follow(when[0].get("action"))
        assert query == {"number": ["+15550100"]}
        done = post(client, path, SpeechResult="Tomorrow at 3 pm.")
    assert verbs(done) == ["Say", "Hangup"]
    assert "ending 0 1 0 0, Tomorrow at 3 pm" in done[0].text
    record = store.get_call("CA1")
    assert record.outcome == "callback"
    last = record.turns[-1]
    assert (
        last.speaker == "system"
        and last.text == "[callback requested: +15550100, Tomorrow at 3 pm]"
    )
    assert last.meta == {"callback": {"number": "+15550100", "time": "Tomorrow at 3 pm"}}


def test_callback_on_a_keyed_number_said_by_voice(tmp_path, store):
    with make_client(tmp_path, store) as client:
        ask = post(client, transfer.CALLBACK_PATH, SpeechResult="Call me back please.")
        path, _ = follow(ask[0].get("action"))
        when = post(client, path, Digits="4155550123")
        path, _ = follow(when[0].get("action"))
        post(client, path, Digits="3")
    record = store.get_call("CA1")
    assert record.turns[-1].meta == {
        "callback": {"number": "4155550123", "time": "tomorrow morning"}
    }


def test_no_time_given_means_as_soon_as_possible(tmp_path, store):
    with make_client(tmp_path, store) as client:
        post(client, transfer.CALLBACK_TIME_PATH + "?number=%2B15550100")
    assert store.get_call("CA1").turns[-1].meta["callback"]["time"] == "as soon as possible"


def test_an_unclear_answer_is_asked_again_once_then_voicemail(tmp_path, store):
    with make_client(tmp_path, store) as client:
        offer = post(client, transfer.DONE_PATH, QueueResult="leave")
        path, query = follow(offer[0].get("action"))
        assert query == {"attempt": ["1"]}
        again = post(client, path, SpeechResult="Pardon?")
        assert verbs(again) == ["Gather", "Redirect"]
        path, query = follow(again[1].text)  # no answer at all: the fall-through
        assert query == {"attempt": ["2"]}
        assert verbs(post(client, path)) == ["Say", "Record", "Say", "Hangup"]
        bad_number = post(client, transfer.CALLBACK_NUMBER_PATH, Digits="12")
        assert "Shall we call you back" in bad_number[0][0].text
    assert store.get_call("CA1").outcome is None


# --- voicemail ---------------------------------------------------------------------------------


def test_voicemail_is_recorded_with_its_recording(tmp_path, store):
    with make_client(tmp_path, store, voicemail_max_secs=60) as client:
        root = post(client, transfer.CALLBACK_PATH, Digits="2")
        record = root.find("Record")
        assert record.get("maxLength") == "60"
        assert record.get("recordingStatusCallback") == "http://testserver/twilio/voicemail/status"
        done, _ = follow(record.get("action"))
        assert verbs(post(client, done, RecordingUrl="https://api.twilio.com/RE1")) == [
            "Say",
            "Hangup",
        ]
        status = client.post(
            transfer.VOICEMAIL_STATUS_PATH,
            data={
                **CALL,
                "RecordingSid": "RE1",
                "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                "RecordingStatus": "completed",
                "RecordingDuration": "23",
            },
        )
        assert status.status_code == 204
    call = store.get_call("CA1")
    assert call.outcome == "callback"
    assert call.turns[-1].text == "[voicemail left: 23 s]"
    assert call.turns[-1].meta["voicemail"]["recording_sid"] == "RE1"


def test_a_failed_recording_is_not_an_outcome(tmp_path, store):
    with make_client(tmp_path, store) as client:
        response = client.post(
            transfer.VOICEMAIL_STATUS_PATH, data={**CALL, "RecordingStatus": "failed"}
        )
    assert response.status_code == 204 and store.get_call("CA1").outcome is None


def test_outcomes_of_unknown_calls_are_skipped_not_errors(tmp_path, store):
    with make_client(tmp_path, store) as client:
        response = client.post(
            transfer.CALLBACK_TIME_PATH + "?number=5551234567", data={"CallSid": "CAnope"}
        )
    assert response.status_code == 200 and "Thank you" in response.text


# --- the agent's side --------------------------------------------------------------------------


def test_agent_dials_the_queue_and_the_caller_hears_they_are_connected(tmp_path, store):
    with make_client(tmp_path, store, queue="cards", connect_message="Connecting you.") as client:
        root = post(client, transfer.AGENT_PATH, CallSid="CAagent", From="client:alice")
        other = post(client, transfer.AGENT_PATH + "?queue=fraud", CallSid="CAagent")
        # Twilio's <Queue url>: CallSid is the dequeued caller's, DequeingCallSid the agent's.
        announce = post(client, transfer.CONNECTING_PATH, QueueSid="QU1", DequeingCallSid="CAag")
    assert verbs(root) == ["Dial"]
    queue = root.find("Dial/Queue")
    assert queue.text == "cards"
    assert queue.get("url") == "http://testserver/twilio/queue/connecting"
    assert other.find("Dial/Queue").text == "fraud"
    assert verbs(announce) == ["Say"] and announce[0].text == "Connecting you."


def test_agent_without_an_announcement(tmp_path):
    with make_client(tmp_path, connect_message="") as client:
        queue = post(client, transfer.AGENT_PATH).find("Dial/Queue")
    assert queue.text == "support" and queue.get("url") is None


def test_dial_mode_needs_a_target():
    with pytest.raises(ValueError, match="DIAL_TO"):
        TransferSettings(mode="dial")
    assert TransferSettings(mode="dial", dial_to="client:alice").dial_to == "client:alice"


# --- signatures --------------------------------------------------------------------------------

TOKEN = "test-auth-token"
SIGNED = TwilioSettings(
    auth_token=SecretStr(TOKEN), account_sid="AC1", public_url="https://abc.ngrok.app"
)
ENDPOINTS = [
    transfer.WAIT_PATH,
    transfer.DONE_PATH,
    transfer.AGENT_PATH,
    transfer.CONNECTING_PATH,
    transfer.CALLBACK_PATH,
    transfer.CALLBACK_NUMBER_PATH,
    transfer.CALLBACK_TIME_PATH + "?number=%2B15550100",
    transfer.VOICEMAIL_PATH,
    transfer.VOICEMAIL_DONE_PATH,
    transfer.VOICEMAIL_STATUS_PATH,
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_transfer_endpoint_checks_the_signature(tmp_path, store, path):
    form = {**CALL, "QueueTime": "5", "Digits": "1"}
    good = RequestValidator(TOKEN).compute_signature(f"https://abc.ngrok.app{path}", form)
    with make_client(tmp_path, store, twilio=SIGNED) as client:
        missing = client.post(path, data=form)
        wrong = client.post(path, data=form, headers={"X-Twilio-Signature": "bm9wZQ=="})
        tampered = client.post(
            path, data={**form, "Digits": "2"}, headers={"X-Twilio-Signature": good}
        )
        ok = client.post(path, data=form, headers={"X-Twilio-Signature": good})
    assert [r.status_code for r in (missing, wrong, tampered)] == [403, 403, 403]
    assert ok.status_code in (200, 204)
    if ok.status_code == 200:
        assert ok.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    # TwiML from behind the tunnel points back through the tunnel.
    assert "http://testserver" not in ok.text
