"""Voice-to-voice latency over scripted multi-turn calls, with the per-stage breakdown.

Runs the real service (``switchboard serve``, default models) in a subprocess and calls it
with the simulated caller over loopback. Latency is measured by the caller: from the end of
its speech in the audio file to the first bot audio frame it receives. The service's own
per-turn breakdown (end-of-turn wait, STT, dialogue, TTS first audio) comes from the call
store. Usage:

    python benchmarks/latency_benchmark.py [--calls 3] [--env KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import time
from pathlib import Path

from _service import CALLER_PHRASES, RESULTS, caller_audio, machine, running_service

from telephony.caller import SimulatedCaller, percentile

STAGES = ["end_of_turn_ms", "stt_ms", "dialogue_ms", "tts_first_audio_ms", "total_ms"]


def breakdown(db: Path) -> dict[str, dict[str, float]]:
    rows = (
        sqlite3.connect(db)
        .execute("select latency from turns where speaker = 'bot' and latency like '%total_ms%'")
        .fetchall()
    )
    values: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for (latency,) in rows:
        data = json.loads(latency)
        for stage in STAGES:
            if stage in data:
                values[stage].append(data[stage])
    return {
        stage: {"p50": statistics.median(v), "p95": percentile(v, 95), "n": len(v)}
        for stage, v in values.items()
        if v
    }


async def scripted_calls(url: str, turns: list[str], calls: int) -> list[dict]:
    reports = []
    for _ in range(calls):
        caller = SimulatedCaller(url)
        reports.append((await caller.run(turns)).to_dict())
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--env", nargs="*", default=[], help="service settings, KEY=VALUE")
    parser.add_argument("--name", default="latency")
    args = parser.parse_args()
    env = {"SWITCHBOARD_LOG_LEVEL": "INFO", **dict(item.split("=", 1) for item in args.env)}

    audio = caller_audio(CALLER_PHRASES, RESULTS.parent / "out" / "caller")
    turns = [str(audio[k]) for k in CALLER_PHRASES]
    started = time.monotonic()
    with running_service(env) as (url, _pid, data):
        reports = asyncio.run(scripted_calls(url, turns, args.calls))
        time.sleep(1.0)
        stages = breakdown(data / "calls.db")
        ready = [
            float(m)
            for m in re.findall(r"ready to listen in (\d+) ms", (data / "server.log").read_text())
        ]
    latencies = [t["latency_ms"] for r in reports for t in r["turns"] if t["latency_ms"]]
    greeting = [r["greeting_ms"] for r in reports if r["greeting_ms"]]
    result = {
        "machine": machine(),
        "settings": env,
        "calls": args.calls,
        "turns": len(latencies),
        "voice_to_voice_ms": {
            "p50": statistics.median(latencies),
            "p95": percentile(latencies, 95),
            "min": min(latencies),
            "max": max(latencies),
        },
        "greeting_ms_p50": statistics.median(greeting),
        "call_ready_ms_p50": statistics.median(ready) if ready else None,
        "stages_ms": stages,
        "wall_seconds": round(time.monotonic() - started, 1),
        "transcripts": [[t["bot_text"][:60] for t in r["turns"]] for r in reports[:1]],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"Voice-to-voice latency, {args.calls} calls x {len(turns)} turns "
        f"({len(latencies)} turns measured), {machine()}; settings: {env or 'defaults'}",
        "",
        "| measure | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| caller: end of speech -> first bot audio | "
        f"{result['voice_to_voice_ms']['p50']:.0f} | {result['voice_to_voice_ms']['p95']:.0f} |",
    ]
    for stage, v in stages.items():
        lines.append(f"| service: {stage} | {v['p50']:.0f} | {v['p95']:.0f} |")
    lines.append(f"| greeting (stream start -> first audio) | {result['greeting_ms_p50']:.0f} | |")
    if ready:
        lines.append(
            f"| new call ready to listen (start -> pipeline started) | "
            f"{statistics.median(ready):.0f} | {percentile(ready, 95):.0f} |"
        )
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
