"""Twilio's side of the HTTP API: the voice webhook, the Media Streams WebSocket, and the
TwiML endpoints of a warm transfer (hold, agent, callback, voicemail).

Every POST from Twilio is signature-checked when an auth token is set. The handlers are thin:
the decisions live in ``telephony/transfer.py``, the documents in ``telephony/twiml.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response, WebSocket
from fastapi.responses import FileResponse
from loguru import logger

from telephony import transfer
from telephony.session import CallResources, run_call
from telephony.twiml import (
    connect_stream_twiml,
    dequeue_twiml,
    gather_twiml,
    hang_up_twiml,
    say_twiml,
    signature_is_valid,
    voicemail_twiml,
)

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


def _base(request: Request, resources: CallResources) -> str:
    return transfer.public_base(
        resources.settings.twilio.public_url, request.url.scheme, request.headers
    )


async def _twilio_form(request: Request, resources: CallResources) -> dict[str, str] | None:
    """The request's form, or ``None`` if its signature is missing or wrong."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    twilio = resources.settings.twilio
    if twilio.auth_token is not None and twilio.validate_signature:
        url = _public_url(request, resources)
        signature = request.headers.get("x-twilio-signature", "")
        if not signature_is_valid(twilio.auth_token.get_secret_value(), url, form, signature):
            logger.warning(f"rejected {request.url.path} with a bad signature (url {url})")
            return None
    return form


def _forbidden() -> Response:
    return Response("invalid Twilio signature", status_code=403, media_type="text/plain")


def _twiml(document: str) -> Response:
    return Response(document, media_type="application/xml")


@router.post("/twilio/voice", response_class=Response)
async def twilio_voice(request: Request, resources: Resources) -> Response:
    """Answer an incoming call with TwiML that connects it to our Media Stream."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    page = _public_url(request, resources)
    scheme = "wss" if page.startswith("https") else "ws"
    stream_url = f"{scheme}://{page.split('://', 1)[1].split('/', 1)[0]}/twilio/media"
    parameters = {
        "callSid": form.get("CallSid", ""),
        "from": form.get("From", ""),
        "to": form.get("To", ""),
    }
    logger.info(f"incoming call {parameters['callSid']} from {parameters['from']}")
    return _twiml(connect_stream_twiml(stream_url, parameters))


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


# --- the caller waiting for a person ----------------------------------------------------------


@router.post(transfer.WAIT_PATH, response_class=Response)
async def queue_wait(request: Request, resources: Resources) -> Response:
    """The queue's wait URL: hold message and music, ``<Leave/>`` after ``max_wait_secs``."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    settings = resources.settings.transfer
    music = transfer.hold_music_url(settings, _base(request, resources))
    return _twiml(transfer.wait_twiml(form, settings, music))


@router.get(transfer.HOLD_MUSIC_PATH, response_class=Response)
async def hold_music(resources: Resources) -> Response:
    """A local hold-music file (when ``transfer.hold_music`` is a path, not a URL)."""
    path = Path(resources.settings.transfer.hold_music)
    if not path.is_file():
        return Response("no local hold music", status_code=404, media_type="text/plain")
    return FileResponse(path)


