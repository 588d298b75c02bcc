"""TwiML documents and Twilio request signatures.

Each builder is a small pure function from plain values to one TwiML document, so what
Twilio is told can be read (and tested) without a server. URLs passed in are absolute:
TwiML sent through the REST API has no document URL for relative ones to resolve against.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from twilio.request_validator import RequestValidator

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def _document(*verbs: ET.Element) -> str:
    response = ET.Element("Response")
    response.extend(verbs)
    return _DECLARATION + ET.tostring(response, encoding="unicode")


def _verb(tag: str, text: str | None = None, *children: ET.Element, **attrs: object) -> ET.Element:
    """One element; attributes given as ``None`` are left out, the rest written as text."""
    element = ET.Element(tag, {k: _attr(v) for k, v in attrs.items() if v is not None})
    element.text = text
    element.extend(children)
    return element


def _attr(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _say(text: str, voice: str | None) -> ET.Element:
    return _verb("Say", text, voice=voice)


def connect_stream_twiml(stream_url: str, parameters: dict[str, str]) -> str:
    """``<Connect><Stream>``: Twilio opens a bidirectional Media Stream to ``stream_url``.

    Custom parameters come back to us in the stream's ``start`` message.
    """
    params = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in parameters.items() if v
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream>"
        "</Connect></Response>"
    )


def enqueue_twiml(queue: str, *, wait_url: str, action_url: str) -> str:
    """``<Enqueue>``: the caller waits in ``queue``, hearing whatever ``wait_url`` returns
    (fetched again each time it ends); ``action_url`` is asked what next when they leave."""
    enqueue = _verb(
        "Enqueue",
        queue,
        action=action_url,
        method="POST",
        waitUrl=wait_url,
        waitUrlMethod="POST",
    )
    return _document(enqueue)


def dial_twiml(to: str, *, action_url: str | None = None, timeout_secs: int = 30) -> str:
    """``<Dial>`` one agent: ``client:IDENTITY`` (Twilio Client), ``sip:...``, or a number.
    ``action_url`` hears how it went (``DialCallStatus``) when the dialled leg ends."""
    if to.startswith("client:"):
        target = _verb("Client", to.removeprefix("client:"))
    elif to.startswith("sip:"):
        target = _verb("Sip", to)
    else:
        target = _verb("Number", to)
    dial = _verb("Dial", None, target, action=action_url, method="POST", timeout=timeout_secs)
    return _document(dial)


def hold_twiml(music_url: str, *, message: str | None = None, voice: str | None = None) -> str:
    """What a waiting caller hears: an optional message, then the hold audio once (Twilio
    fetches the wait URL again when it ends)."""
    verbs = [_say(message, voice)] if message else []
    return _document(*verbs, _verb("Play", music_url))


def leave_queue_twiml() -> str:
    """``<Leave/>``: the caller leaves the queue and the ``<Enqueue>``'s action URL runs."""
    return _document(_verb("Leave"))


def dequeue_twiml(queue: str, *, announce_url: str | None = None) -> str:
    """For the agent's leg: ``<Dial><Queue>`` bridges them to the caller waiting longest (or
    waits, up to the dial's timeout, for the next). ``announce_url``'s TwiML is played to
    the *caller* just before the bridge (Twilio's ``<Queue url>``)."""
    return _document(_verb("Dial", None, _verb("Queue", queue, url=announce_url, method="POST")))


def say_twiml(text: str, *, voice: str | None = None, hang_up: bool = False) -> str:
    """Say something; then hang up, or (without ``hang_up``) go on to what comes next."""
    verbs = [_say(text, voice)]
    if hang_up:
        verbs.append(_verb("Hangup"))
    return _document(*verbs)


def hang_up_twiml() -> str:
    return _document(_verb("Hangup"))


def gather_twiml(
    prompt: str,
    *,
    action_url: str,
    no_input_url: str,
    voice: str | None = None,
    num_digits: int | None = None,
    finish_on_key: str | None = None,
    hints: str | None = None,
    timeout_secs: int = 6,
) -> str:
    """Ask by speech or keypad: the answer goes to ``action_url`` (``Digits`` or
    ``SpeechResult``); with no answer Twilio falls through to ``no_input_url``."""
    gather = _verb(
        "Gather",
        None,
        _say(prompt, voice),
        input="dtmf speech",
        action=action_url,
        method="POST",
        numDigits=num_digits,
        finishOnKey=finish_on_key,
        hints=hints,
        timeout=timeout_secs,
        speechTimeout="auto",
    )
    return _document(gather, _verb("Redirect", no_input_url, method="POST"))


def voicemail_twiml(
    *,
    action_url: str,
    status_url: str,
    max_secs: int = 120,
    voice: str | None = None,
    prompt: str = "Please leave your name, number and message after the tone. "
    "Press the hash key or hang up when you're done.",
) -> str:
    """``<Record>`` a message. ``status_url`` hears when the recording is ready (its URL and
    length); ``action_url`` runs after the caller finishes. An empty recording falls through
    to the goodbye."""
    record = _verb(
        "Record",
        action=action_url,
        method="POST",
        maxLength=max_secs,
        finishOnKey="#",
        playBeep=True,
        recordingStatusCallback=status_url,
        recordingStatusCallbackMethod="POST",
    )
    goodbye = _say("We didn't get a message. Goodbye.", voice)
    return _document(_say(prompt, voice), record, goodbye, _verb("Hangup"))


def signature_is_valid(auth_token: str, url: str, form: dict[str, str], signature: str) -> bool:
    """Twilio's HMAC-SHA1 over the full URL and the sorted form parameters."""
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, form, signature)
