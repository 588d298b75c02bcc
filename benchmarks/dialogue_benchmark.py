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
* ``llama-cpp`` with ``--gguf PATH``: a local GGUF model in this process, set up as the
  service sets it up (default options; the model also writes the handoff summaries). Its
  turns include the whole answer, as the other rows do. Then every question the model was
  asked during the suite is asked again streamed, and the time to its first spoken
  sentence is reported: what a caller waits for on a call, where answers stream into TTS
  (retrieval, a few ms, is not included). See ``benchmarks/models/README.md``.

Usage: python benchmarks/dialogue_benchmark.py [--llm-url URL --llm-model NAME] [--gguf PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _service import RESULTS, machine

from dialogue.answers import Answer
from dialogue.bank import DemoBank
from dialogue.flows import load_flows
from dialogue.intents import get_intent_model
from dialogue.llm import GeneratorError, LlamaCppAnswerer, OpenAIAnswerer
from dialogue.manager import DialogueServices
from dialogue.replay import SCENARIOS_DIR, load_scenarios, run_scenario
from dialogue.retrieval import KnowledgeRetriever
from knowledge.embeddings import get_embedder
from knowledge.ingest import ingest
from knowledge.store import KnowledgeStore
from knowledge.types import Passage
from telephony.caller import percentile

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "knowledge" / "data" / "demo_bank"


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


class _Recording:
    """An LLM answerer that keeps what it is asked and answers (to ask it again streamed)
    and counts every call to the model, summaries included."""

    def __init__(self, answerer: LlamaCppAnswerer) -> None:
        self.answerer = answerer
        self.asked: list[tuple[str, list[Passage], list[str]]] = []
        self.answers: list[Answer | None] = []
        self.summaries = 0

    @property
    def calls(self) -> int:
        return len(self.asked) + self.summaries

    def answer(self, question: str, passages: list[Passage], *, context: list[str] | None = None):
        result = self.answerer.answer(question, passages, context=context)
        if passages:  # without passages the model is not asked
            self.asked.append((question, list(passages), list(context or [])))
            self.answers.append(result)
        return result

    def stream(self, question: str, passages: list[Passage], context: list[str] | None = None):
        return self.answerer.stream(question, passages, context=context)

    def complete(self, system: str, user: str, max_tokens: int = 300) -> str:
        self.summaries += 1
        return self.answerer.complete(system, user, max_tokens)


def first_sentences(answerer: LlamaCppAnswerer, asked: list) -> dict:
    """Time from asking to the first spoken sentence of each streamed answer; a question
    the model refuses (nothing to say) or fails on is counted, not timed."""
    timings: list[float] = []
    refused = failed = 0
    for question, passages, context in asked:
        started = time.perf_counter()
        sentences = answerer.stream(question, passages, context=context)
        try:
            next(sentences)
            timings.append((time.perf_counter() - started) * 1000)
        except StopIteration:
            refused += 1
        except GeneratorError:
            failed += 1
        finally:
            sentences.close()  # the rest of the answer is not needed
    timed = spread(timings)
    timed["answered"] = timed.pop("turns")
    return {"questions": len(asked), "refused": refused, "failed": failed, **timed}


def measure_gguf(base: DialogueServices, scenarios: list[dict], path: Path) -> dict:
    """The suite with a local GGUF model answering (and summarising handoffs), then its
    time to the first streamed sentence over the questions it was asked."""
    started = time.perf_counter()
    llm = LlamaCppAnswerer(model_path=path)  # the service's defaults
    load_s = time.perf_counter() - started
    recording = _Recording(llm)
    services = replace(base, answerer=recording, write_prose=recording.complete)
    calls_before: list[int] = []  # model calls so far, at the start of each turn
    timings, passed = run_suite(services, scenarios, lambda: calls_before.append(recording.calls))
    calls_after = [*calls_before[1:], recording.calls]
    model_turns = [t for t, a, b in zip(timings, calls_before, calls_after, strict=True) if b > a]
    answers = [a for a in recording.answers if a is not None]
    return {
        **spread(timings),
        "scenarios_passed": f"{passed}/{len(scenarios)}",
        "model_load_s": round(load_s, 2),
        "model_answers": len(recording.asked),
        "model_refusals": len(recording.asked) - len(answers),
        "model_cited": sum(a.grounded for a in answers),
        "model_summaries": recording.summaries,
        "model_turns": spread(model_turns),
        "first_sentence": first_sentences(llm, recording.asked),
        "samples": [
            {"question": q, "answer": a.text if a else None, "cited": bool(a and a.grounded)}
            for (q, _, _), a in list(zip(recording.asked, recording.answers, strict=True))[:8]
        ],
    }


def run_suite(
    services: DialogueServices, scenarios: list[dict], before_turn: Callable[[], None] | None = None
) -> tuple[list[float], int]:
    """Each caller turn's time in ms, and how many scenarios passed."""
    services.warm_up(background=False)  # as the service does at start-up
    embedder = services.retriever.store.embedder

    def prepare() -> None:
        embedder._cache.clear()  # every caller turn is words never heard before
        if before_turn is not None:
            before_turn()

    timings: list[float] = []
    passed = sum(run_scenario(services, s, timings, prepare).passed for s in scenarios)
    return timings, passed


def spread(timings: list[float]) -> dict:
    if not timings:
        return {"turns": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "turns": len(timings),
        "p50_ms": round(percentile(timings, 50), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "max_ms": round(max(timings), 2),
    }


def measure(services: DialogueServices, scenarios: list[dict]) -> dict:
    timings, passed = run_suite(services, scenarios)
    return {**spread(timings), "scenarios_passed": f"{passed}/{len(scenarios)}"}


GGUF_NOTES = [
    "SmolLM2-135M-Instruct is a smoke test of the real path, not a model to answer callers "
    "with, and the scenario pass rate under it is expected to be low. The scenarios check "
    "what the extractive answer says (`reply_contains`: a fee, an hour, a phone number) and "
    "its sources. A 135M model mostly repeats the caller's question back "
    '("The caller\'s question is: ...") instead of answering, rarely cites a passage (an '
    "answer without a citation is attributed to the best passage), never replied "
    "NO_ANSWER here, sometimes repeats one sentence up to the 200-token limit (the "
    "slowest turns), and the handoff notes it wrote when we read them were made up. The "
    "scenarios that still pass are mostly those whose checked turns the model does not "
    "word: flows, keypad, handoffs and clarifications. What this row shows is latency. "
    "Even a model this small takes seconds per answer on 2 cores, and a model that "
    "answers well (a few billion parameters) costs roughly in proportion to its size, so "
    "on a CPU like this one it belongs on a GPU or behind the `openai` answerer.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    parser.add_argument("--gguf", type=Path, help="a local GGUF chat model (llama-cpp-python)")
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
        if args.gguf:
            results[f"llama-cpp {args.gguf.stem}"] = measure_gguf(base, scenarios, args.gguf)
        store.close()

    # A real model's rows take long to measure (about 25 minutes for SmolLM2 here): rows of
    # models not run this time are kept from the last run's results, with their date.
    measured = f"{time.strftime('%Y-%m-%d', time.gmtime())}, {_commit()}"
    for row in results.values():
        row["measured"] = measured
    earlier = RESULTS / "dialogue.json"
    if earlier.is_file():
        for name, row in json.loads(earlier.read_text(encoding="utf-8")).items():
            results.setdefault(name, row)
    text = report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dialogue.md").write_text(text, encoding="utf-8")
    (RESULTS / "dialogue.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(text)


def _commit() -> str:
    """The code measured: the checkout's commit, marked when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                f":!{RESULTS.relative_to(REPO)}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown commit"
    return f"{head or 'unknown commit'}{' with changes' if dirty else ''}"


def report(results: dict) -> str:
    """``dialogue.md``, from the results as ``dialogue.json`` keeps them."""
    lines = [
        "# Dialogue step latency",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/dialogue_benchmark.py`.",
        "Every caller turn of the scenario suite, timed from text in to reply out "
        "(intent, rules, flow engine, retrieval, answer wording). Budget: 50 ms.",
        "",
        "| answerer | turns | p50 ms | p95 ms | max ms | scenarios passed | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['turns']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
            f"| {r['scenarios_passed']} | {r.get('measured', 'earlier')} |"
        )
    lines += [
        "",
        "The stub answers instantly, so its row is Switchboard's own cost around an LLM; a "
        "real model adds its time to the first sentence (streamed into TTS sentence by "
        "sentence). Scenarios fail under the stub by design: it does not say what the "
        "extractive answer says.",
    ]
    local = {name: r for name, r in results.items() if "first_sentence" in r}
    if local:
        lines += [
            "",
            "## With a local LLM (llama.cpp)",
            "",
            "Command: `python benchmarks/dialogue_benchmark.py --gguf data/models/MODEL.gguf` "
            "(see `benchmarks/models/README.md`). The model runs on the CPU as the service "
            "runs it (4096-token context, llama.cpp's thread count, temperature 0, replies of "
            "at most 200 tokens) and also writes the handoff summaries "
            "(`DIALOGUE__LLM_SUMMARIES`). Its row above covers every caller turn; most turns "
            "(flows, keypad, handoffs without a question) never reach the model. The turns "
            "that do, timed with the whole answer as above:",
            "",
            "| model | load s | turns asking it | p50 ms | p95 ms | max ms | answers "
            "| cited | refused | summaries |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in local.items():
            t = r["model_turns"]
            lines.append(
                f"| {name.removeprefix('llama-cpp ')} | {r['model_load_s']} | {t['turns']} "
                f"| {t['p50_ms']} | {t['p95_ms']} | {t['max_ms']} | {r['model_answers']} "
                f"| {r['model_cited']} | {r['model_refusals']} | {r['model_summaries']} |"
            )
        lines += [
            "",
            "On a call the answer streams into TTS sentence by sentence, so the caller waits "
            "for the first sentence, not the whole answer. Every question the model was "
            "asked above, asked again streamed and timed to its first spoken sentence "
            "(retrieval, a few ms, not included):",
            "",
            "| model | questions | first sentence p50 ms | p95 ms | max ms | nothing said |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in local.items():
            f = r["first_sentence"]
            lines.append(
                f"| {name.removeprefix('llama-cpp ')} | {f['questions']} | {f['p50_ms']} "
                f"| {f['p95_ms']} | {f['max_ms']} | {f['refused'] + f['failed']} |"
            )
        lines += ["", *GGUF_NOTES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
