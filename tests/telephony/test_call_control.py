"""Hang-up over Twilio's REST API, against a local fake of the Calls endpoint."""

from __future__ import annotations

import base64

from fastapi import FastAPI, Request, Response

from telephony.call_control import TwilioCallControl
from tests.conftest import serve


def fake_twilio(status: int = 200):
    app = FastAPI()
    app.state.requests = []

    @app.post("/2010-04-01/Accounts/{account}/Calls/{call}.json")
    async def update_call(account: str, call: str, request: Request):
        form = dict(await request.form())
        auth = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        app.state.requests.append({"account": account, "call": call, "form": form, "auth": auth})
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
