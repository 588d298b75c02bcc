"""POST /twilio/voice: TwiML that connects the call to our stream, and signature checks."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from switchboard.app import create_app
from switchboard.settings import Settings, TwilioSettings
from telephony.session import CallResources

TOKEN = "test-auth-token"
FORM = {"CallSid": "CA123", "From": "+15550100", "To": "+15550199", "AccountSid": "AC1"}


def make_client(twilio: TwilioSettings, tmp_path) -> TestClient:
    """The app with no models loaded: the webhook needs none."""
    settings = Settings(_env_file=None, data_dir=tmp_path, twilio=twilio)
    resources = CallResources(
        settings=settings,
        transcriber=None,
        synthesizer=None,
        smart_turn=None,
        dialogue=None,
        store=None,
        call_control=None,
    )
    return TestClient(create_app(settings, resources=dataclasses.replace(resources)))


def test_twiml_connects_the_stream(tmp_path):
    with make_client(TwilioSettings(), tmp_path) as client:
        response = client.post("/twilio/voice", data=FORM)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == "ws://testserver/twilio/media"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"callSid": "CA123", "from": "+15550100", "to": "+15550199"}


def test_public_url_gives_a_wss_stream(tmp_path):
    twilio = TwilioSettings(public_url="https://abc.ngrok.app")
    with make_client(twilio, tmp_path) as client:
        response = client.post("/twilio/voice", data=FORM)
    assert 'url="wss://abc.ngrok.app/twilio/media"' in response.text


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_missing_or_bad_signature_is_refused(tmp_path, signature):
    twilio = TwilioSettings(auth_token=SecretStr(TOKEN), account_sid="AC1")
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    with make_client(twilio, tmp_path) as client:
        response = client.post("/twilio/voice", data=FORM, headers=headers)
    assert response.status_code == 403
    assert "<Response>" not in response.text


def test_valid_signature_is_accepted(tmp_path):
    twilio = TwilioSettings(
        auth_token=SecretStr(TOKEN), account_sid="AC1", public_url="https://abc.ngrok.app"
    )
    signature = RequestValidator(TOKEN).compute_signature(
        "https://abc.ngrok.app/twilio/voice", FORM
    )
    with make_client(twilio, tmp_path) as client:
        ok = client.post("/twilio/voice", data=FORM, headers={"X-Twilio-Signature": signature})
        tampered = client.post(
            "/twilio/voice",
            data={**FORM, "From": "+15559999"},
            headers={"X-Twilio-Signature": signature},
        )
    assert ok.status_code == 200 and "<Connect>" in ok.text
    assert tampered.status_code == 403


def test_production_requires_an_auth_token(tmp_path):
    with pytest.raises(ValueError, match="SWITCHBOARD_TWILIO__AUTH_TOKEN"):
        Settings(_env_file=None, data_dir=tmp_path, environment="production")
