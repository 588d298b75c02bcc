"""Answer generators backed by a chat LLM: an OpenAI-compatible server or a local GGUF file.

Both engines ask the model the same grounded question (``SYSTEM_PROMPT``): answer only from
the numbered passages, in one to three short spoken sentences, cite passages as [1], and
reply exactly ``NO_ANSWER`` when the passages do not say. The reply is read back the same
way: citations become the answer's sources and are not spoken, the refusal marker becomes
None, and notation is rewritten for speech (``to_spoken``). With no passages the model is
not asked at all, so it has nothing to invent from.

An engine that fails raises ``GeneratorError``, so the dialogue can fall back to
``ExtractiveAnswerer`` for that turn instead of ending the call.
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from dialogue.answers import Answer, AnswerGenerator, ExtractiveAnswerer, split_sentences
from dialogue.spoken import to_spoken
from knowledge.types import Passage

REFUSAL = "NO_ANSWER"
"""What the model replies when the passages do not contain the answer."""

SYSTEM_PROMPT = (
    "You are the phone assistant of a bank, speaking with a caller. Answer the caller's "
    "question using ONLY the numbered passages in the message. Reply in one to three short "
    "sentences that sound natural when read aloud: no markdown, no lists, no headings, no "
    "links. After each sentence cite the passage it comes from, as [1], [2] and so on. Never "
    "add anything the passages do not say. If the passages do not contain the answer, reply "
    f"with exactly {REFUSAL} and nothing else."
)

Message = dict[str, str]


class GeneratorError(RuntimeError):
    """An answer generator's engine failed; the dialogue should answer another way.

    ``retryable`` is True when the same request may succeed later (the server was down,
    slow or overloaded) and False when it will not (a bad request, a malformed reply).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChatAnswerer(AnswerGenerator, ABC):
    """Grounded answers from a chat model; an engine implements ``_chat`` and ``_chat_stream``.

    Args:
        max_tokens: the longest reply, in tokens (default 200: three spoken sentences with
            room to spare).
        temperature: sampling temperature (default 0.0: the same question gets the same
            answer).
        max_passages: how many of the best passages the model sees (default 4).
        system_prompt: the instructions; they must keep asking for [n] citations and
            ``REFUSAL``, which is how the reply is read.
    """

    def __init__(
        self,
        *,
        max_tokens: int = 200,
        temperature: float = 0.0,
        max_passages: int = 4,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if max_passages < 1:
            raise ValueError("max_passages must be at least 1")
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_passages = max_passages
        self.system_prompt = system_prompt

    def answer(
        self, question: str, passages: list[Passage], *, context: list[str] | None = None
    ) -> Answer | None:
        """The model's answer with its cited sources, or None when it refused.

        ``grounded`` is True when the model cited only passages it was given and cited at
        least one; its wording is not checked against them. An answer that cites nothing
        is attributed to the best passage, with ``grounded`` False.
        """
        if not passages:
            return None
        passages = passages[: self.max_passages]
        messages = build_messages(question, passages, context, self.system_prompt)
        return parse_reply(self._chat(messages, max_tokens=self.max_tokens), passages)

    def stream(
        self, question: str, passages: list[Passage], context: list[str] | None = None
    ) -> Iterator[str]:
        """Spoken sentences of the answer, each as soon as the model has finished it.

        Nothing when the model refuses. A refusal after some sentences (which the prompt
        does not ask for) ends the answer there: what was said cannot be taken back.
        """
        if not passages:
            return
        passages = passages[: self.max_passages]
        messages = build_messages(question, passages, context, self.system_prompt)
        deltas = self._chat_stream(messages, max_tokens=self.max_tokens)
        try:
            yield from speakable_sentences(deltas)
        finally:
            deltas.close()  # stop the model when the caller stops listening

    def complete(self, system: str, user: str, max_tokens: int = 300) -> str:
        """A plain reply to ``user`` under ``system`` instructions (for summaries), stripped."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return self._chat(messages, max_tokens=max_tokens).strip()

    @abstractmethod
    def _chat(self, messages: list[Message], *, max_tokens: int) -> str:
        """The whole reply. Raises ``GeneratorError``."""

    @abstractmethod
    def _chat_stream(self, messages: list[Message], *, max_tokens: int) -> Generator[str]:
        """The reply in pieces, as the model writes them. Raises ``GeneratorError``."""


class OpenAIAnswerer(ChatAnswerer):
    """Answers from any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp's
    server, DashScope).

    Args:
        base_url: the API root, such as ``http://localhost:8000/v1``.
        model: the model name the server knows.
        api_key: sent as a bearer token when given (local servers usually need none).
        timeout: seconds to wait to connect and for each read (default 10.0); streaming
            replies may take longer in all, as long as they keep coming.
        Other options as ``ChatAnswerer``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIAnswerer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _payload(self, messages: list[Message], max_tokens: int, stream: bool) -> dict:
        return {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": stream,
        }

    def _chat(self, messages: list[Message], *, max_tokens: int) -> str:
        try:
            response = self._client.post(self.url, json=self._payload(messages, max_tokens, False))
            response.raise_for_status()
            return message_content(response.json())
        except (httpx.HTTPError, ValueError) as e:
            raise self._error(e) from e

    def _chat_stream(self, messages: list[Message], *, max_tokens: int) -> Generator[str]:
        payload = self._payload(messages, max_tokens, True)
        try:
            with self._client.stream("POST", self.url, json=payload) as response:
                if response.is_error:
                    response.read()  # so the error can quote the body
                    response.raise_for_status()
                if response.headers.get("content-type", "").startswith("application/json"):
                    yield message_content(json.loads(response.read()))  # stream was ignored
                    return
                yield from sse_deltas(response.iter_lines())
        except (httpx.HTTPError, ValueError) as e:
            raise self._error(e) from e

    def _error(self, error: Exception) -> GeneratorError:
        """Translate an httpx or parsing error into one that names the URL."""
        where = f"chat endpoint {self.url}"
        if isinstance(error, httpx.ConnectError):
            return GeneratorError(f"{where}: could not connect ({error})", retryable=True)
        if isinstance(error, httpx.TimeoutException):
            return GeneratorError(f"{where}: no reply within {self.timeout}s", retryable=True)
        if isinstance(error, httpx.HTTPStatusError):
            status = error.response.status_code
            body = error.response.text.strip()[:200]
            return GeneratorError(
                f"{where}: HTTP {status}: {body or error.response.reason_phrase}",
                retryable=status >= 500 or status == 429,
            )
        if isinstance(error, httpx.HTTPError):
            return GeneratorError(f"{where}: connection failed ({error})", retryable=True)
        if isinstance(error, ReportedError):
            return GeneratorError(f"{where}: {error}")
        return GeneratorError(f"{where}: malformed reply ({error})")


