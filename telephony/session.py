"""One phone call: the Media Stream handshake, the per-call pipecat pipeline, and clean-up.

Models are loaded once per process (``CallResources``); a call builds only cheap per-call
objects (a VAD state machine, the dialogue state, the pipeline), so it is ready to listen a
few milliseconds after Twilio's ``start`` message.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import WebSocket, WebSocketDisconnect
from loguru import logger
from pipecat.frames.frames import CancelWorkerFrame, Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.workers.runner import WorkerRunner

from dialogue.manager import DialogueEvent, DialogueServices, HandoffRequested
from switchboard.records import CallStore
from switchboard.settings import Settings
from telephony.call_control import CallControl
from telephony.conversation import DialogueProcessor
from telephony.frames import CallStopFrame
from telephony.journal import CallJournal
from telephony.recorder import RECORDING_RATE, RecorderProcessor
from telephony.serializer import TwilioMediaSerializer
from telephony.speech import PhraseCache, SpeechProcessor
from telephony.transcriber import TranscriptionProcessor
from telephony.transfer import hand_over, public_base
from telephony.turns import CallerTurnProcessor, TurnOptions
from voice.stt import WhisperTranscriber
from voice.tts import PiperSynthesizer
from voice.turn import SmartTurnModel
from voice.vad import make_vad_analyzer

PIPELINE_IN_RATE = 16000
"""Whisper and Smart Turn want 16 kHz; the serializer converts Twilio's 8 kHz at the edge."""
PIPELINE_OUT_RATE = 8000
START_TIMEOUT_SECS = 10.0
MAX_BAD_MESSAGES_BEFORE_START = 20


@dataclass
class CallResources:
    """What every call shares: settings, loaded models, the dialogue's services (intents,
    knowledge, bank, flows), the call store, call control."""

    settings: Settings
    transcriber: WhisperTranscriber
    synthesizer: PiperSynthesizer
    smart_turn: SmartTurnModel | None
    dialogue: DialogueServices
    store: CallStore | None
    call_control: CallControl | None
    phrase_cache: PhraseCache = field(default_factory=PhraseCache)
    active_calls: dict[str, asyncio.Task] = field(default_factory=dict)
    warming: threading.Thread | None = None
    """Background warm-up still running after start-up (tests wait for it)."""
    handoff_listeners: list[Callable[[HandoffRequested], None]] = field(default_factory=list)
    """Called with each handoff decision (the console's queue subscribes here)."""

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.dialogue is not None:
            self.dialogue.close()


@dataclass(frozen=True, slots=True)
class StreamStart:
    """What Twilio's ``start`` message tells us about the call."""

    stream_sid: str
    call_sid: str | None
    account_sid: str | None
    parameters: dict[str, str]


class ProtocolError(Exception):
    """The peer did not speak the Media Streams protocol well enough to start a call."""


async def receive_start(websocket: WebSocket, timeout: float = START_TIMEOUT_SECS) -> StreamStart:
    """Read messages until ``start``; drop (and log) anything that comes before it."""
    bad = 0
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProtocolError(f"no start message within {timeout:.0f} s")
        try:
            raw = await asyncio.wait_for(websocket.receive_text(), remaining)
        except TimeoutError as e:
            raise ProtocolError(f"no start message within {timeout:.0f} s") from e
        except KeyError as e:  # a binary frame: starlette's receive_text finds no "text"
            raise ProtocolError("binary message before start") from e
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            bad += 1
            logger.warning(f"invalid message before start dropped: {raw[:80]!r}")
        elif message.get("event") == "start":
            start = message.get("start")
            sid = message.get("streamSid") or (start or {}).get("streamSid")
            if not isinstance(start, dict) or not isinstance(sid, str) or not sid:
                raise ProtocolError("start message without a streamSid")
            params = start.get("customParameters")
            return StreamStart(
                stream_sid=sid,
                call_sid=start.get("callSid"),
                account_sid=start.get("accountSid"),
                parameters={str(k): str(v) for k, v in params.items()}
                if isinstance(params, dict)
                else {},
            )
        elif message.get("event") == "stop":
            raise ProtocolError("stream stopped before it started")
        elif message.get("event") != "connected":
            bad += 1
            logger.warning(f"{message.get('event')!r} before start dropped")
        if bad >= MAX_BAD_MESSAGES_BEFORE_START:
            raise ProtocolError(f"{bad} unexpected messages before start")


class _CallStopWatcher(FrameProcessor):
    """Turns the stream's ``stop`` (or a broken protocol) into the end of the pipeline."""

    def __init__(self, on_stop, **kwargs):
        super().__init__(**kwargs)
        self._on_stop = on_stop

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, CallStopFrame):
            await self._on_stop(frame.reason)
            await self.push_frame(CancelWorkerFrame(reason=frame.reason), FrameDirection.UPSTREAM)
            return
        await self.push_frame(frame, direction)


