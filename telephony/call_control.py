"""Call control over Twilio's REST API: hang up, move the caller into a queue, or dial an agent.

Each action is one update of the live call (``POST .../Calls/{sid}.json``): ``Status`` to hang
up, ``Twiml`` to replace what the call is doing. Replacing the call's TwiML ends its Media
Stream (Twilio sends ``stop`` and closes the socket), so after a transfer the bot hears
nothing more. Twilio's Python library is synchronous, so we speak these calls with httpx.
Errors are logged and reported as ``False``, never raised into the call: a failed hang-up
must not break the server, and a failed transfer leaves the caller with the bot.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from loguru import logger

from telephony.twiml import dial_twiml, enqueue_twiml

TWILIO_API = "https://api.twilio.com"


class CallControl(Protocol):
    """What telephony can do to a live call, whoever carries it."""

    async def hang_up(self, call_sid: str) -> bool:
        """End the call. ``True`` once it is over (also when it already was)."""
        ...

    async def enqueue(self, call_sid: str, queue: str, *, wait_url: str, action_url: str) -> bool:
        """Put the caller in ``queue``; ``wait_url`` serves the hold TwiML, ``action_url`` is
        asked what to do when they leave it (bridged call over, timeout, hang-up)."""
        ...

    async def transfer(
        self, call_sid: str, to: str, *, action_url: str | None = None, timeout_secs: int = 30
    ) -> bool:
        """Connect the caller to ``to`` (a number, ``client:IDENTITY`` or ``sip:...``)."""
        ...


class TwilioCallControl:
    """Call control for one Twilio account."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 5.0,
    ):
        self._account = account_sid
        self._auth = (account_sid, auth_token)
        self._root = (base_url or TWILIO_API).rstrip("/")
        self._timeout = timeout

    def _call_url(self, call_sid: str) -> str:
        return f"{self._root}/2010-04-01/Accounts/{self._account}/Calls/{call_sid}.json"

    async def hang_up(self, call_sid: str) -> bool:
        """Set the call's status to ``completed``. An already-finished call counts as done."""
        status = await self._update(call_sid, {"Status": "completed"}, "hang-up")
        if status == 200:
            logger.info(f"hung up {call_sid} over the REST API")
            return True
        if status == 404:
            logger.info(f"{call_sid} had already ended")
            return True
        return False

    async def enqueue(self, call_sid: str, queue: str, *, wait_url: str, action_url: str) -> bool:
        """Redirect the live call to ``<Enqueue>`` TwiML: hold audio until an agent dequeues."""
        twiml = enqueue_twiml(queue, wait_url=wait_url, action_url=action_url)
        if not await self._redirect(call_sid, twiml, "enqueue"):
            return False
        logger.info(f"{call_sid} moved into the queue {queue!r}")
        return True

    async def transfer(
        self, call_sid: str, to: str, *, action_url: str | None = None, timeout_secs: int = 30
    ) -> bool:
        """Redirect the live call to ``<Dial>`` TwiML that rings ``to``."""
        twiml = dial_twiml(to, action_url=action_url, timeout_secs=timeout_secs)
        if not await self._redirect(call_sid, twiml, "transfer"):
            return False
        logger.info(f"{call_sid} transferred to {to}")
        return True

    async def _redirect(self, call_sid: str, twiml: str, what: str) -> bool:
        status = await self._update(call_sid, {"Twiml": twiml}, what)
        if status == 404:
            logger.warning(f"{what} of {call_sid}: the call has already ended")
        return status == 200

    async def _update(self, call_sid: str, data: dict[str, str], what: str) -> int | None:
        """POST an update of the call; the HTTP status, or ``None`` if Twilio was not reached.
        Failures other than 404 (the call is over; the caller decides what that means) are
        logged here."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._call_url(call_sid), data=data, auth=self._auth)
        except httpx.HTTPError as e:
            logger.error(f"{what} of {call_sid} failed: {e.__class__.__name__}: {e}")
            return None
        if response.status_code not in (200, 404):
            logger.error(
                f"{what} of {call_sid} failed: HTTP {response.status_code} {response.text[:300]}"
            )
        return response.status_code
