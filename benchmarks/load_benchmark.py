"""How many simultaneous calls this machine holds, and what each call costs in memory.

Runs the real service in a subprocess and, for each level N, places N simulated calls at
once (starts staggered over two seconds, as real calls are), each saying three caller
turns. Reports the voice-to-voice latency over all turns at that level, and the service's
resident memory while the calls run. The capacity is the largest N whose p95 stays within
the limit (1.5 s by default). Usage:

    python benchmarks/load_benchmark.py [--levels 1 2 4 6 8] [--limit-ms 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import threading
import time

from _service import CALLER_PHRASES, RESULTS, caller_audio, machine, rss_mb, running_service

from telephony.caller import SimulatedCaller, percentile

TURNS = ["hours", "overdraft", "bye"]


async def one_call(url: str, turns: list[str], delay: float) -> dict:
    await asyncio.sleep(delay)
    return (await SimulatedCaller(url, reply_timeout=20).run(turns)).to_dict()


async def level(url: str, turns: list[str], n: int, rng: random.Random) -> list[dict]:
    return await asyncio.gather(*(one_call(url, turns, rng.uniform(0, 2)) for _ in range(n)))


class PeakMemory:
    """Samples a process's RSS every 100 ms in a thread."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 6, 8, 10])
    parser.add_argument("--limit-ms", type=float, default=1500)
    parser.add_argument("--env", nargs="*", default=[])
    parser.add_argument("--name", default="load")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    audio = caller_audio(CALLER_PHRASES, RESULTS.parent / "out" / "caller")
    turns = [str(audio[k]) for k in TURNS]
    rng = random.Random(7)
    rows = []
    with running_service(env) as (url, pid, _data):
        # One call first so lazily created state (caches, allocator pools) is in the baseline.
        asyncio.run(level(url, turns, 1, rng))
        time.sleep(1)
        idle = rss_mb(pid)
        for n in args.levels:
            with PeakMemory(pid) as memory:
                reports = asyncio.run(level(url, turns, n, rng))
            latencies = [
                t["latency_ms"] for r in reports for t in r["turns"] if t["latency_ms"] is not None
            ]
            missing = sum(1 for r in reports for t in r["turns"] if t["latency_ms"] is None)
            row = {
                "calls": n,
                "turns": len(latencies),
                "unanswered_turns": missing,
                "p50_ms": statistics.median(latencies) if latencies else None,
                "p95_ms": percentile(latencies, 95),
                "idle_rss_mb": round(idle, 1),
                "peak_rss_mb": round(memory.peak, 1),
                "mb_per_call": round((memory.peak - idle) / n, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            time.sleep(2)
            if row["p95_ms"] is None or row["p95_ms"] > args.limit_ms or missing:
                break
    ok = [
        r["calls"]
        for r in rows
        if r["p95_ms"] is not None and r["p95_ms"] <= args.limit_ms and not r["unanswered_turns"]
    ]
    capacity = max(ok) if ok else 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "settings": env,
                "limit_ms": args.limit_ms,
                "capacity": capacity,
                "levels": rows,
            },
            indent=2,
        )
    )
    lines = [
        f"Concurrent calls, {machine()}; settings: {env or 'defaults'}; "
        f"3 caller turns a call, starts staggered over 2 s",
        "",
        "| simultaneous calls | turns | p50 ms | p95 ms | peak RSS MB | MB per call |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        p50 = f"{r['p50_ms']:.0f}" if r["p50_ms"] is not None else "-"
        p95 = f"{r['p95_ms']:.0f}" if r["p95_ms"] is not None else "-"
        lines.append(
            f"| {r['calls']} | {r['turns']} | {p50} | {p95} | {r['peak_rss_mb']} | "
            f"{r['mb_per_call']} |"
        )
    lines += [
        "",
        f"Capacity at p95 <= {args.limit_ms:.0f} ms: **{capacity} calls** "
        f"(idle service RSS {rows[0]['idle_rss_mb'] if rows else '-'} MB).",
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
