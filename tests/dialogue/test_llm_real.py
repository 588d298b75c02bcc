"""The llama.cpp answerer with a real GGUF model, on passages from the demo knowledge base.

Skipped unless llama-cpp-python is installed and a GGUF chat model is found:
``SWITCHBOARD_TEST_GGUF``, else the first ``data/models/*.gguf``. How to get both:
``benchmarks/models/README.md``. The checks hold for any model, however weak: what it says
is not judged here (the dialogue benchmark measures that), only that the real engine goes
through the same path as the fakes in ``test_llm.py``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace
from pathlib import Path

import pytest

from dialogue.answers import Answer
from dialogue.llm import LlamaCppAnswerer
from dialogue.manager import ANYTHING_ELSE
from dialogue.retrieval import ConversationContext

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "How much does a replacement debit card cost?",
    "What time does the Elm Street branch open on Saturday?",
]


def find_gguf() -> Path | None:
    """``SWITCHBOARD_TEST_GGUF`` when set, else the first GGUF under ``data/models``."""
    if named := os.environ.get("SWITCHBOARD_TEST_GGUF"):
        return Path(named)
    found = sorted((REPO / "data" / "models").glob("*.gguf"))
    return found[0] if found else None


GGUF = find_gguf()

# Decided when the module is collected, so a skipped run loads nothing (not even the
# session's knowledge base, which pytest would set up before a fixture could skip).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (see benchmarks/models/README.md)",
    ),
    pytest.mark.skipif(
        GGUF is None, reason="no GGUF model: set SWITCHBOARD_TEST_GGUF or put one in data/models/"
    ),
    pytest.mark.skipif(
        GGUF is not None and not GGUF.is_file(), reason=f"SWITCHBOARD_TEST_GGUF={GGUF} is no file"
    ),
]


@pytest.fixture(scope="module")
def answerer() -> LlamaCppAnswerer:
    return LlamaCppAnswerer(model_path=GGUF, max_tokens=80)


class CountingLlama:
    """A real ``Llama`` that counts the completions asked of it."""

    def __init__(self, llama) -> None:
        self.llama = llama
        self.calls = 0

    def create_chat_completion(self, **request):
        self.calls += 1
        return self.llama.create_chat_completion(**request)


def passages_for(shared_services, question: str):
    found = shared_services.retriever.retrieve(question, ConversationContext())
    assert found.passages, f"the demo knowledge base has nothing for {question!r}"
    return found.passages


@pytest.mark.parametrize("question", QUESTIONS)
def test_answer_is_an_answer_or_a_refusal(answerer, shared_services, question) -> None:
    passages = passages_for(shared_services, question)
    answer = answerer.answer(question, passages, context=["Hello"])
    assert answer is None or isinstance(answer, Answer)
    if answer is not None:
        assert answer.text.strip()
        assert "[" not in answer.text  # citations are read, not spoken
        known = {p.document_id for p in passages}
        assert answer.sources and set(answer.sources) <= known


def test_stream_yields_spoken_sentences(answerer, shared_services) -> None:
    question = QUESTIONS[0]
    sentences = list(answerer.stream(question, passages_for(shared_services, question)))
    assert all(isinstance(s, str) and s.strip() for s in sentences)
    assert not any("[" in s for s in sentences)


def test_stream_stops_when_the_caller_stops_listening(answerer, shared_services) -> None:
    question = QUESTIONS[0]
    sentences = answerer.stream(question, passages_for(shared_services, question))
    next(sentences, None)
    sentences.close()  # releases the model: the next call does not wait
    assert isinstance(answerer.complete("Reply with one word.", "Say hello."), str)


def test_complete_writes_plain_text(answerer) -> None:
    reply = answerer.complete(
        "You write handoff notes for bank agents, in one short sentence.",
        '{"reason": "fraud", "caller_name": "Maria", "verified": true}',
        max_tokens=60,
    )
    assert isinstance(reply, str) and reply == reply.strip()


def test_no_passages_no_model_call(answerer) -> None:
    counting = CountingLlama(answerer._llama)
    quiet = LlamaCppAnswerer(llama=counting)
    assert quiet.answer("What is the meaning of life?", []) is None
    assert list(quiet.stream("What is the meaning of life?", [])) == []
    assert counting.calls == 0


def test_a_call_answers_through_the_model(answerer, services) -> None:
    """A streamed knowledge answer on a call ends with the usual closing, whatever the model
    said (its words, the extractive fallback, or "I don't know")."""
    manager = replace(services, answerer=answerer).conversation(stream_answers=True)
    manager.greeting()
    reply = manager.on_text(QUESTIONS[0])
    assert reply.action == "answer" and reply.stream is not None
    said = list(reply.stream)
    assert all(isinstance(s, str) and s for s in said)
    assert said[-1] == ANYTHING_ELSE or len(said) == 1
