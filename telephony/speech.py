"""The text-to-speech stage: a reply in, 8 kHz speech and Twilio marks out.

Replies are spoken sentence by sentence, and a long first sentence is cut at a comma, so
the caller hears the start of the answer while the rest is still being synthesised. Before
each piece's audio goes a ``mark`` named ``bot:<turn>:<n>:<text>``, and after the last a
``bot:<turn>:end``. Twilio echoes each mark when the audio before it has played, so an echo
means "piece n has started playing" (or, for ``end``, "the whole reply was heard"); the
simulated caller reads the bot's words from these names.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    OutputTransportMessageFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from telephony.frames import BotReplyFrame
from telephony.journal import CallJournal
from voice.audio import StreamResampler
from voice.tts import PiperSynthesizer, split_sentences

FIRST_PIECE_MAX_WORDS = 9
_CLAUSE = re.compile(r",\s+")


def speakable_pieces(text: str) -> list[str]:
    """Sentences, with a long first sentence split at its first comma after a few words."""
    sentences = split_sentences(text)
    if not sentences:
        return []
    first = sentences[0]
    if len(first.split()) > FIRST_PIECE_MAX_WORDS:
        for match in _CLAUSE.finditer(first):
            head = first[: match.start() + 1]
            if len(head.split()) >= 4:
                return [head, first[match.end() :], *sentences[1:]]
    return sentences


def mark_name(turn_id: int, index: int | None, text: str = "") -> str:
    """``bot:<turn>:<n>:<text>`` for a spoken piece, ``bot:<turn>:end`` after the last."""
    return f"bot:{turn_id}:end" if index is None else f"bot:{turn_id}:{index}:{text}"


def parse_mark(name: str) -> tuple[int, int | None, str] | None:
    """The (turn, piece index or None for end, text) of a bot mark; None for other marks."""
    parts = name.split(":", 3)
    if len(parts) < 3 or parts[0] != "bot" or not parts[1].isdigit():
        return None
    if parts[2] == "end":
        return int(parts[1]), None, ""
    if not parts[2].isdigit():
        return None
    return int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else ""


def is_reply_end_mark(name: str) -> bool:
    parsed = parse_mark(name)
    return parsed is not None and parsed[1] is None


class PhraseCache:
    """Line-rate audio of pieces already spoken, shared by every call in the process.

    Contact-centre replies repeat (greetings, "anything else?", the popular answers), so a
    cached piece starts playing at once instead of after its synthesis.
    """

    def __init__(self, max_pieces: int = 512):
        self._max = max_pieces
        self._audio: OrderedDict[str, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> bytes | None:
        audio = self._audio.get(text)
        if audio is None:
            self.misses += 1
            return None
        self.hits += 1
        self._audio.move_to_end(text)
        return audio

    def put(self, text: str, audio: bytes) -> None:
        if self._max <= 0:
            return
        self._audio[text] = audio
        self._audio.move_to_end(text)
        while len(self._audio) > self._max:
            self._audio.popitem(last=False)


class SpeechProcessor(FrameProcessor):
    """Speaks ``BotReplyFrame``s with the shared Piper voice."""

    def __init__(
        self,
        synthesizer: PiperSynthesizer,
        journal: CallJournal,
        make_mark: Callable[[str], dict],
        *,
        sample_rate: int = 8000,
        cache: PhraseCache | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._synth = synthesizer
        self._cache = cache
        self._journal = journal
        self._make_mark = make_mark
        self._rate = sample_rate
        self._speaking_turn: int | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, BotReplyFrame):
            await self._speak(frame)
            return
        if isinstance(frame, InterruptionFrame) and self._speaking_turn is not None:
            self._journal.add_turn("system", f"[caller interrupted reply {self._speaking_turn}]")
            self._speaking_turn = None
        await self.push_frame(frame, direction)

    async def _speak(self, frame: BotReplyFrame) -> None:
        reply = frame.reply
        started = time.monotonic()
        self._speaking_turn = frame.turn_id
        await self.push_frame(TTSStartedFrame())
        first_audio_at: float | None = None
        said: list[str] = []
        index = -1
        async for piece in _pieces(reply):
            if self._speaking_turn != frame.turn_id:
                break  # the caller interrupted: stop pulling sentences from the model
            index += 1
            said.append(piece)
            await self.push_frame(
                OutputTransportMessageFrame(
                    message=self._make_mark(mark_name(frame.turn_id, index, piece))
                )
            )
            cached = self._cache.get(piece) if self._cache is not None else None
            chunks = _cached(cached) if cached is not None else self._synthesize(piece)
            spoken = bytearray()
            try:
                async for audio in chunks:
                    if not audio:
                        continue
                    if first_audio_at is None:
                        first_audio_at = time.monotonic()
                        if reply.stream is None:
                            self._journal_reply(frame, started, first_audio_at)
                    spoken += audio
                    await self.push_frame(
                        TTSAudioRawFrame(audio=audio, sample_rate=self._rate, num_channels=1)
                    )
            except Exception as e:  # noqa: BLE001 - one unspeakable piece must not end the call
                logger.error(f"{self}: could not speak {piece!r}: {e.__class__.__name__}: {e}")
                continue
            if cached is None and self._cache is not None and spoken:
                self._cache.put(piece, bytes(spoken))
        if reply.stream is not None:  # a streamed reply is known once it has been said
            self._journal_reply(frame, started, first_audio_at, " ".join(said))
        elif first_audio_at is None:
            self._journal_reply(frame, started, None)
        await self.push_frame(
            OutputTransportMessageFrame(message=self._make_mark(mark_name(frame.turn_id, None)))
        )
        await self.push_frame(TTSStoppedFrame())
        self._speaking_turn = None

    async def _synthesize(self, text: str):
        """Piper's audio for ``text`` at the line rate, as it is produced."""
        resampler = StreamResampler(self._synth.sample_rate, self._rate)
        async for pcm in _in_thread(self._synth.synthesize_stream(text)):
            yield resampler.process(pcm)
        yield resampler.flush()

    def _journal_reply(
        self,
        frame: BotReplyFrame,
        started: float,
        first_audio: float | None,
        text: str | None = None,
    ):
        latency = dict(frame.timings)
        if first_audio is not None:
            latency["tts_first_audio_ms"] = (first_audio - started) * 1000
            if frame.speech_ended_at is not None:
                latency["total_ms"] = (first_audio - frame.speech_ended_at) * 1000
        reply = frame.reply
        self._journal.add_turn(
            "bot",
            reply.text if text is None else text,
            started_at=first_audio or started,
            latency=latency or None,
            meta={
                "turn": frame.turn_id,
                "action": reply.action,
                "intent": reply.intent,
                "sources": list(reply.sources),
            },
        )


async def _pieces(reply):
    """The reply's speakable pieces: from its text, or sentence by sentence as its stream
    (a language model) produces them."""
    if reply.stream is None:
        for piece in speakable_pieces(reply.text):
            yield piece
        return
    try:
        async for sentence in _in_thread(reply.stream):
            for piece in speakable_pieces(sentence):
                yield piece
    finally:
        close = getattr(reply.stream, "close", None)
        if close is not None:
            try:
                close()  # stop the model when the caller stops listening
            except ValueError:  # still running in its thread; it ends when collected
                pass


async def _cached(audio: bytes):
    yield audio


async def _in_thread(iterator: Iterator[bytes]):
    """Drive a blocking iterator from a worker thread, one item at a time."""
    done = object()
    while True:
        item = await asyncio.to_thread(next, iterator, done)
        if item is done:
            logger.trace("synthesis finished")
            return
        yield item