@router.post(transfer.DONE_PATH, response_class=Response)
async def transfer_done(request: Request, resources: Resources) -> Response:
    """The ``<Enqueue>``/``<Dial>`` action: the caller left the queue or the agent's leg
    ended. Over after a bridged call; a callback or voicemail offer when nobody answered."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    call_sid = form.get("CallSid", "")
    result = transfer.transfer_result(form)
    if result == "connected":
        return _twiml(hang_up_twiml())
    if result == "abandoned":
        waited = form.get("QueueTime") or "?"
        await asyncio.to_thread(
            transfer.record_outcome,
            resources.store,
            call_sid,
            "abandoned",
            f"[caller hung up after {waited} s waiting for a person]",
            {"transfer": {k: v for k, v in form.items() if k in _RESULT_FIELDS}},
        )
        return _twiml(hang_up_twiml())
    logger.info(f"call {call_sid}: nobody answered ({_outcome_of(form)}); offering a callback")
    return _twiml(_offer(request, resources))


_RESULT_FIELDS = ("QueueResult", "QueueTime", "DialCallStatus", "DialCallDuration")


def _outcome_of(form: dict[str, str]) -> str:
    return form.get("QueueResult") or form.get("DialCallStatus") or "unknown"


def _url(request: Request, resources: CallResources, path: str, **query: str) -> str:
    url = _base(request, resources) + path
    return f"{url}?{urlencode(query)}" if query else url


def _offer(request: Request, resources: CallResources, attempt: int = 1) -> str:
    """The callback-or-voicemail offer; ``attempt`` counts how often it has been made."""
    url = _url(request, resources, transfer.CALLBACK_PATH, attempt=str(attempt))
    return gather_twiml(
        transfer.OFFER_PROMPT,
        action_url=url,
        no_input_url=url,
        voice=resources.settings.transfer.voice,
        num_digits=1,
        hints="call back, message, voicemail",
    )


def _voicemail(request: Request, resources: CallResources) -> str:
    settings = resources.settings.transfer
    return voicemail_twiml(
        action_url=_url(request, resources, transfer.VOICEMAIL_DONE_PATH),
        status_url=_url(request, resources, transfer.VOICEMAIL_STATUS_PATH),
        max_secs=settings.voicemail_max_secs,
        voice=settings.voice,
    )


def _attempt(request: Request) -> int:
    """How often the question has been asked (``?attempt=``): the second unclear answer
    ends in a voicemail rather than a loop."""
    value = request.query_params.get("attempt", "1")
    return int(value) if value.isdigit() else 1


@router.post(transfer.CALLBACK_PATH, response_class=Response)
async def callback_choice(request: Request, resources: Resources) -> Response:
    """The caller's answer to the offer: a callback, a voicemail, or (unclear) ask again once,
    then take a voicemail."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    choice = transfer.parse_choice(form.get("Digits", ""), form.get("SpeechResult", ""))
    if choice == "voicemail" or (choice is None and _attempt(request) >= 2):
        return _twiml(_voicemail(request, resources))
    if choice is None:
        return _twiml(_offer(request, resources, attempt=_attempt(request) + 1))
    number = await asyncio.to_thread(
        transfer.caller_number, resources.store, form.get("CallSid", ""), form
    )
    return _twiml(_ask_number(request, resources, number, attempt=1))


def _ask_number(request: Request, resources: CallResources, number: str | None, attempt: int):
    url = _url(request, resources, transfer.CALLBACK_NUMBER_PATH, attempt=str(attempt))
    return gather_twiml(
        transfer.number_prompt(number),
        action_url=url,
        no_input_url=url,
        voice=resources.settings.transfer.voice,
        finish_on_key="#",
        hints="yes, this number",
        timeout_secs=8,
    )


@router.post(transfer.CALLBACK_NUMBER_PATH, response_class=Response)
async def callback_number(request: Request, resources: Resources) -> Response:
    """The number to call back on: confirmed (1 / yes) or keyed; then ask for a time."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    own = await asyncio.to_thread(
        transfer.caller_number, resources.store, form.get("CallSid", ""), form
    )
    number = transfer.parse_callback_number(
        form.get("Digits", ""), form.get("SpeechResult", ""), own
    )
    if number is None:
        if _attempt(request) >= 2:
            return _twiml(_voicemail(request, resources))
        return _twiml(_ask_number(request, resources, own, attempt=_attempt(request) + 1))
    return _twiml(
        gather_twiml(
            transfer.TIME_PROMPT,
            action_url=_url(request, resources, transfer.CALLBACK_TIME_PATH, number=number),
            no_input_url=_url(request, resources, transfer.CALLBACK_TIME_PATH, number=number),
            voice=resources.settings.transfer.voice,
            num_digits=1,
            hints="as soon as possible, later today, tomorrow morning",
        )
    )


@router.post(transfer.CALLBACK_TIME_PATH, response_class=Response)
async def callback_time(request: Request, resources: Resources) -> Response:
    """The time for the callback (no answer: as soon as possible); the outcome is recorded."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    number = request.query_params.get("number", "")
    if not number:
        return _twiml(_voicemail(request, resources))
    when = transfer.parse_callback_time(form.get("Digits", ""), form.get("SpeechResult", ""))
    when = when or transfer.CALLBACK_TIMES["1"]
    await asyncio.to_thread(
        transfer.record_outcome,
        resources.store,
        form.get("CallSid", ""),
        "callback",
        f"[callback requested: {number}, {when}]",
        {"callback": {"number": number, "time": when}},
    )
    voice = resources.settings.transfer.voice
    return _twiml(say_twiml(transfer.confirmation(number, when), voice=voice, hang_up=True))


