"""Warm transfer: moving the caller to a person, and what happens if nobody is free.

After the bot's handoff reply has been heard, :func:`hand_over` redirects the live call
(``<Enqueue>`` into a Twilio queue, or ``<Dial>`` straight to an agent). From then on Twilio
drives the call through our TwiML endpoints (``telephony/routes.py``): hold audio from the
wait URL, the agent's leg dequeuing the caller, and, if nobody answers within
``transfer.max_wait_secs``, an offer of a callback (number and time captured) or a voicemail.
This module holds the decisions those endpoints make, as small functions of Twilio's form
fields, and the writes of their outcome to the call record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from loguru import logger

from switchboard.records import CallStore
from switchboard.settings import TransferSettings
from telephony.call_control import CallControl
from telephony.twiml import hold_twiml, leave_queue_twiml

WAIT_PATH = "/twilio/queue/wait"
DONE_PATH = "/twilio/transfer/done"
AGENT_PATH = "/twilio/agent"
CONNECTING_PATH = "/twilio/queue/connecting"
CALLBACK_PATH = "/twilio/callback"
CALLBACK_NUMBER_PATH = "/twilio/callback/number"
CALLBACK_TIME_PATH = "/twilio/callback/time"
VOICEMAIL_PATH = "/twilio/voicemail"
VOICEMAIL_DONE_PATH = "/twilio/voicemail/done"
VOICEMAIL_STATUS_PATH = "/twilio/voicemail/status"
HOLD_MUSIC_PATH = "/twilio/hold-music"

FIRST_WAIT_SECS = 2
"""A wait-URL fetch this early in the queue is the first: the hold message is said then."""

CALLBACK_TIMES = {"1": "as soon as possible", "2": "later today", "3": "tomorrow morning"}

OFFER_PROMPT = (
    "I'm sorry, everyone on our team is still busy. To have us call you back, press 1 or say "
    "call back. To leave a message, press 2 or say message."
)
TIME_PROMPT = (
    "When would suit you? Say a day and time, like tomorrow at 10 am. Or press 1 for as soon "
    "as possible, 2 for later today, or 3 for tomorrow morning."
)

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_YES = re.compile(r"\b(yes|yeah|yep|sure|correct|right|that's right|that one|this number)\b")
_CALLBACK = re.compile(r"\b(call ?back|call me|ring me|phone me)\b")
_VOICEMAIL = re.compile(r"\b(message|voice ?mail|record)\b")


async def hand_over(
    control: CallControl | None, call_sid: str | None, settings: TransferSettings, base_url: str
) -> bool:
    """Move the live call to a person as ``settings`` say. ``False`` (logged) when it can't be
    moved: no call control configured (a local demo), no Twilio call, or Twilio refused."""
    if control is None:
        logger.warning(
            f"call {call_sid}: handoff requested but call control is not configured "
            "(SWITCHBOARD_TWILIO__ACCOUNT_SID / AUTH_TOKEN): the caller stays with the assistant"
        )
        return False
    if not call_sid:
        logger.warning("handoff requested on a stream without a Twilio call: nothing to move")
        return False
    if settings.mode == "dial":
        return await control.transfer(
            call_sid,
            settings.dial_to or "",
            action_url=base_url + DONE_PATH,
            timeout_secs=settings.dial_timeout_secs,
        )
    return await control.enqueue(
        call_sid, settings.queue, wait_url=base_url + WAIT_PATH, action_url=base_url + DONE_PATH
    )


def public_base(public_url: str | None, scheme: str, headers: Mapping[str, str]) -> str:
    """``https://host`` as Twilio reaches us: the configured public URL, else the request's
    own host (forwarded headers first, for tunnels and proxies). A WebSocket's ``ws``/``wss``
    scheme becomes ``http``/``https``."""
    if public_url:
        return public_url.rstrip("/")
    proto = headers.get("x-forwarded-proto", scheme)
    proto = {"ws": "http", "wss": "https"}.get(proto, proto)
    host = headers.get("x-forwarded-host", headers.get("host", "localhost"))
    return f"{proto}://{host}"


def hold_music_url(settings: TransferSettings, base_url: str) -> str:
    """The hold audio as Twilio fetches it: a URL as given, a local file through our route."""
    if settings.hold_music.startswith(("http://", "https://")):
        return settings.hold_music
    return base_url + HOLD_MUSIC_PATH


def wait_twiml(form: Mapping[str, str], settings: TransferSettings, music_url: str) -> str:
    """The wait URL's answer: hold audio, or ``<Leave/>`` once ``QueueTime`` (seconds in the
    queue) has reached ``max_wait_secs``."""
    queue_time = _int(form.get("QueueTime"))
    if queue_time >= settings.max_wait_secs:
        logger.info(f"call {form.get('CallSid')}: {queue_time} s in the queue, leaving it")
        return leave_queue_twiml()
    message = settings.hold_message if queue_time < FIRST_WAIT_SECS else None
    return hold_twiml(music_url, message=message, voice=settings.voice)


def transfer_result(form: Mapping[str, str]) -> Literal["connected", "abandoned", "unanswered"]:
    """How the queue (``QueueResult``) or the dialled agent (``DialCallStatus``) ended.

    After a bridged call Twilio asks only once both sides have hung up, so a finished
    ``CallStatus`` means "abandoned" only when no agent was reached."""
    queue_result = form.get("QueueResult", "")
    dial_status = form.get("DialCallStatus", "")
    if queue_result in ("bridged", "bridging-in-process", "redirected") or dial_status in (
        "completed",
        "answered",
    ):
        return "connected"
    if queue_result == "hangup" or form.get("CallStatus") == "completed":
        return "abandoned"
    return "unanswered"  # leave, queue-full, error; no-answer, busy, failed, canceled


def parse_choice(digits: str, speech: str) -> Literal["callback", "voicemail"] | None:
    """1 / "call back" for a callback, 2 / "message" for a voicemail."""
    if digits:
        return {"1": "callback", "2": "voicemail"}.get(digits[:1])
    text = speech.lower()
    if _CALLBACK.search(text):
        return "callback"
    if _VOICEMAIL.search(text):
        return "voicemail"
    return None


def parse_callback_number(digits: str, speech: str, caller_number: str | None) -> str | None:
    """The number to call back: the caller's own (1 / "yes"), or another keyed or spoken
    (seven digits or more). ``None`` when the answer is neither."""
    if digits:
        if digits == "1" and caller_number:
            return caller_number
        return digits if len(digits) >= 7 else None
    spoken = _digits_in(speech)
    if len(spoken) >= 7:
        return spoken
    if caller_number and _YES.search(speech.lower()):
        return caller_number
    return None


def parse_callback_time(digits: str, speech: str) -> str | None:
    """When to call back: a keypad choice of :data:`CALLBACK_TIMES`, or the caller's words."""
    if digits:
        return CALLBACK_TIMES.get(digits[:1])
    return speech.strip().rstrip(".") or None


