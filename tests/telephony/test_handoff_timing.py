"""The dialogue stage on a handoff: the call is moved only once the reply has been heard.

A scripted timeline of frames (the reply's audio sent, its marks echoed by "Twilio") against
a fake dialogue; ``on_handoff`` stands in for the REST redirect.
"""

from __future__ import annotations

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, EndWorkerFrame
from pipecat.tests.utils import SleepFrame, run_test

from dialogue.types import Reply
from telephony.conversation import TRANSFER_FAILED, DialogueProcessor
from telephony.frames import BotReplyFrame, CallerTextFrame, TwilioMarkFrame
from telephony.journal import CallJournal

HANDOFF = Reply("I'll connect you with one of my colleagues now.", action="handoff")
GOODBYE = Reply("Goodbye.", action="goodbye", intent="goodbye", end_call=True)


class FakeDialogue:
    def __init__(self, reply: Reply):
        self.reply = reply

    def greeting(self) -> Reply:
        return Reply("Hello.", action="greeting")

    def on_text(self, text: str) -> Reply:
        return self.reply

    def on_idle(self, prompts: int, max_prompts: int) -> Reply:
        return Reply("Are you still there?", action="prompt")


def processor(reply: Reply, on_handoff=None, grace: float = 5.0) -> DialogueProcessor:
    return DialogueProcessor(
        FakeDialogue(reply),
        CallJournal(None, "CAtest", None),
        idle_prompt_secs=60,
        hangup_grace_secs=grace,
        on_handoff=on_handoff,
    )


def timeline(events: list[str], *, end_mark: bool = True):
    """The caller asks; the reply (turn 2, after the greeting) is sent and played."""
    yield CallerTextFrame(text="I want to speak to a person")
    yield SleepFrame(sleep=0.1)
    yield BotStartedSpeakingFrame()
    yield TwilioMarkFrame(mark="bot:2:0:I'll connect you with one of my colleagues now.")
    yield SleepFrame(sleep=0.2)
    yield BotStoppedSpeakingFrame()  # all audio sent; Twilio is still playing it
    yield SleepFrame(sleep=0.4)
    if end_mark:
        events.append("end mark echoed")
        yield TwilioMarkFrame(mark="bot:2:end")
    yield SleepFrame(sleep=0.4)


def replies(frames) -> list[str]:
    return [f.reply.text for f in frames if isinstance(f, BotReplyFrame)]


async def test_the_call_is_moved_only_after_the_handoff_reply_was_heard():
    events: list[str] = []

    async def on_handoff() -> bool:
        events.append("moved")
        return True

    stage = processor(HANDOFF, on_handoff)
    down, _ = await run_test(stage, frames_to_send=timeline(events), expected_down_frames=None)
    assert events == ["end mark echoed", "moved"]
    assert stage.transferred and stage.end_reason == "handoff"
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["handoff"]


async def test_without_the_end_mark_the_grace_period_still_moves_the_call():
    events: list[str] = []

    async def on_handoff() -> bool:
        events.append("moved")
        return True

    stage = processor(HANDOFF, on_handoff, grace=0.3)
    await run_test(
        stage, frames_to_send=timeline(events, end_mark=False), expected_down_frames=None
    )
    assert events == ["moved"] and stage.transferred


async def test_a_failed_transfer_keeps_the_caller_with_the_bot_and_says_so():
    calls = []

    async def on_handoff() -> bool:
        calls.append(1)
        return False

    stage = processor(HANDOFF, on_handoff)
    down, _ = await run_test(stage, frames_to_send=timeline([]), expected_down_frames=None)
    assert calls == [1]
    assert not stage.transferred and stage.end_reason is None
    assert not [f for f in down if isinstance(f, EndWorkerFrame)]
    assert replies(down) == ["Hello.", HANDOFF.text, TRANSFER_FAILED.text]


async def test_an_exception_in_the_transfer_is_a_failed_transfer():
    async def on_handoff() -> bool:
        raise RuntimeError("boom")

    stage = processor(HANDOFF, on_handoff)
    down, _ = await run_test(stage, frames_to_send=timeline([]), expected_down_frames=None)
    assert replies(down)[-1] == TRANSFER_FAILED.text and not stage.transferred


async def test_goodbye_still_ends_the_call_without_a_transfer():
    calls = []

    async def on_handoff() -> bool:
        calls.append(1)
        return True

    stage = processor(GOODBYE, on_handoff)
    down, _ = await run_test(stage, frames_to_send=timeline([]), expected_down_frames=None)
    assert calls == [] and not stage.transferred
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["goodbye"]


class KeyingDialogue(FakeDialogue):
    """Waits for four keys, as a PIN request does; a pause after a lone 0 asks for a person."""

    def __init__(self):
        super().__init__(HANDOFF)
        self.keys = ""

    def on_dtmf(self, digit: str) -> Reply | None:
        self.keys += digit
        return None

    def on_keypad_pause(self) -> Reply | None:
        return HANDOFF if self.keys == "0" else None


async def test_a_pause_after_a_lone_0_at_the_pin_prompt_hands_the_caller_over():
    from pipecat.audio.dtmf.types import KeypadEntry
    from pipecat.frames.frames import InputDTMFFrame

    stage = DialogueProcessor(
        KeyingDialogue(), CallJournal(None, "CAtest", None), idle_prompt_secs=60,
        keypad_pause_secs=0.2,
    )  # fmt: skip
    frames = [InputDTMFFrame(button=KeypadEntry.ZERO), SleepFrame(sleep=0.5)]
    down, _ = await run_test(stage, frames_to_send=frames, expected_down_frames=None)
    assert replies(down) == ["Hello.", HANDOFF.text]
