"""LLM answerers: the grounded prompt, citations, refusals, streaming and engine failures.

The OpenAI-compatible answerer talks to a real HTTP server in a thread that replies with
canned completions and event streams; the llama.cpp answerer gets a fake ``Llama``.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dialogue.answers import Answer, ExtractiveAnswerer, split_sentences
from dialogue.llm import (
    REFUSAL,
    GeneratorError,
    LlamaCppAnswerer,
    OpenAIAnswerer,
    build_messages,
    make_answer_generator,
    speakable_sentences,
)
from knowledge.types import Passage

FEES = "A replacement debit card costs $5. Express delivery costs $25."
HOURS = "Branches are open 9am-5pm Mon-Fri."
WIRES = "Wire transfers to another bank cost $15 each."


def _passage(text: str, doc: str, n: int = 0) -> Passage:
    return Passage(
        text=text,
        score=0.8,
        document_id=doc,
        chunk_id=f"{doc}#{n}",
        title=doc.replace("-", " ").title(),
        source=f"kb/{doc}.md",
    )


PASSAGES = [_passage(FEES, "fees"), _passage(HOURS, "hours"), _passage(WIRES, "fees", 1)]

Reply = Callable[[BaseHTTPRequestHandler], None]


class FakeChatServer:
    """An OpenAI-compatible chat endpoint: replies in the order scripted, requests kept."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.replies: list[Reply] = []
        self.release = threading.Event()
        """Set to let a reply that waits (``hold_after``, ``stall``) go on."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                reply = fake.replies.pop(0) if fake.replies else status(500, "nothing scripted")
                reply(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def _send(handler: BaseHTTPRequestHandler, code: int, body: bytes, content_type: str) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def completion(content: str) -> Reply:
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    return lambda h: _send(h, 200, json.dumps(reply).encode(), "application/json")


def status(code: int, body: str) -> Reply:
    return lambda h: _send(h, code, body.encode(), "text/plain")


def raw(body: str, content_type: str = "application/json") -> Reply:
    return lambda h: _send(h, 200, body.encode(), content_type)


def stall(server: FakeChatServer) -> Reply:
    """Say nothing until released (or a second has passed)."""
    return lambda h: server.release.wait(1.0)


def sse(
    pieces: list[str], *, hold_after: int | None = None, server: FakeChatServer | None = None
) -> Reply:
    """An event stream of ``pieces`` as chat-completion chunks, then [DONE]; with
    ``hold_after``, it waits for ``server.release`` after sending that many pieces."""

    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()  # no length: HTTP/1.0, the stream ends when the connection closes

        def event(data: str) -> None:
            h.wfile.write(f"data: {data}\n\n".encode())
            h.wfile.flush()

        event(json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        h.wfile.write(b": keep-alive\n\n")
        for n, piece in enumerate(pieces):
            if n == hold_after:
                server.release.wait(1.0)
            event(json.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]}))
        event(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        event(json.dumps({"choices": [], "usage": {"completion_tokens": 12}}))
        event("[DONE]")

    return reply


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    yield fake
    fake.stop()


@pytest.fixture
def answerer(server: FakeChatServer) -> Iterator[OpenAIAnswerer]:
    with OpenAIAnswerer(server.base_url, "qwen2.5-0.5b-instruct", timeout=2.0) as answerer:
        yield answerer


# -- answer() --------------------------------------------------------------------------


def test_the_request_carries_the_passages_the_question_and_earlier_turns(server) -> None:
    server.replies.append(completion("It costs $5 [1]."))
    with OpenAIAnswerer(
        server.base_url + "/", "local-model", api_key="sk-test", max_tokens=99, temperature=0.2
    ) as answerer:
        answerer.answer(
            "How much is a new card?", PASSAGES, context=["I lost my card", "It was a debit card"]
        )

    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "local-model"
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (99, 0.2, False)
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "bank" in system["content"] and REFUSAL in system["content"]
    assert "[1]" in system["content"]
    assert user["role"] == "user"
    content = user["content"]
    assert f"[1] Fees\n{FEES}" in content
    assert f"[2] Hours\n{HOURS}" in content
    assert f"[3] Fees\n{WIRES}" in content
    assert "- I lost my card\n- It was a debit card" in content
    assert content.index("I lost my card") < content.index("[1]") < content.index("new card?")
    assert content.endswith("How much is a new card?")


def test_citations_become_sources_and_are_not_spoken(server, answerer) -> None:
    server.replies.append(
        completion("Wires cost $15 each [3]. Branches open Mon-Fri [2]. A new card is $5 [1].")
    )
    result = answerer.answer("What do things cost?", PASSAGES)
    assert result == Answer(
        text=(
            "Wires cost 15 dollars each. Branches open Monday to Friday. A new card is 5 dollars."
        ),
        sources=("fees", "hours"),  # citation order, each document once
        grounded=True,
    )


@pytest.mark.parametrize("reply", ["It costs $5 [1, 2].", "It costs $5 [1][2].", "It costs $5.[2]"])
def test_citation_styles(server, answerer, reply) -> None:
    server.replies.append(completion(reply))
    result = answerer.answer("Card fee?", PASSAGES)
    assert result.text == "It costs 5 dollars."
    assert result.sources[-1] == "hours"


def test_an_uncited_answer_is_attributed_to_the_best_passage_but_not_grounded(
    server, answerer
) -> None:
    server.replies.append(completion("A new card costs $5."))
    result = answerer.answer("Card fee?", PASSAGES)
    assert result == Answer(text="A new card costs 5 dollars.", sources=("fees",), grounded=False)


def test_citing_a_passage_it_was_not_given_is_not_grounded(server, answerer) -> None:
    server.replies.append(completion("A new card costs $5 [1] [7]."))
    result = answerer.answer("Card fee?", PASSAGES)
    assert (result.text, result.sources, result.grounded) == (
        "A new card costs 5 dollars.",
        ("fees",),
        False,
    )


@pytest.mark.parametrize("reply", ["NO_ANSWER", "  NO_ANSWER.", "no_answer", "NO ANSWER", ""])
def test_a_refusal_is_none(server, answerer, reply) -> None:
    server.replies.append(completion(reply))
    assert answerer.answer("What is the meaning of life?", PASSAGES) is None


def test_no_passages_means_no_call(server, answerer) -> None:
    assert answerer.answer("Anything?", []) is None
    assert list(answerer.stream("Anything?", [])) == []
    assert server.requests == []


def test_only_the_best_passages_are_sent(server) -> None:
    server.replies.append(completion("It costs $5 [1]."))
    with OpenAIAnswerer(server.base_url, "m", max_passages=1) as answerer:
        answerer.answer("Card fee?", PASSAGES)
    content = server.requests[0]["json"]["messages"][1]["content"]
    assert "[1] Fees" in content and "[2]" not in content


def test_complete_is_a_plain_chat(server, answerer) -> None:
    server.replies.append(completion("  The caller lost a debit card and wants a new one.\n"))
    summary = answerer.complete("Summarise the call.", "Caller: I lost my card.", max_tokens=80)
    assert summary == "The caller lost a debit card and wants a new one."
    body = server.requests[0]["json"]
    assert body["messages"] == [
        {"role": "system", "content": "Summarise the call."},
        {"role": "user", "content": "Caller: I lost my card."},
    ]
    assert (body["max_tokens"], body["stream"]) == (80, False)


# -- stream() --------------------------------------------------------------------------


def test_stream_yields_each_sentence_as_soon_as_it_is_complete(server, answerer) -> None:
    pieces = ["A replacement card", " costs $5 [1", "].", " Express delivery", " costs $25 [1]."]
    server.replies.append(sse(pieces, hold_after=4, server=server))

    sentences = answerer.stream("Card fee?", PASSAGES, ["I lost my card"])
    first = next(sentences)  # the server is still holding back the rest
    assert first == "A replacement card costs 5 dollars."
    assert not server.release.is_set()
    server.release.set()
    assert list(sentences) == ["Express delivery costs 25 dollars."]

    body = server.requests[0]["json"]
    assert body["stream"] is True
    assert "I lost my card" in body["messages"][1]["content"]


def test_stream_speaks_what_answer_would(server, answerer) -> None:
    reply = "Branches open 9 a.m. Monday to Friday [2]. Wires cost $15 [3]."
    server.replies.append(completion(reply))
    server.replies.append(sse(list(reply)))  # one character at a time
    text = answerer.answer("When?", PASSAGES).text
    assert list(answerer.stream("When?", PASSAGES)) == split_sentences(text)


@pytest.mark.parametrize("pieces", [["NO_", "ANSWER"], ["NO_ANSWER", "."], [" no_answer"]])
def test_stream_refusal_yields_nothing(server, answerer, pieces) -> None:
    server.replies.append(sse(pieces))
    assert list(answerer.stream("Meaning of life?", PASSAGES)) == []


def test_stream_from_a_server_that_ignores_stream(server, answerer) -> None:
    server.replies.append(completion("A new card costs $5 [1]. It arrives in a week [1]."))
    assert list(answerer.stream("Card?", PASSAGES)) == [
        "A new card costs 5 dollars.",
        "It arrives in a week.",
    ]


def test_speakable_sentences_waits_for_a_whole_word_after_a_stop() -> None:
    # "a.m. Mo" could be a sentence end; "a.m. Monday" is not.
    assert list(speakable_sentences(["Open 9 a.m. Mo", "nday to Friday. Closed Sun."])) == [
        "Open 9 am Monday to Friday.",
        "Closed Sunday.",
    ]


# -- failures --------------------------------------------------------------------------


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{_unused_port()}/v1"
    with OpenAIAnswerer(url, "m") as answerer:
        with pytest.raises(GeneratorError, match="could not connect") as error:
            answerer.answer("Card?", PASSAGES)
        assert f"{url}/chat/completions" in str(error.value)
        assert error.value.retryable
        with pytest.raises(GeneratorError, match="could not connect"):
            list(answerer.stream("Card?", PASSAGES))


@pytest.mark.parametrize("use_stream", [False, True])
def test_server_error_status(server, answerer, use_stream) -> None:
    server.replies.append(status(500, "CUDA out of memory"))
    with pytest.raises(GeneratorError, match="HTTP 500: CUDA out of memory") as error:
        if use_stream:
            list(answerer.stream("Card?", PASSAGES))
        else:
            answerer.answer("Card?", PASSAGES)
    assert server.base_url in str(error.value)
    assert error.value.retryable


def test_a_bad_request_is_not_retryable(server, answerer) -> None:
    server.replies.append(status(404, "model 'x' not found"))
    with pytest.raises(GeneratorError, match="HTTP 404: model 'x' not found") as error:
        answerer.answer("Card?", PASSAGES)
    assert not error.value.retryable


@pytest.mark.parametrize(
    "reply",
    [
        raw("<html>gateway</html>"),
        raw('{"choices": []}'),
        raw('{"object": "list"}'),
    ],
    ids=["html", "no-choices", "not-a-completion"],
)
def test_malformed_replies(server, answerer, reply) -> None:
    server.replies.append(reply)
    with pytest.raises(GeneratorError, match="malformed reply") as error:
        answerer.answer("Card?", PASSAGES)
    assert not error.value.retryable


def test_a_malformed_event_stream(server, answerer) -> None:
    server.replies.append(raw("data: {oops\n\n", "text/event-stream"))
    with pytest.raises(GeneratorError, match="malformed reply"):
        list(answerer.stream("Card?", PASSAGES))


def test_an_error_reported_in_a_successful_reply(server, answerer) -> None:
    server.replies.append(raw('{"error": {"message": "model overloaded"}}'))
    with pytest.raises(GeneratorError, match="reported an error: model overloaded"):
        answerer.answer("Card?", PASSAGES)


def test_an_error_reported_inside_the_stream(server, answerer) -> None:
    events = 'data: {"error": {"message": "model overloaded"}}\n\n'
    server.replies.append(raw(events, "text/event-stream"))
    with pytest.raises(GeneratorError, match="model overloaded"):
        list(answerer.stream("Card?", PASSAGES))


def test_timeout(server) -> None:
    server.replies.append(stall(server))
    with OpenAIAnswerer(server.base_url, "m", timeout=0.1) as answerer:
        with pytest.raises(GeneratorError, match=r"no reply within 0.1s") as error:
            answerer.answer("Card?", PASSAGES)
    assert error.value.retryable


# -- llama.cpp -------------------------------------------------------------------------


class FakeLlama:
    """Answers like ``llama_cpp.Llama.create_chat_completion`` with a scripted reply."""

    def __init__(self, reply: str = "", error: Exception | None = None) -> None:
        self.reply = reply
        self.error = error
        self.calls: list[dict] = []
        self.streams_closed = 0

    def create_chat_completion(self, messages, max_tokens, temperature, stream=False):
        self.calls.append(
            {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        )
        if self.error:
            raise self.error
        if not stream:
            return {"choices": [{"message": {"role": "assistant", "content": self.reply}}]}
        return self._chunks()

    def _chunks(self) -> Iterator[dict]:
        try:
            yield {"choices": [{"delta": {"role": "assistant"}}]}
            for n in range(0, len(self.reply), 4):
                yield {"choices": [{"delta": {"content": self.reply[n : n + 4]}}]}
            yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        finally:
            self.streams_closed += 1


def test_llama_cpp_uses_the_same_prompt_and_reading() -> None:
    llama = FakeLlama("Wires cost $15 [3]. A new card is $5 [1].")
    answerer = LlamaCppAnswerer(llama=llama, max_tokens=64)
    result = answerer.answer("Fees?", PASSAGES, context=["Hello"])
    assert result == Answer(
        text="Wires cost 15 dollars. A new card is 5 dollars.", sources=("fees",), grounded=True
    )
    (call,) = llama.calls
    assert call["messages"] == build_messages("Fees?", PASSAGES, ["Hello"])
    assert (call["max_tokens"], call["temperature"]) == (64, 0.0)


def test_llama_cpp_streams_sentences() -> None:
    llama = FakeLlama("Wires cost $15 [3]. A new card is $5 [1].")
    answerer = LlamaCppAnswerer(llama=llama)
    assert list(answerer.stream("Fees?", PASSAGES)) == [
        "Wires cost 15 dollars.",
        "A new card is 5 dollars.",
    ]


def test_llama_cpp_stream_stops_the_model_when_the_caller_stops_listening() -> None:
    llama = FakeLlama("Wires cost $15 [3]. A new card is $5 [1]. Branches open Mon-Fri [2].")
    answerer = LlamaCppAnswerer(llama=llama)
    sentences = answerer.stream("Fees?", PASSAGES)
    assert next(sentences) == "Wires cost 15 dollars."
    sentences.close()
    assert llama.streams_closed == 1
    assert answerer.complete("Summarise.", "Caller: fees?") == llama.reply  # not locked out


def test_llama_cpp_refusal_and_no_passages() -> None:
    llama = FakeLlama(REFUSAL)
    answerer = LlamaCppAnswerer(llama=llama)
    assert answerer.answer("Meaning of life?", PASSAGES) is None
    assert list(answerer.stream("Meaning of life?", PASSAGES)) == []
    assert len(llama.calls) == 2
    assert answerer.answer("Anything?", []) is None
    assert list(answerer.stream("Anything?", [])) == []
    assert len(llama.calls) == 2


def test_llama_cpp_failure_is_a_generator_error() -> None:
    llama = FakeLlama(error=ValueError("Requested tokens exceed context"))
    answerer = LlamaCppAnswerer(llama=llama)
    with pytest.raises(GeneratorError, match="Requested tokens exceed context"):
        answerer.answer("Fees?", PASSAGES)
    with pytest.raises(GeneratorError, match="Requested tokens exceed context"):
        list(answerer.stream("Fees?", PASSAGES))


def test_llama_cpp_missing_model_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.gguf"):
        LlamaCppAnswerer(tmp_path / "missing.gguf")


def test_llama_cpp_not_installed(tmp_path, monkeypatch) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"pip install 'switchboard\[llm\]'"):
        LlamaCppAnswerer(model)


def test_llama_cpp_needs_a_model() -> None:
    with pytest.raises(ValueError, match="model_path"):
        LlamaCppAnswerer()


# -- the factory -----------------------------------------------------------------------


def test_make_answer_generator() -> None:
    assert isinstance(make_answer_generator(), ExtractiveAnswerer)
    assert make_answer_generator("extractive", max_sentences=1).max_sentences == 1
    with make_answer_generator("openai", base_url="http://h:1/v1", model="m") as answerer:
        assert isinstance(answerer, OpenAIAnswerer)
        assert answerer.url == "http://h:1/v1/chat/completions"
    for kind in ("llama-cpp", "llama_cpp"):
        assert isinstance(make_answer_generator(kind, llama=FakeLlama()), LlamaCppAnswerer)


def test_make_answer_generator_unknown_kind() -> None:
    with pytest.raises(ValueError, match="extractive, openai, llama-cpp"):
        make_answer_generator("gpt")
