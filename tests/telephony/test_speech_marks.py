"""How replies are cut for speaking, and the mark names that carry their text."""

from __future__ import annotations

from telephony.speech import is_reply_end_mark, mark_name, parse_mark, speakable_pieces


def test_long_first_sentence_is_cut_at_a_comma():
    pieces = speakable_pieces(
        "Our branches are open Monday to Friday from 9 am to 5 pm, and Saturday from 9 am "
        "to 1 pm. They are closed on Sundays."
    )
    assert pieces == [
        "Our branches are open Monday to Friday from 9 am to 5 pm,",
        "and Saturday from 9 am to 1 pm.",
        "They are closed on Sundays.",
    ]


def test_short_sentences_stay_whole():
    assert speakable_pieces("Hello! How can I help, today?") == ["Hello!", "How can I help, today?"]
    assert speakable_pieces("") == []


def test_mark_names_round_trip():
    assert parse_mark(mark_name(3, 1, "Yes: at 9 am.")) == (3, 1, "Yes: at 9 am.")
    assert parse_mark(mark_name(3, None)) == (3, None, "")
    assert is_reply_end_mark("bot:3:end")
    for other in ("greeting", "bot:x:end", "bot:3:nope", "", "bot:3"):
        assert parse_mark(other) is None
        assert not is_reply_end_mark(other)


async def test_a_piece_that_fails_to_synthesise_is_skipped_and_the_reply_goes_on():
    from pipecat.frames.frames import OutputTransportMessageFrame, TTSAudioRawFrame
    from pipecat.tests.utils import run_test

    from dialogue.types import Reply
    from telephony.frames import BotReplyFrame
    from telephony.journal import CallJournal
    from telephony.speech import SpeechProcessor

    class FlakySynth:
        sample_rate = 8000

        def synthesize_stream(self, text):
            if "broken" in text:
                raise RuntimeError("voice failed")
            yield b"\x01\x00" * 800

    processor = SpeechProcessor(
        FlakySynth(),
        CallJournal(None, "CAtest", None),
        lambda name: {"event": "mark", "mark": {"name": name}},
    )
    reply = Reply("This is broken. This one works.", action="answer")
    down, _ = await run_test(
        processor, frames_to_send=[BotReplyFrame(reply=reply, turn_id=1)], expected_down_frames=None
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    marks = [f.message["mark"]["name"] for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert len(audio) >= 1
    assert marks == ["bot:1:0:This is broken.", "bot:1:1:This one works.", "bot:1:end"]


async def test_a_streamed_reply_is_spoken_sentence_by_sentence_and_journaled_whole():
    from pipecat.frames.frames import OutputTransportMessageFrame
    from pipecat.tests.utils import run_test

    from dialogue.types import Reply
    from telephony.frames import BotReplyFrame
    from telephony.journal import CallJournal
    from telephony.speech import SpeechProcessor

    class Synth:
        sample_rate = 8000

        def synthesize_stream(self, text):
            yield b"\x01\x00" * 400

    pulled: list[str] = []

    def model():  # a language model writing its answer
        for sentence in ("Wires cost 20 dollars.", "Incoming wires are free."):
            pulled.append(sentence)
            yield sentence

    journal = CallJournal(None, "CAtest", None)
    processor = SpeechProcessor(
        Synth(), journal, lambda name: {"event": "mark", "mark": {"name": name}}
    )
    reply = Reply("", action="answer", sources=("transfers/wire",), stream=model())
    down, _ = await run_test(
        processor, frames_to_send=[BotReplyFrame(reply=reply, turn_id=2)], expected_down_frames=None
    )
    marks = [f.message["mark"]["name"] for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert marks == [
        "bot:2:0:Wires cost 20 dollars.",
        "bot:2:1:Incoming wires are free.",
        "bot:2:end",
    ]
    assert pulled == ["Wires cost 20 dollars.", "Incoming wires are free."]
    bot = [t for t in journal.turns if t["speaker"] == "bot"]
    assert bot[-1]["text"] == "Wires cost 20 dollars. Incoming wires are free."
    assert bot[-1]["meta"]["sources"] == ["transfers/wire"]
