"""The browser softphone: ``/console/softphone`` calls the assistant from the microphone.

The page's JavaScript (``static/softphone.js``) speaks Twilio's Media Streams protocol on
the same ``/twilio/media`` WebSocket a phone call uses, so a demo needs no Twilio account and
goes through the whole pipeline. That WebSocket is not signature-checked (only the voice
webhook is), so the browser connects to it directly; the page only needs a signed-in user.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.auth import AnyUser
from console.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/softphone")
async def softphone_page(request: Request, user: AnyUser) -> Response:
    return render(request, user, "softphone.html")
