"""Call control over Twilio's REST API (hang-up now; transfer arrives with the handoff work).

Twilio's Python library is synchronous, so we speak the two REST calls we need with httpx.
Errors are logged and reported as ``False``: a failed hang-up must not break the server, and
Twilio ends the call anyway once the stream closes and the TwiML runs out.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from loguru import logger

TWILIO_API = "https://api.twilio.com"


class CallControl(Protocol):
    async def hang_up(self, call_sid: str) -> bool: ...


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
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    self._call_url(call_sid), data={"Status": "completed"}, auth=self._auth
                )
        except httpx.HTTPError as e:
            logger.error(f"hang-up of {call_sid} failed: {e.__class__.__name__}: {e}")
            return False
        if response.status_code == 200:
            logger.info(f"hung up {call_sid} over the REST API")
            return True
        if response.status_code == 404:
            logger.info(f"{call_sid} had already ended")
            return True
        logger.error(f"hang-up of {call_sid} failed: HTTP {response.status_code} {response.text}")
        return False
