"""Call control over Twilio's REST API (hang-up, enqueue, transfer), against a local fake of
the Calls endpoint that records every request."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET

from fastapi import FastAPI, Request, Response

from telephony.call_control import TwilioCallControl
from tests.conftest import serve


def fake_twilio(status: int = 200):
    app = FastAPI()
    app.state.requests = []
    app.state.times = []  # time.monotonic() of each request, in the same order

    @app.post("/2010-04-01/Accounts/{account}/Calls/{call}.json")
    async def update_call(account: str, call: str, request: Request):
        form = dict(await request.form())
        auth = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        app.state.requests.append({"account": account, "call": call, "form": form, "auth": auth})
        app.state.times.append(time.monotonic())
        return Response(
            '{"status": "completed"}', status_code=status, media_type="application/json"
        )

    return app


async def test_hang_up_posts_completed():
    app = fake_twilio()
    with serve(app) as url:
        control = TwilioCallControl("AC1", "secret", base_url=url)
        assert await control.hang_up("CA42")
    assert app.state.requests == [
        {"account": "AC1", "call": "CA42", "form": {"Status": "completed"}, "auth": "AC1:secret"}
    ]


async def test_already_ended_call_counts_as_done_and_errors_are_reported():
    with serve(fake_twilio(404)) as url:
        assert await TwilioCallControl("AC1", "s", base_url=url).hang_up("CA1")
    with serve(fake_twilio(500)) as url:
        assert not await TwilioCallControl("AC1", "s", base_url=url).hang_up("CA1")
    unreachable = TwilioCallControl("AC1", "s", base_url="http://127.0.0.1:9", timeout=1)
    assert not await unreachable.hang_up("CA1")


async def test_enqueue_redirects_the_call_to_enqueue_twiml():
    app = fake_twilio()
    with serve(app) as url:
        control = TwilioCallControl("AC1", "secret", base_url=url)
        assert await control.enqueue(
            "CA42", "support", wait_url="https://x.io/wait", action_url="https://x.io/done"
        )
    (request,) = app.state.requests
    assert request["call"] == "CA42" and request["auth"] == "AC1:secret"
    assert set(request["form"]) == {"Twiml"}
    enqueue = ET.fromstring(request["form"]["Twiml"]).find("Enqueue")
    assert enqueue.text == "support"
    assert enqueue.get("waitUrl") == "https://x.io/wait"
    assert enqueue.get("action") == "https://x.io/done"


async def test_transfer_redirects_the_call_to_a_dial():
    app = fake_twilio()
    with serve(app) as url:
        control = TwilioCallControl("AC1", "secret", base_url=url)
        assert await control.transfer("CA42", "client:alice", action_url="https://x.io/done")
    dial = ET.fromstring(app.state.requests[0]["form"]["Twiml"]).find("Dial")
    assert dial.find("Client").text == "alice" and dial.get("action") == "https://x.io/done"


async def test_failed_redirects_are_reported_not_raised():
    for status in (404, 500):  # a call that has ended cannot be moved any more
        with serve(fake_twilio(status)) as url:
            control = TwilioCallControl("AC1", "s", base_url=url)
            assert not await control.enqueue(
                "CA1", "q", wait_url="https://w", action_url="https://a"
            )
            assert not await control.transfer("CA1", "+15550100")
    unreachable = TwilioCallControl("AC1", "s", base_url="http://127.0.0.1:9", timeout=1)
    assert not await unreachable.enqueue("CA1", "q", wait_url="https://w", action_url="https://a")
    assert not await unreachable.transfer("CA1", "+15550100")
