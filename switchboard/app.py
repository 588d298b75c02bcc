"""The application factory: ``create_app(settings)`` wires settings, models and routes."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from loguru import logger

from console.auth import ROLES, require_role
from console.web import install_console
from switchboard.engines import dialogue_services, piper_options, whisper_options
from switchboard.kb_api import router as kb_router
from switchboard.records import CallStore
from switchboard.retention import purge_daily
from switchboard.settings import Settings, get_settings
from telephony.call_control import TwilioCallControl
from telephony.routes import router as twilio_router
from telephony.session import CallResources
from telephony.speech import PhraseCache
from voice.stt import get_transcriber
from voice.tts import get_synthesizer
from voice.turn import get_smart_turn


def load_resources(settings: Settings) -> CallResources:
    """Load every model once (seconds), warm them up, open the call store."""
    started = time.monotonic()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    transcriber = get_transcriber(whisper_options(settings), settings.whisper_cache_dir)
    transcriber.warm_up()
    synthesizer = get_synthesizer(piper_options(settings))
    synthesizer.warm_up()
    smart_turn = get_smart_turn() if settings.turn.end_of_turn == "smart_turn" else None
    dialogue = dialogue_services(settings)
    warming = dialogue.warm_up()  # the answerer's sentence vectors: in the background
    twilio = settings.twilio
    control = (
        TwilioCallControl(
            twilio.account_sid, twilio.auth_token.get_secret_value(), base_url=twilio.api_base_url
        )
        if twilio.can_control_calls
        else None
    )
    store = CallStore(settings.call_store_url)
    cut_off = store.end_unfinished_calls("service restarted during the call")
    if cut_off:
        logger.warning(f"{cut_off} call(s) were cut off by the last restart; marked ended")
    logger.info(
        f"models ready in {time.monotonic() - started:.1f} s "
        f"(stt {settings.stt.model}, voice {settings.tts.voice}, "
        f"end of turn {settings.turn.end_of_turn}, vad {settings.turn.vad})"
    )
    return CallResources(
        settings=settings,
        transcriber=transcriber,
        synthesizer=synthesizer,
        smart_turn=smart_turn,
        dialogue=dialogue,
        warming=warming,
        store=store,
        call_control=control,
        phrase_cache=PhraseCache(settings.tts.cache_pieces),
    )


def create_app(settings: Settings | None = None, resources: CallResources | None = None) -> FastAPI:
    """Build the service. Tests pass their own settings (and may share loaded resources)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.resources = resources or load_resources(settings)
        app.state.console.start(app.state.resources)
        purge = asyncio.create_task(
            purge_daily(settings.recordings_dir, settings.recording_retention_days)
        )
        try:
            yield
        finally:
            purge.cancel()
            app.state.console.stop()
            if resources is None:
                app.state.resources.close()
            if getattr(app.state, "knowledge", None) is not None:
                app.state.knowledge.close()

    app = FastAPI(title="Switchboard", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(twilio_router)
    # Knowledge search is for the people's side (the agent's copilot, supervisors, admins).
    app.include_router(kb_router, dependencies=[Depends(require_role(*ROLES))])
    install_console(app, settings)

    @app.get("/health", tags=["ops"])
    async def health() -> dict:
        res = getattr(app.state, "resources", None)
        return {"status": "ok", "active_calls": len(res.active_calls) if res else 0}

    return app
