"""Word error rate and speed of the bundled Whisper models, at native rate and over a phone line.

The telephone band reproduces what a Twilio call delivers: 8 kHz, G.711 μ-law, then back up
to Whisper's 16 kHz. Both sides are normalised the way Whisper's evaluation does before WER.

    .venv/bin/python benchmarks/stt_benchmark.py [--models base tiny.en] [--limit N] \
        --out benchmarks/results/stt.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from itertools import zip_longest
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice.audio import AudioChunk, load_audio, ulaw_decode, ulaw_encode  # noqa: E402
from voice.stt import WhisperOptions, get_transcriber  # noqa: E402

DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "speech" / "manifest.jsonl"
BANDS = ("native", "telephone")
_normalizer = EnglishTextNormalizer()


def normalise(text: str) -> str:
    """Whisper-style normalisation with bracketed noise tags ("[noise]") removed."""
    return " ".join(_normalizer(re.sub(r"\[[^\]]*\]", " ", text)).split())


def telephone_band(audio: AudioChunk) -> AudioChunk:
    """What a caller's audio looks like after the PSTN and Twilio: 8 kHz μ-law, back to 16 kHz."""
    narrow = audio.resampled(8000)
    decoded = AudioChunk(ulaw_decode(ulaw_encode(narrow.pcm)), 8000)
    return decoded.resampled(16000)


def load_manifest(path: Path, limit: int | None) -> list[dict]:
    """Manifest rows; with a limit, taken round-robin across sets so every set is represented."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        row["path"] = str(path.parent / row["audio"])
    if limit is None:
        return rows
    by_set: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_set[row["set"]].append(row)
    mixed = [r for group in zip_longest(*by_set.values()) for r in group if r is not None]
    return mixed[:limit]


def score(results: list[dict]) -> dict:
    """WER over the pooled words, and real-time factors (lower is faster)."""
    refs = [r["ref"] for r in results]
    hyps = [r["hyp"] for r in results]
    rtfs = [r["processing_seconds"] / r["audio_seconds"] for r in results]
    audio = sum(r["audio_seconds"] for r in results)
    processing = sum(r["processing_seconds"] for r in results)
    return {
        "utterances": len(results),
        "wer": jiwer.wer(refs, hyps) if refs else None,
        "rtf_median": statistics.median(rtfs) if rtfs else None,
        "rtf_total": processing / audio if audio else None,
        "latency_median_s": statistics.median(r["processing_seconds"] for r in results),
        "audio_seconds": audio,
        "processing_seconds": processing,
    }


def run_model(name: str, rows: list[dict], cache_dir: Path, short_window: bool = True) -> dict:
    started = time.perf_counter()
    transcriber = get_transcriber(WhisperOptions(model=name, short_window=short_window), cache_dir)
    load_seconds = time.perf_counter() - started
    transcriber.warm_up()
    results: dict[str, list[dict]] = {band: [] for band in BANDS}
    for row in rows:
        audio = load_audio(row["path"], sample_rate=row["sample_rate"])
        for band, clip in (("native", audio), ("telephone", telephone_band(audio))):
            transcript = transcriber.transcribe(clip)
            results[band].append(
                {
                    "audio": row["audio"],
                    "set": row["set"],
                    "ref": normalise(row["text"]),
                    "hyp": normalise(transcript.text),
                    "text": transcript.text,
                    "audio_seconds": transcript.audio_seconds,
                    "processing_seconds": transcript.processing_seconds,
                }
            )
    summary: dict = {
        "load_seconds": load_seconds,
        "bands": {},
        "full_window_fallbacks": transcriber.full_window_fallbacks,
    }
    for band, band_results in results.items():
        per_set: dict[str, list[dict]] = defaultdict(list)
        for result in band_results:
            per_set[result["set"]].append(result)
        summary["bands"][band] = {
            "overall": score(band_results),
            "sets": {s: score(rs) for s, rs in sorted(per_set.items())},
            "utterances": band_results,
        }
    return summary


def markdown(report: dict) -> str:
    lines = [
        f"STT benchmark: {report['utterances']} utterances, machine: {report['machine']}, "
        f"wall time {report['wall_seconds']:.0f} s",
        "",
        "| model | band | set | n | WER | RTF median | RTF total | latency median (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, summary in report["models"].items():
        for band, data in summary["bands"].items():
            for set_name, s in [("**all**", data["overall"]), *data["sets"].items()]:
                lines.append(
                    f"| {model} | {band} | {set_name} | {s['utterances']} | {s['wer']:.1%} | "
                    f"{s['rtf_median']:.3f} | {s['rtf_total']:.3f} | "
                    f"{s['latency_median_s']:.2f} |"
                )
    lines.append("")
    loads = ", ".join(f"{m} {s['load_seconds']:.2f} s" for m, s in report["models"].items())
    lines.append(f"Model load (incl. first-time assembly of base): {loads}")
    fallbacks = ", ".join(
        f"{m} {s['full_window_fallbacks']}" for m, s in report["models"].items() if "short" in m
    )
    lines.append(f"Short-window decodes redone on the full window (both bands): {fallbacks}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"])
    parser.add_argument(
        "--windows",
        nargs="+",
        default=["short", "full"],
        choices=["short", "full"],
        help="encoder window (see WhisperOptions)",
    )
    parser.add_argument("--limit", type=int, default=None, help="utterances (round-robin sets)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "models" / "whisper-base")
    parser.add_argument("--out", type=Path, default=None, help="JSON report")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)

    rows = load_manifest(args.manifest, args.limit)
    started = time.perf_counter()
    models = {
        f"{name} ({window} window)": run_model(name, rows, args.cache_dir, window == "short")
        for name in args.models
        for window in args.windows
    }
    report = {
        "utterances": len(rows),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "wall_seconds": time.perf_counter() - started,
        "options": dataclasses.asdict(WhisperOptions()),
        "models": models,
    }
    table = markdown(report)
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