async def run_call(websocket: WebSocket, resources: CallResources) -> None:
    """Serve one Media Stream on an accepted WebSocket until the call ends."""
    try:
        start = await receive_start(websocket)
    except ProtocolError as e:
        logger.warning(f"closing stream: {e}")
        await _close(websocket, 1008, str(e))
        return
    except WebSocketDisconnect:
        logger.info("peer left before the stream started")
        return

    settings = resources.settings
    call_id = start.call_sid or f"local-{uuid.uuid4().hex[:12]}"
    journal = CallJournal(resources.store, call_id, settings.recordings_dir)
    if resources.store is not None:
        try:
            await asyncio.to_thread(
                resources.store.start_call,
                call_id,
                call_sid=start.call_sid,
                stream_sid=start.stream_sid,
                from_number=start.parameters.get("from"),
                to_number=start.parameters.get("to"),
            )
        except ValueError:
            # A second stream for a call we know (a reconnect after a restart): keep adding
            # to the same record.
            logger.info(f"call {call_id} already recorded; continuing its record")
        except Exception as e:  # noqa: BLE001 - the caller is still served
            logger.error(f"call {call_id}: could not record its start: {e}")

    serializer = TwilioMediaSerializer(start.stream_sid, pipeline_sample_rate=PIPELINE_IN_RATE)
    transport = FastAPIWebsocketTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_in_sample_rate=PIPELINE_IN_RATE,
            audio_out_enabled=True,
            audio_out_sample_rate=PIPELINE_OUT_RATE,
            audio_out_10ms_chunks=2,
            audio_out_auto_silence=False,
            audio_out_end_silence_secs=0,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    turn = settings.turn
    vad = make_vad_analyzer(
        turn.vad,
        sample_rate=PIPELINE_IN_RATE,
        start_secs=turn.vad_start_secs,
        stop_secs=turn.vad_stop_secs,
        confidence=turn.vad_confidence,
        min_volume=turn.vad_min_volume,
        aggressiveness=turn.vad_aggressiveness,
    )
    turns = CallerTurnProcessor(
        vad,
        TurnOptions(
            end_of_turn=turn.end_of_turn,
            silence_timeout_secs=turn.silence_timeout_secs,
            smart_turn_max_wait_secs=turn.smart_turn_max_wait_secs,
            smart_turn_recheck_secs=turn.smart_turn_recheck_secs,
            smart_turn_threshold=turn.smart_turn_threshold,
            allow_barge_in=turn.allow_barge_in,
            min_barge_in_secs=turn.min_barge_in_secs,
            max_utterance_secs=turn.max_utterance_secs,
        ),
        smart_turn=resources.smart_turn if turn.end_of_turn == "smart_turn" else None,
    )

    def on_dialogue_event(event: DialogueEvent) -> None:
        if not isinstance(event, HandoffRequested):
            return
        summary = event.summary
        logger.info(f"call {call_id}: handoff ({summary.reason}): {summary.prose}")
        journal.add_turn("system", f"[handoff: {summary.reason}] {summary.prose}",
                         meta={"handoff": summary.to_dict()})  # fmt: skip
        for listener in resources.handoff_listeners:
            try:
                listener(event)
            except Exception as e:  # noqa: BLE001 - a listener must not break the call
                logger.exception(f"handoff listener failed: {e}")

    transfer = _Transfer(resources, journal, start.call_sid, websocket)
    dialogue = DialogueProcessor(
        resources.dialogue.conversation(
            call_id=call_id,
            caller_number=start.parameters.get("from"),
            on_event=on_dialogue_event,
            stream_answers=True,
        ),
        journal,
        idle_prompt_secs=turn.idle_prompt_secs,
        idle_prompts_before_hangup=turn.idle_prompts_before_hangup,
        on_handoff=transfer,
    )
    stop_reason: list[str] = []

    async def on_stop(reason: str) -> None:
        stop_reason.append(reason)
        if reason.startswith("protocol errors"):
            await _close(websocket, 1008, reason)

    recorder = RecorderProcessor()
    pipeline = Pipeline(
        [
            transport.input(),
            _CallStopWatcher(on_stop),
            turns,
            TranscriptionProcessor(resources.transcriber),
            dialogue,
            SpeechProcessor(
                resources.synthesizer,
                journal,
                serializer.mark,
                sample_rate=PIPELINE_OUT_RATE,
                cache=resources.phrase_cache,
            ),
            transport.output(),
            recorder,
        ]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=PIPELINE_IN_RATE, audio_out_sample_rate=PIPELINE_OUT_RATE
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        check_dangling_tasks=False,
    )

    @transport.event_handler("on_client_disconnected")
    async def _on_disconnected(_transport, _websocket):
        stop_reason.append("caller disconnected")
        await worker.cancel()

    logger.info(f"call {call_id} started (stream {start.stream_sid})")
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    try:
        await runner.run()
    finally:
        # A transfer already sent to Twilio ends the stream from its side too; whichever end
        # came first, wait for Twilio's answer to know whether the call is still ours.
        transferred = await transfer.outcome()
        reason = "handoff" if transferred else dialogue.end_reason
        reason = reason or (stop_reason[0] if stop_reason else "ended")
        if serializer.malformed_messages:
            logger.info(f"call {call_id}: {serializer.malformed_messages} bad messages dropped")
        await _finish(
            resources,
            journal,
            recorder,
            start,
            reason,
            hang_up=dialogue.end_reason is not None and not transferred,
            fields=dialogue.call_fields(),
        )


