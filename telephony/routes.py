"""Twilio's side of the HTTP API: the voice webhook and the Media Streams WebSocket."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, WebSocket
from loguru import logger

from telephony.session import CallResources, run_call
from telephony.twiml import connect_stream_twiml, signature_is_valid

router = APIRouter(tags=["twilio"])


def get_resources(request: Request) -> CallResources:
    return request.app.state.resources


Resources = Annotated[CallResources, Depends(get_resources)]


def _public_url(request: Request, resources: CallResources) -> str:
    """The URL Twilio called, as Twilio saw it (behind a tunnel or proxy)."""
    base = resources.settings.twilio.public_url
    if base:
        query = f"?{request.url.query}" if request.url.query else ""
        return base.rstrip("/") + request.url.path + query
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    return str(request.url.replace(scheme=proto, netloc=host))


@router.post("/twilio/voice", response_class=Response)
async def twilio_voice(request: Request, resources: Resources) -> Response:
    """Answer an incoming call with TwiML that connects it to our Media Stream."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    twilio = resources.settings.twilio
    if twilio.auth_token is not None and twilio.validate_signature:
        url = _public_url(request, resources)
        signature = request.headers.get("x-twilio-signature", "")
        if not signature_is_valid(twilio.auth_token.get_secret_value(), url, form, signature):
            logger.warning(f"rejected /twilio/voice with a bad signature (url {url})")
            return Response("invalid Twilio signature", status_code=403, media_type="text/plain")
    page = _public_url(request, resources)
    scheme = "wss" if page.startswith("https") else "ws"
    stream_url = f"{scheme}://{page.split('://', 1)[1].split('/', 1)[0]}/twilio/media"
    parameters = {
        "callSid": form.get("CallSid", ""),
        "from": form.get("From", ""),
        "to": form.get("To", ""),
    }
    logger.info(f"incoming call {parameters['callSid']} from {parameters['from']}")
    return Response(connect_stream_twiml(stream_url, parameters), media_type="application/xml")


@router.websocket("/twilio/media")
async def twilio_media(websocket: WebSocket) -> None:
    """One Twilio Media Stream: one call, one pipeline."""
    resources: CallResources = websocket.app.state.resources
    await websocket.accept()
    task = asyncio.current_task()
    key = f"ws-{id(websocket)}"
    if task is not None:
        resources.active_calls[key] = task
    try:
        await run_call(websocket, resources)
    except Exception as e:  # noqa: BLE001 - one broken call must not affect the others
        logger.exception(f"call failed: {e}")
    finally:
        resources.active_calls.pop(key, None)