@router.post(transfer.VOICEMAIL_PATH, response_class=Response)
async def voicemail(request: Request, resources: Resources) -> Response:
    """The voicemail prompt and ``<Record>``."""
    if await _twilio_form(request, resources) is None:
        return _forbidden()
    return _twiml(_voicemail(request, resources))


@router.post(transfer.VOICEMAIL_DONE_PATH, response_class=Response)
async def voicemail_done(request: Request, resources: Resources) -> Response:
    """The ``<Record>`` action: the caller has finished their message."""
    if await _twilio_form(request, resources) is None:
        return _forbidden()
    voice = resources.settings.transfer.voice
    text = "Thank you, we've got your message and will call you back. Goodbye."
    return _twiml(say_twiml(text, voice=voice, hang_up=True))


@router.post(transfer.VOICEMAIL_STATUS_PATH, response_class=Response)
async def voicemail_status(request: Request, resources: Resources) -> Response:
    """The recording status callback: a finished voicemail is the call's outcome (a callback
    owed, with the recording to listen to)."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    call_sid = form.get("CallSid", "")
    if form.get("RecordingStatus", "completed") != "completed":
        logger.warning(f"call {call_sid}: voicemail {form.get('RecordingStatus')}, not recorded")
        return Response(status_code=204)
    seconds = form.get("RecordingDuration", "?")
    await asyncio.to_thread(
        transfer.record_outcome,
        resources.store,
        call_sid,
        "callback",
        f"[voicemail left: {seconds} s]",
        {
            "voicemail": {
                "recording_sid": form.get("RecordingSid"),
                "recording_url": form.get("RecordingUrl"),
                "duration_secs": seconds,
            }
        },
    )
    return Response(status_code=204)


# --- the agent's side -------------------------------------------------------------------------


@router.post(transfer.AGENT_PATH, response_class=Response)
async def agent(request: Request, resources: Resources) -> Response:
    """An agent's phone or Twilio Client calls here: bridged to the caller waiting longest
    (``?queue=NAME`` picks another queue). The handoff summary is on the agent desk."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    settings = resources.settings.transfer
    queue = request.query_params.get("queue") or settings.queue
    announce = (
        _url(request, resources, transfer.CONNECTING_PATH) if settings.connect_message else None
    )
    logger.info(f"agent {form.get('From') or form.get('Caller')} takes a call from {queue!r}")
    return _twiml(dequeue_twiml(queue, announce_url=announce))


@router.post(transfer.CONNECTING_PATH, response_class=Response)
async def queue_connecting(request: Request, resources: Resources) -> Response:
    """The ``<Queue url>``: played to the caller (``CallSid``) just before the bridge."""
    form = await _twilio_form(request, resources)
    if form is None:
        return _forbidden()
    logger.info(f"call {form.get('CallSid')}: an agent takes it after {form.get('QueueTime')} s")
    settings = resources.settings.transfer
    return _twiml(say_twiml(settings.connect_message, voice=settings.voice))
