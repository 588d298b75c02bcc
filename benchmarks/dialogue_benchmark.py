"""Dialogue step latency (caller text in -> reply out) and the scenario suite's pass rate.

Every caller turn of the scenario suite (``dialogue/scenarios``) is timed through the
dialogue manager: intent model, rules, flow engine, knowledge retrieval (local Qdrant
folder, in-memory search) and answer wording. Reported as p50/p95 in milliseconds over
all turns. The services are warmed up as at start-up (models loaded, the knowledge base's
sentence vectors computed); the embedding cache of caller texts is emptied before each
turn, so every turn pays for embedding its own words.

Answerers:

* ``extractive`` (default, no LLM) -- always measured.
* ``openai`` against ``--llm-url``/``--llm-model`` when given: a real endpoint (vLLM,
  Ollama, llama.cpp server) includes the model's own generation time.
* ``openai-stub``: an OpenAI-compatible stub in this process that answers at once with a
  cited sentence. It measures what Switchboard adds around an LLM (prompt, HTTP, parsing,
  fallback), not a model; a real model adds its time to first sentence on top.

Usage: python benchmarks/dialogue_benchmark.py [--llm-url URL --llm-model NAME]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _service import RESULTS, machine

from dialogue.bank import DemoBank
from dialogue.flows import load_flows
from dialogue.intents import get_intent_model
from dialogue.llm import OpenAIAnswerer
from dialogue.manager import DialogueServices
from dialogue.replay import SCENARIOS_DIR, load_scenarios, run_scenario
from dialogue.retrieval import KnowledgeRetriever
from knowledge.embeddings import get_embedder
from knowledge.ingest import ingest
from knowledge.store import KnowledgeStore
from telephony.caller import percentile

DEMO = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "demo_bank"


class _Stub(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": "Here it is [1]."}}]}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def measure(services: DialogueServices, scenarios: list[dict]) -> dict:
    services.warm_up(background=False)  # as the service does at start-up
    embedder = services.retriever.store.embedder

    def forget_texts() -> None:  # every caller turn is words never heard before
        embedder._cache.clear()

    timings: list[float] = []
    passed = sum(run_scenario(services, s, timings, forget_texts).passed for s in scenarios)
    return {
        "turns": len(timings),
        "p50_ms": round(percentile(timings, 50), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "max_ms": round(max(timings), 2),
        "scenarios_passed": f"{passed}/{len(scenarios)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    args = parser.parse_args()

    scenarios = load_scenarios(SCENARIOS_DIR)
    with tempfile.TemporaryDirectory() as folder:
        store = KnowledgeStore(path=folder, embedder=get_embedder())
        ingest(store, "demo_bank", [DEMO])
        base = DialogueServices(
            intents=get_intent_model(),
            retriever=KnowledgeRetriever(store, "demo_bank"),
            bank=DemoBank(":memory:"),
            flows=load_flows(),
        )
        results = {"extractive (no LLM)": measure(base, scenarios)}

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stub = OpenAIAnswerer(f"http://127.0.0.1:{server.server_port}/v1", "stub")
        results["openai-stub (our overhead)"] = measure(replace(base, answerer=stub), scenarios)
        server.shutdown()
        if args.llm_url and args.llm_model:
            llm = OpenAIAnswerer(args.llm_url, args.llm_model, timeout=30)
            results[f"openai {args.llm_model}"] = measure(replace(base, answerer=llm), scenarios)
        store.close()

    lines = [
        "# Dialogue step latency",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/dialogue_benchmark.py`.",
        "Every caller turn of the scenario suite, timed from text in to reply out "
        "(intent, rules, flow engine, retrieval, answer wording). Budget: 50 ms.",
        "",
        "| answerer | turns | p50 ms | p95 ms | max ms | scenarios passed |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['turns']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
            f"| {r['scenarios_passed']} |"
        )
    lines += [
        "",
        "The stub answers instantly, so its row is Switchboard's own cost around an LLM; a "
        "real model adds its time to the first sentence (streamed into TTS sentence by "
        "sentence). Scenarios fail under the stub by design: it does not say what the "
        "extractive answer says.",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dialogue.md").write_text(text, encoding="utf-8")
    (RESULTS / "dialogue.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
