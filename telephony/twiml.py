"""TwiML for incoming calls and Twilio request signatures."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from twilio.request_validator import RequestValidator


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


def signature_is_valid(auth_token: str, url: str, form: dict[str, str], signature: str) -> bool:
    """Twilio's HMAC-SHA1 over the full URL and the sorted form parameters."""
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, form, signature)