class LlamaCppAnswerer(ChatAnswerer):
    """Answers from a local GGUF chat model through llama-cpp-python (the ``llm`` extra).

    The model is loaded once, here; calls are serialised because a ``Llama`` is not
    thread-safe.

    Args:
        model_path: the ``.gguf`` file; its chat template is used unless ``chat_format``
            names another.
        llama: an already-built ``Llama`` (or anything with its ``create_chat_completion``)
            to use instead of loading ``model_path``.
        n_ctx: context window in tokens (default 4096: four passages and the prompt).
        n_threads: CPU threads (default: llama.cpp's choice).
        n_gpu_layers: layers to offload to a GPU (default 0; -1 for all).
        Other options as ``ChatAnswerer``.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        llama: Any | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        chat_format: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if llama is None:
            if model_path is None:
                raise ValueError("LlamaCppAnswerer needs model_path (a .gguf file) or llama")
            llama = _load_llama(
                Path(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_gpu_layers=n_gpu_layers,
                chat_format=chat_format,
            )
        self.name = str(model_path) if model_path is not None else type(llama).__name__
        self._llama = llama
        self._lock = threading.Lock()

    def _chat(self, messages: list[Message], *, max_tokens: int) -> str:
        try:
            with self._lock:
                reply = self._llama.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=self.temperature
                )
            return message_content(reply)
        except Exception as e:  # llama_cpp raises ValueError and RuntimeError alike
            raise GeneratorError(f"llama.cpp model {self.name}: {e}") from e

    def _chat_stream(self, messages: list[Message], *, max_tokens: int) -> Generator[str]:
        try:
            with self._lock:
                chunks = self._llama.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=self.temperature,
                    stream=True,
                )
                for chunk in chunks:
                    if delta := delta_content(chunk):
                        yield delta
        except Exception as e:
            raise GeneratorError(f"llama.cpp model {self.name}: {e}") from e


def _load_llama(path: Path, **options: Any) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"GGUF model not found: {path}")
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise ImportError(
            "LlamaCppAnswerer needs llama-cpp-python: pip install 'switchboard[llm]'"
        ) from e
    try:
        return Llama(model_path=str(path), verbose=False, **options)
    except ValueError as e:
        raise ValueError(f"could not load GGUF model {path}: {e}") from e


_KINDS = ("extractive", "openai", "llama-cpp")


def make_answer_generator(kind: str = "extractive", **options: Any) -> AnswerGenerator:
    """The answer generator called ``kind`` ("extractive", "openai" or "llama-cpp"), built
    with ``options`` (its constructor's arguments)."""
    normalised = kind.strip().lower().replace("_", "-")
    if normalised == "extractive":
        return ExtractiveAnswerer(**options)
    if normalised == "openai":
        return OpenAIAnswerer(**options)
    if normalised == "llama-cpp":
        return LlamaCppAnswerer(**options)
    raise ValueError(f"unknown answer generator {kind!r}: expected one of {', '.join(_KINDS)}")


# -- the prompt and the reply, shared by every engine ------------------------------------


def build_messages(
    question: str,
    passages: list[Passage],
    context: list[str] | None = None,
    system_prompt: str = SYSTEM_PROMPT,
) -> list[Message]:
    """The system instructions and one user message: earlier turns, numbered passages, the
    question. One user message suits every chat template, even those that insist on
    alternating roles."""
    parts = []
    if context:
        turns = "\n".join(f"- {turn}" for turn in context)
        parts.append(f"Earlier in this call the caller said:\n{turns}")
    numbered = "\n\n".join(
        f"[{n}] {_label(passage)}\n{passage.text.strip()}"
        for n, passage in enumerate(passages, start=1)
    )
    parts.append(f"Passages:\n{numbered}")
    parts.append(f"The caller's question: {question.strip()}")
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def _label(passage: Passage) -> str:
    """Title and heading path, without repeats: "Cards / Lost or stolen"."""
    parts = (passage.title, *passage.heading_path)
    return " / ".join(dict.fromkeys(part for part in parts if part))


_REFUSAL = re.compile(r"NO[_ ]ANSWER", re.IGNORECASE)
_CITATION = re.compile(
    r"\s*[\[【]\^?\s*(?:(?:passages?|sources?)\s*)?(\d+(?:\s*[,;]\s*\^?\d+)*)\s*[\]】]",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t]{2,}")


def parse_reply(reply: str, passages: list[Passage]) -> Answer | None:
    """Read a model's reply to ``build_messages``: None for a refusal or an empty reply."""
    if _REFUSAL.search(reply):
        return None
    text = to_spoken(strip_citations(reply))
    if not text:
        return None
    numbers = [int(n) for match in _CITATION.finditer(reply) for n in re.findall(r"\d+", match[1])]
    cited = [passages[n - 1] for n in numbers if 1 <= n <= len(passages)]
    grounded = bool(cited) and len(cited) == len(numbers)
    sources = tuple(dict.fromkeys(passage.document_id for passage in cited or passages[:1]))
    return Answer(text=text, sources=sources, grounded=grounded)


def strip_citations(text: str) -> str:
    """``text`` without its [n] citation marks or the spaces before them."""
    return _without_citations(text).strip()


def _without_citations(text: str) -> str:
    return _SPACES.sub(" ", _CITATION.sub("", text))


def speakable_sentences(deltas: Iterable[str]) -> Iterator[str]:
    """Spoken sentences from a reply arriving in pieces, each as soon as it is complete.

    A sentence is complete once the first word of the next one has arrived (only then is a
    stop known to end it: "9 a.m. Monday" does not split). Citation marks are never
    spoken, and a sentence holding the refusal marker ends the answer.
    """
    reply = ""
    said = 0
    for delta in deltas:
        reply += delta
        text = _without_citations(reply)
        sentences = split_sentences(text)
        # The last boundary is certain only once a whole word follows it.
        word_after = sentences and (text[-1:].isspace() or len(sentences[-1].split()) > 1)
        ready = len(sentences) - (1 if word_after else 2)
        for sentence in sentences[said:ready]:
            if _REFUSAL.search(sentence):
                return
            if spoken := to_spoken(sentence):
                yield spoken
        said = max(said, ready)
    for sentence in split_sentences(_without_citations(reply))[said:]:
        if _REFUSAL.search(sentence):
            return
        if spoken := to_spoken(sentence):
            yield spoken


def sse_deltas(lines: Iterable[str]) -> Iterator[str]:
    """The text pieces of an OpenAI-style server-sent event stream, up to ``[DONE]``.

    Raises ValueError for an event that is not a chat-completion chunk.
    """
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, "event:" names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        if delta := delta_content(json.loads(data)):
            yield delta


def message_content(reply: Any) -> str:
    """The text of a chat completion (``choices[0].message.content``)."""
    _raise_reported_error(reply)
    try:
        return reply["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"not a chat completion: {str(reply)[:200]}") from e


def delta_content(chunk: Any) -> str:
    """The text of a streamed chat-completion chunk (``choices[0].delta.content``); empty
    for chunks that carry none (the role, the finish reason, usage)."""
    _raise_reported_error(chunk)
    try:
        choices = chunk["choices"]
        if not choices:
            return ""
        return (choices[0].get("delta") or {}).get("content") or ""
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"not a chat-completion chunk: {str(chunk)[:200]}") from e


class ReportedError(ValueError):
    """A failure the server reported in a reply that otherwise looked successful."""


def _raise_reported_error(reply: Any) -> None:
    """Servers report some failures inside a 200 reply: ``{"error": {"message": ...}}``."""
    if isinstance(reply, dict) and reply.get("error"):
        error = reply["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ReportedError(f"the server reported an error: {message}")


__all__ = [
    "REFUSAL",
    "SYSTEM_PROMPT",
    "ChatAnswerer",
    "GeneratorError",
    "LlamaCppAnswerer",
    "OpenAIAnswerer",
    "build_messages",
    "make_answer_generator",
    "parse_reply",
    "speakable_sentences",
    "strip_citations",
]
