"""Helpers for the browser tests: launching Debian's Chromium, signing in through the form,
seeding calls (turns, latency, sources, a recording) for the review pages."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from console_support import PASSWORD

from switchboard.records import CallStore
from voice.audio import interleave_stereo, load_audio, save_wav

CHROMIUM = Path(os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1280, "height": 800}
FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


def launch(driver, *extra_args: str):
    """Debian's Chromium, headless, with a fake microphone that needs no permission prompt."""
    return driver.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*FAKE_MEDIA, "--autoplay-policy=no-user-gesture-required", *extra_args],
    )


def sign_in(page, base: str, name: str, then: str = "/console", password: str = PASSWORD):
    """Sign in through the HTML form and land on ``then``."""
    page.goto(f"{base}/signin?next={then}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}")


# --- seeded calls --------------------------------------------------------------------------

LDC93S1 = (
    Path(__file__).resolve().parent.parent / "data" / "ldc93s1" / "LDC93S1_pcms16le_1_8000.wav"
)
"""A man's voice, 8 kHz: the caller's side of the seeded recording."""


@dataclass(frozen=True)
class SeedCall:
    call_id: str
    hours_ago: float
    outcome: str
    intent: str
    sentiment: str
    turns: tuple[tuple[str, str], ...]
    agent: str | None = None
    recorded: bool = False


SEED_CALLS = (
    SeedCall(
        "CA-hours",
        1,
        "bot",
        "branch_hours",
        "neutral",
        (
            ("bot", "Thanks for calling Northwind Bank. How can I help?"),
            ("caller", "What time does the Elm Street branch open on Saturday?"),
            ("bot", "The Elm Street branch is open on Saturday, 9 am to 1 pm."),
            ("caller", "That's all, thanks."),
            ("bot", "You're welcome. Goodbye."),
        ),
        recorded=True,
    ),
    SeedCall(
        "CA-card",
        2,
        "handoff",
        "lost_card",
        "negative",
        (
            ("bot", "Thanks for calling Northwind Bank. How can I help?"),
            ("caller", "I lost my debit card and I see a payment I didn't make."),
            ("bot", "I'm sorry to hear that. I'll put you through to a colleague now."),
        ),
        agent="ana",
    ),
    SeedCall(
        "CA-balance",
        3,
        "bot",
        "balance",
        "positive",
        (
            ("bot", "Thanks for calling Northwind Bank. How can I help?"),
            ("caller", "What's my balance?"),
            ("bot", "Your checking balance is 1,204 dollars and 50 cents."),
        ),
    ),
    SeedCall(
        "CA-dispute",
        4,
        "abandoned",
        "dispute",
        "negative",
        (
            ("bot", "Thanks for calling Northwind Bank. How can I help?"),
            ("caller", "I want to dispute a charge from a hotel."),
            ("bot", "I'll connect you with someone who can open a dispute."),
        ),
    ),
    SeedCall(
        "CA-loan",
        5,
        "callback",
        "loan",
        "neutral",
        (
            ("bot", "Thanks for calling Northwind Bank. How can I help?"),
            ("caller", "Can someone call me back about a mortgage?"),
            ("bot", "Of course. What number should we call you on?"),
        ),
    ),
)
TURN_MS = 2000
"""Each seeded turn lasts two seconds; the seeded recording matches."""


def seed_calls(calls: CallStore, recordings: Path, now: datetime | None = None) -> None:
    """The calls of ``SEED_CALLS``, started today, with latency on bot turns, sources on
    answers, and a two-channel recording for the ones marked ``recorded``."""
    now = now or datetime.now(UTC)
    for seed in SEED_CALLS:
        started = now - timedelta(hours=seed.hours_ago)
        calls.start_call(
            seed.call_id, call_sid=seed.call_id, from_number="+15550104477", started_at=started
        )
        for n, (speaker, text) in enumerate(seed.turns):
            bot = speaker == "bot"
            answer = bot and n > 0
            calls.add_turn(
                seed.call_id,
                speaker,
                text,
                started_ms=n * TURN_MS,
                ended_ms=n * TURN_MS + TURN_MS - 200,
                latency=(
                    {
                        "total_ms": 640.0 + 35 * n,
                        "stt_ms": 180.0,
                        "dialogue_ms": 95.0,
                        "tts_ms": 210.0,
                    }
                    if answer
                    else None
                ),
                meta=(
                    {"intent": seed.intent, "action": "answer", "sources": ["branches/elm-street"]}
                    if n == 2 and seed.call_id == "CA-hours"
                    else None
                ),
            )
        path = None
        if seed.recorded:
            path = str(recording(recordings / f"{seed.call_id}.wav", len(seed.turns) * TURN_MS))
        calls.set_call_fields(
            seed.call_id,
            outcome=seed.outcome,
            intent=seed.intent,
            sentiment=seed.sentiment,
            agent=seed.agent,
        )
        calls.end_call(
            seed.call_id,
            reason="caller hung up",
            recording_path=path,
            ended_at=started + timedelta(milliseconds=len(seed.turns) * TURN_MS),
        )


def latency(n: int) -> dict[str, float]:
    return {"total_ms": 640.0 + 35 * n, "stt_ms": 180.0, "dialogue_ms": 95.0, "tts_ms": 210.0}


def recording(path: Path, duration_ms: int) -> Path:
    """A two-channel 8 kHz WAV: a voice on the caller's channel (left), a soft tone on the
    bot's (right)."""
    samples = duration_ms * 8
    voice = load_audio(LDC93S1, 8000).pcm
    left = np.zeros(samples, dtype="<i2")
    speech = np.frombuffer(voice, dtype="<i2")[: samples - 2 * 8 * TURN_MS]
    left[8 * TURN_MS : 8 * TURN_MS + len(speech)] = speech
    t = np.arange(samples) / 8000
    right = (2000 * np.sin(2 * np.pi * 330 * t)).astype("<i2")
    right[8 * TURN_MS : 2 * 8 * TURN_MS] = 0
    return save_wav(path, interleave_stereo(left.tobytes(), right.tobytes()), 8000, channels=2)
