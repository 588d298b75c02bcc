"""The call's journal: transcript, per-turn latency and recording, kept as the call goes.

Each turn is written to the call-record store as soon as it is known (in a thread, so the
event loop never waits on the database); a crash mid-call loses at most the turn in flight.
Personal data (card and account numbers, PINs, phone numbers, e-mail addresses, long digit
strings, also spoken as words) is redacted before a turn is kept, logged or stored: the
dialogue works on the live words, the record never sees them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from loguru import logger

from switchboard.records import CallStore
from switchboard.redaction import redact, redact_mapping
from voice.audio import interleave_stereo, save_wav


class CallJournal:
    """Everything we keep about one call."""

    def __init__(self, store: CallStore | None, call_id: str, recordings_dir: Path | None):
        self.store = store
        self.call_id = call_id
        self.started_at = time.monotonic()
        self._recordings_dir = recordings_dir
        self._pending: set[asyncio.Task] = set()
        self.turns: list[dict] = []

    def ms(self, at: float | None = None) -> int:
        """Milliseconds since the call started."""
        return int(((at if at is not None else time.monotonic()) - self.started_at) * 1000)

    def add_turn(
        self,
        speaker: str,
        text: str,
        *,
        started_at: float | None = None,
        ended_at: float | None = None,
        latency: dict[str, float] | None = None,
        meta: dict | None = None,
    ) -> None:
        text = redact(text)
        meta = redact_mapping(meta) if meta else meta
        turn = {
            "speaker": speaker,
            "text": text,
            "started_ms": self.ms(started_at),
            "ended_ms": self.ms(ended_at) if ended_at is not None else None,
            "latency": {k: round(v, 1) for k, v in latency.items()} if latency else None,
            "meta": meta,
        }
        self.turns.append(turn)
        if latency:
            parts = " ".join(f"{k}={v:.0f}" for k, v in latency.items())
            logger.info(f"call {self.call_id} {speaker}: {text!r} [{parts}]")
        else:
            logger.info(f"call {self.call_id} {speaker}: {text!r}")
        if self.store is not None:
            self._spawn(asyncio.to_thread(self._write_turn, turn))

    def _write_turn(self, turn: dict) -> None:
        try:
            self.store.add_turn(self.call_id, **turn)
        except Exception as e:  # noqa: BLE001 - the call goes on without this turn
            logger.error(f"call {self.call_id}: could not store a turn: {e}")

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def save_recording(self, caller: bytes, bot: bytes, sample_rate: int) -> Path | None:
        """Two-channel WAV: the caller on the left, the bot on the right."""
        if self._recordings_dir is None or not (caller or bot):
            return None
        self._recordings_dir.mkdir(parents=True, exist_ok=True)
        path = self._recordings_dir / f"{self.call_id}.wav"
        save_wav(path, interleave_stereo(caller, bot), sample_rate=sample_rate, channels=2)
        return path
