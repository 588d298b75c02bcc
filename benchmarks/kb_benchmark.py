"""Knowledge base: ingestion throughput, search latency at size, and retrieval quality.

1. Size: DSTC9 track 1 FAQs (``../shared/data/kb/dstc9/knowledge.json``, about 2,900
   question/answer pairs, entity = the hotel or restaurant) converted to FAQ JSONL, plus a
   synthetic enlargement (the same pairs re-worded with other entity names) to 12,000
   chunks. Each size is ingested into a fresh local-mode Qdrant collection; ingestion is
   reported in chunks per second and search latency (hybrid, top 5) as p50/p95 over 200
   queries.
2. Quality: the demo bank (``knowledge/data/demo_bank``) against the caller-phrased question
   set ``benchmarks/data/kb_questions.jsonl``: recall@1 and recall@5 for dense, sparse and
   hybrid retrieval, with and without the question's entity as a filter.

Usage: python benchmarks/kb_benchmark.py [--sizes 3000 12000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _service import RESULTS, machine

from knowledge.embeddings import get_embedder
from knowledge.ingest import ingest
from knowledge.store import KnowledgeStore
from telephony.caller import percentile

REPO = Path(__file__).resolve().parent.parent
DSTC9 = REPO.parent / "shared" / "data" / "kb" / "dstc9" / "knowledge.json"
QUESTIONS = Path(__file__).resolve().parent / "data" / "kb_questions.jsonl"
DEMO = REPO / "knowledge" / "data" / "demo_bank"
SUFFIXES = ["North", "South", "East", "West", "Riverside", "Central", "Garden", "Park"]


def dstc9_faqs() -> list[dict]:
    data = json.loads(DSTC9.read_text())
    rows = []
    for domain, entities in data.items():
        for entity_id, entity in entities.items():
            name = (entity.get("name") or domain).title()
            for doc_id, doc in entity["docs"].items():
                rows.append(
                    {
                        "id": f"{domain}-{entity_id}-{doc_id}",
                        "question": doc["title"],
                        "answer": doc["body"],
                        "entity": name,
                        "metadata": {"domain": domain},
                    }
                )
    return rows


def enlarged(rows: list[dict], size: int) -> list[dict]:
    """``size`` FAQ rows: the originals, then copies under other entity names."""
    out = list(rows)
    copy = 0
    while len(out) < size:
        suffix = SUFFIXES[copy % len(SUFFIXES)] + (
            f" {copy // len(SUFFIXES) + 2}" if copy >= len(SUFFIXES) else ""
        )
        for row in rows:
            if len(out) >= size:
                break
            entity = f"{row['entity']} {suffix}"
            out.append(
                {
                    **row,
                    "id": f"{row['id']}-x{copy}",
                    "entity": entity,
                    "question": row["question"].replace(row["entity"], entity),
                    "answer": row["answer"].replace(row["entity"], entity),
                }
            )
        copy += 1
    return out[:size]


def size_run(rows: list[dict], size: int, queries: int, workdir: Path) -> dict:
    path = workdir / f"faq-{size}.jsonl"
    sample = enlarged(rows, size)
    path.write_text("\n".join(json.dumps(r) for r in sample) + "\n")
    store = KnowledgeStore(
        path=workdir / f"qdrant-{size}", embedder=get_embedder("all-MiniLM-L6-v2")
    )
    report = ingest(store, "bench", [path])
    rng = random.Random(size)
    picks = rng.sample(sample, min(queries, len(sample)))
    store.search("bench", "warm up", top_k=5)
    times, hits = [], 0
    for row in picks:
        started = time.perf_counter()
        results = store.search("bench", row["question"], top_k=5)
        times.append((time.perf_counter() - started) * 1000)
        hits += any(p.document_id == row["id"] for p in results)
    store.close()
    return {
        "chunks": report.chunks,
        "ingest_seconds": round(report.seconds, 1),
        "chunks_per_second": round(report.chunks / report.seconds, 1),
        "search_p50_ms": round(statistics.median(times), 1),
        "search_p95_ms": round(percentile(times, 95), 1),
        "self_recall_at_5": round(hits / len(picks), 3),
    }


def quality_run(workdir: Path) -> dict:
    store = KnowledgeStore(path=workdir / "qdrant-demo", embedder=get_embedder("all-MiniLM-L6-v2"))
    ingest(store, "demo", [DEMO])
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    result = {"questions": len(questions)}
    for mode in ("dense", "sparse", "hybrid"):
        for use_entity in (False, True):
            at1 = at5 = 0
            times = []
            for q in questions:
                started = time.perf_counter()
                found = store.search(
                    "demo",
                    q["question"],
                    top_k=5,
                    mode=mode,
                    entity=q.get("entity") if use_entity else None,
                    entity_mode="boost",
                )
                times.append((time.perf_counter() - started) * 1000)
                ids = [p.document_id for p in found]
                at1 += bool(ids) and ids[0] == q["expected"]
                at5 += q["expected"] in ids
            key = f"{mode}{' + entity boost' if use_entity else ''}"
            result[key] = {
                "recall@1": round(at1 / len(questions), 3),
                "recall@5": round(at5 / len(questions), 3),
                "p50_ms": round(statistics.median(times), 1),
            }
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 12000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-size", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-kb-bench-"))
    try:
        quality = quality_run(workdir)
        rows = dstc9_faqs()
        sizes = (
            {}
            if args.skip_size
            else {str(size): size_run(rows, size, args.queries, workdir) for size in args.sizes}
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {"machine": machine(), "quality": quality, "sizes": sizes}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kb.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"Knowledge base benchmark, {machine()}, local-mode Qdrant, MiniLM int8 ONNX",
        "",
        f"Retrieval quality on {quality['questions']} caller-phrased questions (demo bank):",
        "",
        "| retrieval | recall@1 | recall@5 | p50 ms |",
        "|---|---|---|---|",
    ]
    for key, value in quality.items():
        if isinstance(value, dict):
            lines.append(
                f"| {key} | {value['recall@1']:.3f} | {value['recall@5']:.3f} | {value['p50_ms']} |"
            )
    if sizes:
        lines += [
            "",
            "| chunks | ingest chunks/s | search p50 ms | search p95 ms | self recall@5 |",
            "|---|---|---|---|---|",
        ]
        for value in sizes.values():
            lines.append(
                f"| {value['chunks']} | {value['chunks_per_second']} | "
                f"{value['search_p50_ms']} | {value['search_p95_ms']} | "
                f"{value['self_recall_at_5']} |"
            )
    (RESULTS / "kb.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
