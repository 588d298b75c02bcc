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
    """Everything ``serve`` needs, made ready ahead of time: models located, flows and the
    intent model checked, the demo knowledge base ingested."""
    from dialogue.flows import FLOWS_DIR, FlowError, load_flows
    from dialogue.intents import DEMO_INTENT_MODEL, IntentModelError, get_intent_model
    from switchboard.settings import get_settings
    from voice.models import ModelNotFoundError, resolve_piper_voice, resolve_whisper_model

    settings = get_settings()
    _configure_logging("WARNING")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        whisper = resolve_whisper_model(settings.stt.model, settings.whisper_cache_dir)
        voice = resolve_piper_voice(settings.tts.voice)
        flows_dir = settings.dialogue.flows_dir or FLOWS_DIR
        flows = load_flows(flows_dir)
        intents = get_intent_model(settings.dialogue.intent_model or DEMO_INTENT_MODEL)
    except (ModelNotFoundError, FlowError, IntentModelError) as e:
        print(f"switchboard prepare: {e}", file=sys.stderr)
        return 1
    print(f"speech-to-text: {whisper}")
    print(f"voice:          {voice}")
    print(f"flows:          {flows_dir} ({len(flows)} flows)")
    print(f"intents:        {len(intents.labels)} intents")
    print(f"data:           {settings.data_dir.resolve()}")
    from switchboard.cli_users import print_demo_users

    print_demo_users(settings)
    if args.skip_kb or settings.knowledge.default_collection != "demo_bank":
        return 0
    from knowledge.ingest import ingest
    from switchboard.engines import knowledge_store

    store = knowledge_store(settings)
    report = ingest(store, "demo_bank", [DEMO_KB], prune=True)
    for error in report.errors:
        print(str(error), file=sys.stderr)
    print(f"knowledge base: demo_bank: {report.summary()}")
    return 1 if report.errors else 0


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


DEMO_KB = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "demo_bank"


def _kb_store():
    from switchboard.engines import knowledge_store
    from switchboard.settings import get_settings

    _configure_logging("WARNING")
    return knowledge_store(get_settings())


def _cmd_kb_ingest(args: argparse.Namespace) -> int:
    from knowledge.ingest import ingest

    store = _kb_store()
    bar = None
    try:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="doc", file=sys.stderr, disable=not sys.stderr.isatty())
    except ImportError:
        pass

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    missing = [p for p in args.paths if not Path(p).exists()]
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    paths = [Path(p) for p in args.paths if Path(p).exists()]
    report = ingest(
        store, args.collection, paths, prune=args.prune and not missing, progress=progress
    )
    if bar is not None:
        bar.close()
    for error in report.errors:
        print(str(error), file=sys.stderr)
    print(f"{args.collection}: {report.summary()}")
    return 1 if report.errors or missing else 0