class _Transfer:
    """The call's move to a person, as the dialogue's ``on_handoff``.

    The REST request runs in its own task: if Twilio's ``stop`` (which the redirect itself
    causes) cancels the pipeline while we wait for the answer, the request still completes
    and :meth:`outcome` still knows whether the caller was moved.
    """

    def __init__(
        self,
        resources: CallResources,
        journal: CallJournal,
        call_sid: str | None,
        websocket: WebSocket,
    ):
        self._resources = resources
        self._journal = journal
        self._call_sid = call_sid
        self._base = public_base(
            resources.settings.twilio.public_url, websocket.url.scheme, websocket.headers
        )
        self._task: asyncio.Task[bool] | None = None

    async def __call__(self) -> bool:
        if self._task is None or self._task.done():  # the first try, or a retry after a failure
            self._task = asyncio.create_task(self._move(), name="handoff-transfer")
        return await asyncio.shield(self._task)

    async def outcome(self) -> bool:
        if self._task is None:
            return False
        try:
            return await self._task
        except Exception:  # noqa: BLE001 - _move logs its own failures
            return False

    async def _move(self) -> bool:
        settings = self._resources.settings.transfer
        moved = await hand_over(self._resources.call_control, self._call_sid, settings, self._base)
        if not moved:
            return False
        target = settings.dial_to if settings.mode == "dial" else f"the queue {settings.queue!r}"
        self._journal.add_turn(
            "system",
            f"[transferred to {target}]",
            meta={"transfer": {"mode": settings.mode, "to": target}},
        )
        store = self._resources.store
        if store is not None:
            try:
                await asyncio.to_thread(
                    store.set_call_fields, self._journal.call_id, outcome="handoff"
                )
            except Exception as e:  # noqa: BLE001 - the caller is on their way either way
                logger.error(f"call {self._journal.call_id}: outcome not recorded: {e}")
        return True


async def _finish(
    resources: CallResources,
    journal: CallJournal,
    recorder: RecorderProcessor,
    start: StreamStart,
    reason: str,
    *,
    hang_up: bool,
    fields: dict[str, str | None] | None = None,
) -> None:
    """Hang up if we ended the call; save the recording; close the call's record with what
    the supervisor's filters need (intent, sentiment; outcome "bot" unless a person took
    over or a callback was arranged)."""
    if hang_up and start.call_sid and resources.call_control is not None:
        await resources.call_control.hang_up(start.call_sid)
    await journal.flush()
    try:
        path = await asyncio.to_thread(
            journal.save_recording, bytes(recorder.caller), bytes(recorder.bot), RECORDING_RATE
        )
    except OSError as e:
        logger.error(f"call {journal.call_id}: recording not saved: {e}")
        path = None
    if resources.store is not None:
        try:
            await asyncio.to_thread(
                resources.store.end_call,
                journal.call_id,
                reason=reason,
                recording_path=str(path) if path else None,
            )
        except Exception as e:  # noqa: BLE001 - the call is over either way
            logger.error(f"call {journal.call_id}: could not close its record: {e}")
        try:
            await asyncio.to_thread(_close_fields, resources.store, journal.call_id, fields or {})
        except Exception as e:  # noqa: BLE001 - the call is over either way
            logger.error(f"call {journal.call_id}: could not set its outcome: {e}")
    logger.info(f"call {journal.call_id} ended: {reason}")


def _close_fields(store, call_id: str, fields: dict[str, str | None]) -> None:
    values = {k: v for k, v in fields.items() if v}
    record = store.get_call(call_id)
    if record is not None and record.outcome is None:
        values["outcome"] = "bot"  # nobody else took the call: the assistant handled it
    if values:
        store.set_call_fields(call_id, **values)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason[:120])
    except Exception:  # noqa: BLE001 - already closed
        pass