def number_prompt(caller_number: str | None) -> str:
    if caller_number and len(_digits_in(caller_number)) >= 4:
        return (
            f"Shall we call you back on the number ending {spoken_digits(caller_number)}? "
            "Press 1 or say yes. To use another number, key it in now, then press the hash key."
        )
    return "Please key in the number we should call you back on, then press the hash key."


def spoken_digits(number: str, last: int = 4) -> str:
    """The last digits spaced out, so Twilio's voice reads them one by one."""
    return " ".join(_digits_in(number)[-last:])


def confirmation(number: str, when: str) -> str:
    return (
        f"Thank you. We'll call you back on the number ending {spoken_digits(number)}, {when}. "
        "Goodbye."
    )


# --- the call record ---------------------------------------------------------------------------


def record_outcome(
    store: CallStore | None,
    call_id: str,
    outcome: str,
    text: str,
    meta: dict[str, Any] | None = None,
) -> bool:
    """Set the call's outcome and add a system turn saying why. Blocking: run it in a thread.
    Failures are logged, never raised: Twilio is waiting for TwiML."""
    if store is None or not call_id:
        return False
    try:
        record = store.get_call(call_id)
        if record is None:
            logger.warning(f"call {call_id} is not in the call store; outcome {outcome} not kept")
            return False
        elapsed = datetime.now(UTC) - record.started_at
        store.set_call_fields(call_id, outcome=outcome)
        store.add_turn(
            call_id, "system", text, started_ms=int(elapsed.total_seconds() * 1000), meta=meta
        )
    except Exception as e:  # noqa: BLE001 - the caller must still get an answer
        logger.error(f"call {call_id}: could not record outcome {outcome}: {e}")
        return False
    logger.info(f"call {call_id}: {outcome}: {text}")
    return True


def caller_number(store: CallStore | None, call_id: str, form: Mapping[str, str]) -> str | None:
    """The number the caller rings from: Twilio's ``From``, else the call record's."""
    number = form.get("From") or form.get("Caller")
    if number and _digits_in(number):
        return number
    record = _get(store, call_id)
    return record.from_number if record is not None else None


def _get(store: CallStore | None, call_id: str):
    if store is None or not call_id:
        return None
    try:
        return store.get_call(call_id)
    except Exception as e:  # noqa: BLE001 - the TwiML goes out without it
        logger.error(f"call {call_id}: could not read its record: {e}")
        return None


def _digits_in(text: str) -> str:
    words = re.findall(r"[a-z]+|\d", text.lower())
    return "".join(_WORD_DIGITS.get(w, w) for w in words if w.isdigit() or w in _WORD_DIGITS)


def _int(value: str | None) -> int:
    try:
        return int(float(value or 0))
    except ValueError:
        return 0
