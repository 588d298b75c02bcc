"""``switchboard chat``, ``replay`` and ``eval``: the dialogue manager on text alone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _services(collection: str | None):
    """The dialogue services, or a one-line reason why not (exit code 1)."""
    from loguru import logger

    from knowledge.store import KnowledgeStoreError
    from switchboard.engines import dialogue_services, knowledge_store
    from switchboard.settings import get_settings

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    settings = get_settings()
    name = collection or settings.knowledge.default_collection
    store = knowledge_store(settings)
    try:
        names = {c["name"] for c in store.list_collections()}
    except KnowledgeStoreError as e:
        store.close()
        raise SystemExit(f"switchboard: knowledge store unavailable: {e}") from e
    if name not in names:
        store.close()
        raise SystemExit(
            f"switchboard: knowledge base {name!r} not found; run `switchboard prepare` "
            f"(demo) or `switchboard kb ingest PATH --collection {name}`"
        )
    try:
        return dialogue_services(settings, store=store, collection=name)
    except (ValueError, OSError) as e:
        store.close()
        raise SystemExit(f"switchboard: {e}") from e


def cmd_chat(args: argparse.Namespace) -> int:
    services = _services(args.collection)
    try:
        return _chat(services)
    finally:
        services.close()


def _chat(services) -> int:
    manager = services.conversation(call_id="chat")
    print(f"assistant: {manager.greeting().text}")
    print("(type what the caller says; #1234 presses keys, an empty line is silence, Ctrl-D ends)")
    prompts = 0
    while True:
        try:
            line = input("you: ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line.startswith("#"):
            reply = None
            for key in line[1:].strip():
                reply = manager.on_dtmf(key) or reply
            reply = reply or manager.on_keypad_pause()  # the line ends the keys
            if reply is None:
                continue
        elif not line.strip():
            reply = manager.on_idle(prompts, 2)
            prompts += 1
        else:
            prompts = 0
            reply = manager.on_text(line)
        detail = f"[{reply.action}" + (f" {reply.intent}" if reply.intent else "")
        detail += f" sources: {', '.join(reply.sources)}]" if reply.sources else "]"
        print(f"assistant: {reply.text}  {detail}")
        if reply.action == "handoff":
            print(f"  handoff summary: {reply.meta['handoff']['prose']}")
        if reply.end_call:
            return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from dialogue.replay import ReplayError, read_conversation, replay

    try:
        with open(args.file, encoding="utf-8") as f:
            turns = read_conversation(f, args.file)
    except (OSError, UnicodeDecodeError, ReplayError) as e:
        print(f"switchboard replay: {e}", file=sys.stderr)
        return 1
    services = _services(args.collection)
    try:
        manager = services.conversation(call_id=f"replay:{args.file}")
        manager.greeting()
        for row in replay(manager, turns):
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        services.close()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from dialogue.replay import SCENARIOS_DIR, ReplayError, load_scenarios

    try:
        scenarios = load_scenarios(args.path or SCENARIOS_DIR)
    except ReplayError as e:
        print(f"switchboard eval: {e}", file=sys.stderr)
        return 1
    services = _services(args.collection)
    try:
        passed = _evaluate(services, scenarios, verbose=args.verbose)
    finally:
        services.close()
    total = len(scenarios)
    print(f"\n{passed}/{total} scenarios passed ({100 * passed / total:.1f}%)")
    return 0 if passed == total else 1


def _evaluate(services, scenarios, *, verbose: bool) -> int:
    from dialogue.replay import run_scenario

    passed = 0
    for scenario in scenarios:
        result = run_scenario(services, scenario)
        passed += result.passed
        if result.passed:
            print(f"PASS  {result.name}")
            continue
        print(f"FAIL  {result.name}  ({result.source})")
        for failure in result.failures:
            print(f"        {failure}")
        if verbose:
            for line in result.transcript:
                print(f"          | {line}")
    return passed


def add_commands(sub) -> None:
    chat = sub.add_parser("chat", help="talk to the assistant in text")
    chat.add_argument("--collection", default=None, help="knowledge base (default: settings)")
    chat.set_defaults(func=cmd_chat)

    replay = sub.add_parser(
        "replay",
        help="run a conversation (JSON lines role/text) through the dialogue manager",
    )
    replay.add_argument("file", type=str)
    replay.add_argument("--collection", default=None)
    replay.set_defaults(func=cmd_replay)

    evaluate = sub.add_parser("eval", help="run the dialogue scenario suite, print the pass rate")
    evaluate.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help="a scenario file or folder (default: the bundled suite)",
    )
    evaluate.add_argument("--collection", default=None)
    evaluate.add_argument("-v", "--verbose", action="store_true", help="print failing transcripts")
    evaluate.set_defaults(func=cmd_eval)