def _cmd_kb_search(args: argparse.Namespace) -> int:
    from knowledge.store import KnowledgeStoreError

    store = _kb_store()
    try:
        passages = store.search(
            args.collection, args.query, top_k=args.top_k, entity=args.entity, mode=args.mode
        )
    except KnowledgeStoreError as e:
        print(f"switchboard kb search: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(search_json(args.query, passages)))
        return 0
    for rank, p in enumerate(passages, 1):
        where = " > ".join(p.heading_path) or p.title
        print(f"{rank}. [{p.score:.3f}] {p.document_id} ({where})\n   {p.text[:200]}")
    return 0


def search_json(query: str, passages) -> dict:
    """The ``kb search --json`` and ``/api/kb/search`` shape."""
    return {
        "query": query,
        "results": [
            {
                "id": p.document_id,
                "chunk_id": p.chunk_id,
                "score": round(p.score, 6),
                "title": p.title,
                "text": p.text,
                "source": p.source,
            }
            for p in passages
        ],
    }


def _cmd_kb_list(args: argparse.Namespace) -> int:
    for c in _kb_store().list_collections():
        print(f"{c['name']}: {c['documents']} documents, {c['points']} chunks")
    return 0


def _cmd_kb_delete(args: argparse.Namespace) -> int:
    from knowledge.store import KnowledgeStoreError

    try:
        _kb_store().delete_collection(args.collection)
    except KnowledgeStoreError as e:
        print(f"switchboard kb delete: {e}", file=sys.stderr)
        return 1
    print(f"deleted {args.collection}")
    return 0


def _cmd_intents_train(args: argparse.Namespace) -> int:
    import csv

    from dialogue.intents import IntentModel, stratified_split
    from knowledge.embeddings import get_embedder

    _configure_logging("WARNING")
    try:
        with open(args.data, newline="") as f:
            rows = [(r["text"], r["label"]) for r in csv.DictReader(f)]
    except (OSError, KeyError) as e:
        print(
            f"switchboard intents train: {args.data}: needs text,label columns ({e})",
            file=sys.stderr,
        )
        return 1
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    embedder = get_embedder()
    embeddings = embedder.embed(texts)
    train, test = stratified_split(labels, 0.2, seed=0)
    held_out = IntentModel.train(
        [texts[i] for i in train],
        [labels[i] for i in train],
        embedder=embedder,
        embeddings=embeddings[train],
    )
    guesses = held_out.classify([texts[i] for i in test], embeddings[test])
    correct = sum(g.best == labels[i] for g, i in zip(guesses, test, strict=True))
    accuracy = correct / max(len(test), 1)
    model = IntentModel.train(
        texts, labels, unknown_below=args.unknown_below, embedder=embedder, embeddings=embeddings
    )
    print(f"held-out accuracy: {accuracy:.4f} ({len(test)} of {len(texts)} examples)")
    print(f"model: {model.save(args.out)} ({len(model.labels)} intents)")
    return 0


def _cmd_intents_classify(args: argparse.Namespace) -> int:
    from dialogue.intents import DEMO_INTENT_MODEL, IntentModelError, get_intent_model

    _configure_logging("WARNING")
    try:
        model = get_intent_model(args.model or DEMO_INTENT_MODEL)
    except IntentModelError as e:
        print(f"switchboard intents classify: {e}", file=sys.stderr)
        return 1
    for line in sys.stdin:
        if text := line.strip():
            p = model.classify([text])[0]
            row = {"text": p.text, "intent": p.intent, "confidence": round(p.confidence, 4)}
            print(json.dumps(row), flush=True)
    return 0


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from switchboard.records import upgrade
    from switchboard.settings import get_settings

    url = get_settings().call_store_url
    try:
        upgrade(url)
    except Exception as e:  # noqa: BLE001 - one line for the operator, not a traceback
        print(f"switchboard db upgrade: {e.__class__.__name__}: {e}", file=sys.stderr)
        return 1
    print(f"call store at the newest schema: {url.split('@')[-1]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (Twilio webhook + Media Streams)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_cmd_serve)

    prepare = sub.add_parser("prepare", help="locate models, ingest the demo knowledge base")
    prepare.add_argument("--skip-kb", action="store_true", help="leave the knowledge base")
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
    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb", required=True)
    kb_ingest = kb.add_parser("ingest", help="ingest files and folders (incremental)")
    kb_ingest.add_argument("paths", nargs="+")
    kb_ingest.add_argument("--collection", required=True)
    kb_ingest.add_argument(
        "--prune", action="store_true", help="delete documents that are no longer in PATHS"
    )
    kb_ingest.set_defaults(func=_cmd_kb_ingest)
    kb_search = kb.add_parser("search", help="hybrid search")
    kb_search.add_argument("query")
    kb_search.add_argument("--collection", required=True)
    kb_search.add_argument("--top-k", type=int, default=5)
    kb_search.add_argument("--entity", default=None)
    kb_search.add_argument("--mode", choices=["hybrid", "dense", "sparse"], default="hybrid")
    kb_search.add_argument("--json", action="store_true")
    kb_search.set_defaults(func=_cmd_kb_search)
    kb.add_parser("list", help="collections").set_defaults(func=_cmd_kb_list)
    kb_delete = kb.add_parser("delete", help="delete a collection")
    kb_delete.add_argument("--collection", required=True)
    kb_delete.set_defaults(func=_cmd_kb_delete)
    intents = sub.add_parser("intents", help="the intent classifier")
    intents = intents.add_subparsers(dest="intents", required=True)
    intents_train = intents.add_parser("train", help="train a model on a text,label CSV")
    intents_train.add_argument("data")
    intents_train.add_argument("--out", type=Path, required=True)
    intents_train.add_argument("--unknown-below", type=float, default=0.5)
    intents_train.set_defaults(func=_cmd_intents_train)
    intents_classify = intents.add_parser("classify", help="classify stdin lines (JSON lines)")
    intents_classify.add_argument("--model", default=None, help="default: the demo bank model")
    intents_classify.set_defaults(func=_cmd_intents_classify)

    db = sub.add_parser("db", help="the call-record store").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="migrate the store to the newest schema").set_defaults(
        func=_cmd_db_upgrade
    )

    from switchboard.cli_dialogue import add_commands
    from switchboard.cli_users import add_commands as add_user_commands

    add_commands(sub)
    add_user_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
