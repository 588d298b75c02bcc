"""A simulated caller that speaks the Twilio Media Streams protocol, for tests and benchmarks.

It behaves like Twilio plus a person on a phone line: it sends ``connected`` and ``start``,
then 20 ms μ-law frames in real time, always, with silence between the caller's turns. It
plays the bot's audio on a simulated clock, echoes each ``mark`` when the audio before it has
played (and at once on ``clear``), and reads the bot's words from the mark names (see
``telephony.speech``). Turn scripts:

- ``PATH``: say this audio file once the bot's previous reply has been heard.
- ``dtmf:DIGITS``: press keys.
- ``silence:SECONDS``: say nothing for that long, listening.
- ``barge:SECONDS:PATH``: start speaking SECONDS after the bot's reply begins (barge-in).

Latency is from the end of the caller's speech in the file (found with webrtcvad) to the
first bot audio frame that arrives.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import webrtcvad
import websockets

from telephony.speech import parse_mark
from voice.audio import (
    AudioChunk,
    interleave_stereo,
    load_audio,
    save_wav,
    ulaw_decode,
    ulaw_encode,
)

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
SILENCE = b"\xff" * FRAME_SAMPLES  # μ-law silence


def speech_bounds(audio: AudioChunk) -> tuple[float, float]:
    """Seconds from the start of ``audio`` (8 kHz) to its first speech and its last."""
    vad = webrtcvad.Vad(2)
    frame_bytes = 2 * RATE * 30 // 1000
    first, last = None, 0.0
    for start in range(0, len(audio.pcm) - frame_bytes + 1, frame_bytes):
        if vad.is_speech(audio.pcm[start : start + frame_bytes], RATE):
            first = start / 2 / RATE if first is None else first
            last = (start + frame_bytes) / 2 / RATE
    return (first or 0.0), (last or audio.duration)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(np.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class TurnResult:
    caller_audio: str
    bot_text: str
    latency_ms: float | None
    barge_in_ms: float | None = None
    cleared: bool = False


@dataclass
class CallReport:
    turns: list[TurnResult]
    greeting_ms: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    greeting_text: str = ""
    hung_up_by_bot: bool = False
    close_code: int | None = None
    close_reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Reply:
    """What the caller has heard of the bot since a point in time."""

    since: float
    first_audio_at: float | None = None
    texts: list[str] = field(default_factory=list)
    turns_heard: set[int] = field(default_factory=set)
    ended_turns: set[int] = field(default_factory=set)

    @property
    def finished(self) -> bool:
        """The newest reply we heard of has been played to its end mark."""
        return bool(self.turns_heard) and max(self.turns_heard) in self.ended_turns


class SimulatedCaller:
    """One call to a Media Streams endpoint."""

    def __init__(
        self,
        url: str,
        *,
        reply_timeout: float = 15.0,
        greeting_timeout: float = 15.0,
        settle_secs: float = 0.4,
    ):
        self.url = url
        self.reply_timeout = reply_timeout
        self.greeting_timeout = greeting_timeout
        self.settle_secs = settle_secs
        self.stream_sid = f"MZ{uuid.uuid4().hex}"
        self.call_sid = f"CA{uuid.uuid4().hex}"
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._sent_samples = 0
        self._caller_track = bytearray()
        self._bot_track = bytearray()
        self._playout_end = 0.0
        self._pending_marks: list[tuple[float, str]] = []
        self._reply = _Reply(since=0.0)
        self._last_bot_audio = 0.0
        self._clear_at: float | None = None
        self._closed = asyncio.Event()
        self._we_closed = False
        self._server_closed = False
        self._ws = None

    # Wire ------------------------------------------------------------------------------

    async def _send(self, message: dict) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(json.dumps(message))

    async def _sender(self) -> None:
        """20 ms frames on a real-time clock; caller audio when queued, silence otherwise."""
        next_at = time.monotonic()
        while not self._closed.is_set():
            try:
                frame = self._outgoing.get_nowait()
            except asyncio.QueueEmpty:
                frame = SILENCE
            self._caller_track += ulaw_decode(frame)
            self._sent_samples += FRAME_SAMPLES
            payload = base64.b64encode(frame).decode()
            await self._send(
                {
                    "event": "media",
                    "streamSid": self.stream_sid,
                    "media": {"track": "inbound", "payload": payload},
                }
            )
            await self._echo_due_marks()
            next_at += FRAME_SAMPLES / RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _echo_due_marks(self, everything: bool = False) -> None:
        now = time.monotonic()
        due = [m for m in self._pending_marks if everything or m[0] <= now]
        self._pending_marks = [m for m in self._pending_marks if m not in due]
        for _, name in due:
            await self._send(
                {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}}
            )
            parsed = parse_mark(name)
            if parsed and parsed[1] is None:
                self._reply.ended_turns.add(parsed[0])

    async def _receiver(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                event = message.get("event")
                now = time.monotonic()
                if event == "media":
                    pcm = ulaw_decode(base64.b64decode(message["media"]["payload"]))
                    if self._reply.first_audio_at is None:
                        self._reply.first_audio_at = now
                    self._last_bot_audio = now
                    self._playout_end = max(self._playout_end, now) + len(pcm) / 2 / RATE
                    position = 2 * self._sent_samples
                    if len(self._bot_track) < position:
                        self._bot_track += bytes(position - len(self._bot_track))
                    self._bot_track += pcm
                elif event == "mark":
                    name = message["mark"]["name"]
                    parsed = parse_mark(name)
                    if parsed:
                        self._reply.turns_heard.add(parsed[0])
                        if parsed[1] is not None:
                            self._reply.texts.append(parsed[2])
                    self._pending_marks.append((max(self._playout_end, now), name))
                elif event == "clear":
                    self._clear_at = now
                    self._playout_end = now
                    await self._echo_due_marks(everything=True)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._server_closed = not self._we_closed
            self._closed.set()

    # Script ----------------------------------------------------------------------------

    def _listen(self) -> _Reply:
        self._reply = _Reply(since=time.monotonic())
        return self._reply

    async def _wait_reply_done(self, reply: _Reply, timeout: float, *, whole: bool = True) -> None:
        """Until the bot's reply has been played and nothing more comes, or the timeout.

        With ``whole=False``, only until the reply starts (the next turn will barge in).
        """
        deadline = reply.since + timeout
        while not self._closed.is_set() and time.monotonic() < deadline:
            if not whole and reply.first_audio_at is not None:
                return
            now = time.monotonic()
            heard = reply.first_audio_at is not None
            played = now >= self._playout_end and not self._pending_marks
            quiet = now - self._last_bot_audio >= self.settle_secs
            if heard and played and quiet and reply.finished:
                return
            await asyncio.sleep(0.02)

    async def _speak(self, audio: AudioChunk) -> tuple[float, float]:
        """Queue the audio; returns the monotonic times its speech will start and end."""
        ulaw = ulaw_encode(audio.pcm)
        frames = [ulaw[i : i + FRAME_SAMPLES] for i in range(0, len(ulaw), FRAME_SAMPLES)]
        if frames and len(frames[-1]) < FRAME_SAMPLES:
            frames[-1] += SILENCE[: FRAME_SAMPLES - len(frames[-1])]
        queued_at = time.monotonic() + self._outgoing.qsize() * FRAME_SAMPLES / RATE
        for frame in frames:
            self._outgoing.put_nowait(frame)
        first, last = speech_bounds(audio)
        return queued_at + first, queued_at + last

    async def _turn(self, spec: str, *, whole_reply: bool = True) -> tuple[TurnResult, _Reply]:
        """Play one turn; the reply's text is read at the end of the call (a barge-in turn
        goes on while marks of the reply it interrupts are still arriving)."""
        if spec.startswith("dtmf:"):
            reply = self._listen()
            for digit in spec[5:]:
                await self._send(
                    {
                        "event": "dtmf",
                        "streamSid": self.stream_sid,
                        "dtmf": {"track": "inbound_track", "digit": digit},
                    }
                )
            sent = time.monotonic()
            await self._wait_reply_done(reply, self.reply_timeout, whole=whole_reply)
            latency = (reply.first_audio_at - sent) * 1000 if reply.first_audio_at else None
            return TurnResult(spec, "", latency), reply
        if spec.startswith("silence:"):
            seconds = float(spec.split(":", 1)[1])
            reply = self._listen()
            end = time.monotonic() + seconds
            while time.monotonic() < end and not self._closed.is_set():
                await asyncio.sleep(0.05)
            return TurnResult(spec, "", None), reply
        barge_after = None
        path = spec
        if spec.startswith("barge:"):
            _, seconds, path = spec.split(":", 2)
            barge_after = float(seconds)
        audio = load_audio(path, RATE)
        if barge_after is not None:
            # The previous reply is still playing: wait until it has played for a while.
            previous = self._reply
            while previous.first_audio_at is None and not self._closed.is_set():
                await asyncio.sleep(0.01)
            if previous.first_audio_at is not None:
                await asyncio.sleep(
                    max(0.0, previous.first_audio_at + barge_after - time.monotonic())
                )
            self._clear_at = None
        speech_started, speech_end = await self._speak(audio)
        reply = _Reply(since=speech_end)
        await asyncio.sleep(max(0.0, speech_end - time.monotonic()))
        # Audio that arrives before the caller finished speaking belongs to the last reply.
        self._reply = reply
        reply.since = time.monotonic()
        await self._wait_reply_done(reply, self.reply_timeout, whole=whole_reply)
        latency = (reply.first_audio_at - speech_end) * 1000 if reply.first_audio_at else None
        result = TurnResult(Path(path).name, "", latency)
        if barge_after is not None:
            result.cleared = self._clear_at is not None
            if self._clear_at is not None:
                result.barge_in_ms = (self._clear_at - speech_started) * 1000
        return result, reply

    async def run(self, turns: list[str], *, hang_up: bool = True) -> CallReport:
        async with websockets.connect(self.url, max_size=2**22) as ws:
            self._ws = ws
            await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await self._send(
                {
                    "event": "start",
                    "sequenceNumber": "1",
                    "streamSid": self.stream_sid,
                    "start": {
                        "streamSid": self.stream_sid,
                        "accountSid": "ACsimulated",
                        "callSid": self.call_sid,
                        "tracks": ["inbound"],
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": RATE,
                            "channels": 1,
                        },
                        "customParameters": {"from": "+15550100", "to": "+15550199"},
                    },
                }
            )
            started = time.monotonic()
            receiver = asyncio.create_task(self._receiver())
            sender = asyncio.create_task(self._sender())
            greeting = self._listen()
            played: list[tuple[TurnResult, _Reply]] = []
            try:
                next_is_barge = bool(turns) and turns[0].startswith("barge:")
                if not next_is_barge:
                    await self._wait_reply_done(greeting, self.greeting_timeout)
                greeting_text = " ".join(greeting.texts)
                for index, spec in enumerate(turns):
                    if self._closed.is_set():
                        break
                    barge_next = index + 1 < len(turns) and turns[index + 1].startswith("barge:")
                    played.append(await self._turn(spec, whole_reply=not barge_next))
                if hang_up and not self._closed.is_set():
                    self._we_closed = True
                    await self._send(
                        {
                            "event": "stop",
                            "streamSid": self.stream_sid,
                            "stop": {"callSid": self.call_sid},
                        }
                    )
                    await asyncio.sleep(0.1)
            finally:
                self._we_closed = self._we_closed or not self._closed.is_set()
                self._closed.set()
                sender.cancel()
                with contextlib.suppress(Exception):
                    await ws.close()
                with contextlib.suppress(BaseException):
                    await receiver
                with contextlib.suppress(BaseException):
                    await sender
            results = []
            for result, reply in played:
                result.bot_text = " ".join(reply.texts)
                results.append(result)
            greeting_ms = (
                (greeting.first_audio_at - started) * 1000 if greeting.first_audio_at else None
            )
            latencies = [
                r.latency_ms
                for r in results
                if r.latency_ms is not None and not r.caller_audio.startswith("dtmf:")
            ]
            return CallReport(
                turns=results,
                greeting_ms=greeting_ms,
                p50_latency_ms=statistics.median(latencies) if latencies else None,
                p95_latency_ms=percentile(latencies, 95),
                greeting_text=greeting_text,
                hung_up_by_bot=self._server_closed,
                close_code=ws.close_code,
                close_reason=ws.close_reason,
            )

    def save_recording(self, path: Path) -> None:
        """Two channels: what the caller said (left) and what they heard (right)."""
        save_wav(
            path,
            interleave_stereo(bytes(self._caller_track), bytes(self._bot_track)),
            sample_rate=RATE,
            channels=2,
        )
