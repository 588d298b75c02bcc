"""Piper time-to-first-audio and real-time factor on typical contact-centre replies.

TTFA is what the caller waits for after the reply text is ready. Piper phonemizes the whole
text before it synthesises the first sentence, so we also measure TTFA when only the first
sentence (from `split_sentences`) is handed to Piper, which is how the pipeline streams.

    .venv/bin/python benchmarks/tts_benchmark.py [--repeats 3] --out benchmarks/results/tts.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice.tts import PiperOptions, get_synthesizer, split_sentences  # noqa: E402

REPLIES = [
    "Hello.",
    "Thank you for calling Northwind Bank.",
    "How can I help you today?",
    "Sure, one moment please.",
    "Could you tell me the last four digits of your card?",
    "I'm sorry, I didn't catch that. Could you say it again?",
    "Your current balance is one thousand two hundred and forty dollars and fifty cents.",
    "I've blocked your card. A new one will arrive within five working days.",
    "Our branches are open Monday to Friday from nine a.m. to five p.m., and on Saturday "
    "mornings until noon.",
    "Let me transfer you to one of my colleagues who can help with that. Please stay on the line.",
    "To reset your password, open the app, tap Settings, then Security, and choose Reset "
    "password. You will receive a code by text message.",
    "Is there anything else I can help you with?",
    "I understand this is frustrating, and I'm sorry for the trouble.",
    "Your payment of eighty-five dollars to City Power was sent on March third.",
    "For security reasons, I can't share that information over the phone.",
    "You can dispute a transaction within sixty days of the statement date. I can start the "
    "dispute now, or send you a link to do it online. Which would you prefer?",
    "Thanks for your patience.",
    "The mortgage team is available from eight in the morning until eight in the evening, "
    "seven days a week, on the number printed on your statement.",
    "Goodbye, and have a great day!",
    "Your appointment is booked for Tuesday at two thirty at the Main Street branch. You'll "
    "get a reminder the day before. Is there anything else?",
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation; honest for ~60 samples)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def measure(synthesizer, text: str) -> dict:
    """Time to the first chunk, total time and audio length for one text."""
    started = time.perf_counter()
    first = None
    samples = 0
    for chunk in synthesizer.synthesize_stream(text):
        if first is None:
            first = time.perf_counter() - started
        samples += len(chunk) // 2
    total = time.perf_counter() - started
    audio = samples / synthesizer.sample_rate
    return {"ttfa_s": first, "total_s": total, "audio_s": audio, "rtf": total / audio}


def summarise(values: list[float]) -> dict:
    return {"median": statistics.median(values), "p95": percentile(values, 95)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default=PiperOptions().voice)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="JSON report")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    synthesizer = get_synthesizer(PiperOptions(voice=args.voice))
    load_seconds = time.perf_counter() - started
    synthesizer.warm_up()

    whole, first_only = [], []
    for _ in range(args.repeats):
        for text in REPLIES:
            whole.append({"text": text, **measure(synthesizer, text)})
            first_sentence = split_sentences(text)[0]
            first_only.append({"text": first_sentence, **measure(synthesizer, first_sentence)})

    rows = {
        "TTFA, whole reply (s)": summarise([m["ttfa_s"] for m in whole]),
        "TTFA, first sentence only (s)": summarise([m["ttfa_s"] for m in first_only]),
        "RTF, whole reply": summarise([m["rtf"] for m in whole]),
        "audio per reply (s)": summarise([m["audio_s"] for m in whole]),
    }
    report = {
        "voice": args.voice,
        "sample_rate": synthesizer.sample_rate,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "replies": len(REPLIES),
        "repeats": args.repeats,
        "load_seconds": load_seconds,
        "summary": rows,
        "measurements": {"whole": whole, "first_sentence": first_only},
    }
    lines = [
        f"TTS benchmark: Piper {args.voice} ({synthesizer.sample_rate} Hz), {len(REPLIES)} "
        f"replies x {args.repeats}, machine: {report['machine']}, voice load {load_seconds:.2f} s",
        "",
        "| metric | median | p95 |",
        "|---|---|---|",
        *(f"| {name} | {v['median']:.3f} | {v['p95']:.3f} |" for name, v in rows.items()),
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
