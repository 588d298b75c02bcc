"""Recordings are kept for ``RECORDING_RETENTION_DAYS`` and then deleted.

A recording holds the caller's voice, which redaction cannot clean, so it is kept no
longer than the contact centre needs it for review (90 days by default; 0 keeps them).
The service purges at start-up and then once a day; the call records stay, without a
recording path.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from loguru import logger

DAY_SECS = 24 * 3600


def purge_recordings(folder: Path, days: int, *, now: float | None = None) -> list[Path]:
    """Delete the WAV files in ``folder`` last written more than ``days`` ago; returns them.
    A file that cannot be deleted is logged and left for the next purge."""
    if days <= 0 or not folder.is_dir():
        return []
    cutoff = (now if now is not None else time.time()) - days * DAY_SECS
    removed = []
    for path in folder.glob("*.wav"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError as e:
            logger.warning(f"recording {path.name} not purged: {e}")
    if removed:
        logger.info(f"purged {len(removed)} recording(s) older than {days} days")
    return removed


async def purge_daily(folder: Path, days: int) -> None:
    """Purge now and then every day, until cancelled (the service's lifespan does)."""
    while True:
        await asyncio.to_thread(purge_recordings, folder, days)
        await asyncio.sleep(DAY_SECS)
