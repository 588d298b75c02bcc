"""The ``switchboard`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from loguru import logger


def _configure_logging(level: str) -> None:
    logger.remove()
    logger.add(sys.stderr, level=level.upper())


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from switchboard.app import create_app
    from switchboard.settings import get_settings

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    _configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", ws_max_size=2**20)
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    """Everything ``serve`` needs, made ready ahead of time: models located, FAQ checked."""
    from dialogue.faq import DEMO_FAQ, FAQError, load_faq
    from switchboard.settings import get_settings
    from voice.models import ModelNotFoundError, resolve_piper_voice, resolve_whisper_model

    settings = get_settings()
    _configure_logging("WARNING")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        whisper = resolve_whisper_model(settings.stt.model, settings.whisper_cache_dir)
        voice = resolve_piper_voice(settings.tts.voice)
        faq_path = settings.faq_path or DEMO_FAQ
        entries = load_faq(faq_path)
    except (ModelNotFoundError, FAQError) as e:
        print(f"switchboard prepare: {e}", file=sys.stderr)
        return 1
    print(f"speech-to-text: {whisper}")
    print(f"voice:          {voice}")
    print(f"FAQ:            {faq_path} ({len(entries)} entries)")
    print(f"data:           {settings.data_dir.resolve()}")
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from switchboard.engines import whisper_options
    from switchboard.settings import get_settings
    from voice.audio import AudioFileError, load_audio
    from voice.models import ModelNotFoundError
    from voice.stt import get_transcriber

    settings = get_settings()
    _configure_logging("WARNING")
    try:
        transcriber = get_transcriber(whisper_options(settings), settings.whisper_cache_dir)
    except ModelNotFoundError as e:
        print(f"switchboard transcribe: {e}", file=sys.stderr)
        return 1
    failed = 0
    for path in args.audio:
        try:
            audio = load_audio(path, 16000)
        except AudioFileError as e:
            print(json.dumps({"file": path, "error": str(e)}), flush=True)
            failed += 1
            continue
        result = transcriber.transcribe(audio)
        print(
            json.dumps(
                {
                    "file": path,
                    "text": result.text,
                    "audio_seconds": round(result.audio_seconds, 3),
                    "processing_seconds": round(result.processing_seconds, 3),
                }
            ),
            flush=True,
        )
    return 1 if failed else 0


def _cmd_say(args: argparse.Namespace) -> int:
    from switchboard.engines import piper_options
    from switchboard.settings import get_settings
    from voice.audio import save_wav
    from voice.tts import get_synthesizer

    settings = get_settings()
    _configure_logging("WARNING")
    started = time.monotonic()
    audio = get_synthesizer(piper_options(settings)).synthesize(args.text)
    save_wav(args.output, audio)
    print(
        json.dumps(
            {
                "file": str(args.output),
                "audio_seconds": round(audio.duration, 3),
                "processing_seconds": round(time.monotonic() - started, 3),
            }
        )
    )
    return 0


def _cmd_call(args: argparse.Namespace) -> int:
    from telephony.caller import SimulatedCaller

    _configure_logging("WARNING")
    for spec in args.audio:
        path = spec.split(":", 2)[-1] if spec.startswith("barge:") else spec
        if not spec.startswith(("dtmf:", "silence:")) and not Path(path).is_file():
            print(f"switchboard call: no such audio file: {path}", file=sys.stderr)
            return 2
    caller = SimulatedCaller(args.url, reply_timeout=args.reply_timeout)
    try:
        report = asyncio.run(caller.run(args.audio))
    except OSError as e:
        print(f"switchboard call: cannot connect to {args.url}: {e}", file=sys.stderr)
        return 1
    if args.record:
        caller.save_recording(args.record)
    print(json.dumps(report.to_dict()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (Twilio webhook + Media Streams)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_cmd_serve)

    prepare = sub.add_parser("prepare", help="locate models and data before serving")
    prepare.set_defaults(func=_cmd_prepare)

    transcribe = sub.add_parser("transcribe", help="transcribe audio files (one JSON line each)")
    transcribe.add_argument("audio", nargs="+")
    transcribe.set_defaults(func=_cmd_transcribe)

    say = sub.add_parser("say", help="speak text with the configured voice into a WAV")
    say.add_argument("text")
    say.add_argument("-o", "--output", type=Path, required=True)
    say.set_defaults(func=_cmd_say)

    call = sub.add_parser(
        "call",
        help="simulated caller over the Media Streams protocol",
        description="Each AUDIO is one caller turn; also dtmf:DIGITS, silence:SECONDS, "
        "barge:SECONDS:AUDIO (speak over the bot SECONDS after its reply starts).",
    )
    call.add_argument("audio", nargs="+")
    call.add_argument("--url", default="ws://127.0.0.1:8000/twilio/media")
    call.add_argument("--record", type=Path, help="save what the caller said and heard (WAV)")
    call.add_argument("--reply-timeout", type=float, default=15.0)
    call.set_defaults(func=_cmd_call)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
