"""What the caller wants (the "scene"): a small classifier over sentence embeddings.

Each utterance becomes a MiniLM sentence embedding (``knowledge.embeddings``), optionally
joined by hashed word and character n-grams, and a softmax classifier trained with numpy
(full-batch Adam, L2, class weights) picks the intent. A temperature fitted on a held-out
split makes ``confidence`` a calibrated probability, so ``unknown_below`` means what it says:
an utterance the model is less than that sure about is "unknown" (its best guess is kept).

Models are small (a weight matrix and a JSON file) and are loaded once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.embeddings import BUNDLED_EMBEDDING_MODEL, Embedder, get_embedder

__all__ = [
    "DEMO_INTENT_MODEL",
    "UNKNOWN_INTENT",
    "IntentModel",
    "IntentModelError",
    "IntentPrediction",
    "TrainOptions",
    "get_intent_model",
    "hashed_ngrams",
    "stratified_split",
]

DEMO_INTENT_MODEL = Path(__file__).resolve().parent / "models" / "bank_intents"
UNKNOWN_INTENT = "unknown"
_WEIGHTS, _CONFIG = "weights.npz", "intent_model.json"
_FORMAT = 1
_TEMPERATURES = np.geomspace(0.05, 20.0, 241)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


class IntentModelError(RuntimeError):
    """An intent model folder is missing or unreadable; retrying won't help."""


@dataclass(frozen=True)
class IntentPrediction:
    """``intent`` is ``best`` unless ``confidence`` fell below the model's ``unknown_below``."""

    text: str
    intent: str
    confidence: float
    best: str


@dataclass(frozen=True)
class TrainOptions:
    """How a model is trained; the defaults are those chosen on Banking77 (see benchmarks).

    ``hashed_features`` adds that many buckets of hashed word 1-2-grams and character 3-5-grams
    (TF-IDF weighted, unit length, scaled by ``hashed_weight``) to the embedding; 0 leaves
    them out. ``hidden`` > 0 puts one ReLU layer of that width before the softmax.
    ``calibration_fraction`` of each intent is held out to fit the temperature; with
    ``refit`` the weights are then trained again on every example and keep that temperature.
    """

    epochs: int = 600
    learning_rate: float = 0.02
    l2: float = 1e-6
    hashed_features: int = 0
    hashed_weight: float = 1.0
    hidden: int = 0
    calibration_fraction: float = 0.1
    class_weights: bool = True
    refit: bool = False
    seed: int = 0


def stratified_split(
    labels: Sequence[str], fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) row indices, holding out ``fraction`` of every label.

    A label with at least three examples gives at least one to the held-out side, so that
    every intent is seen on both sides even in small banks.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    kept, held = [], []
    for label in sorted(set(labels.tolist())):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n = int(round(len(rows) * fraction))
        if fraction > 0 and n == 0 and len(rows) >= 3:
            n = 1
        held.extend(rows[:n].tolist())
        kept.extend(rows[n:].tolist())
    return np.sort(np.array(kept, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def hashed_ngrams(texts: Sequence[str], buckets: int) -> np.ndarray:
    """Counts of word 1-2-grams and character 3-5-grams, hashed into ``buckets`` columns.

    ``crc32`` is used rather than ``hash()`` so that the columns are the same in every process.
    """
    out = np.zeros((len(texts), buckets), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        grams = [f"w {w}" for w in words] + [
            f"b {a} {b}" for a, b in zip(words, words[1:], strict=False)
        ]
        for word in words:
            padded = f" {word} "
            for n in (3, 4, 5):
                grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
        for gram in grams:
            out[row, zlib.crc32(gram.encode()) % buckets] += 1.0
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


class IntentModel:
    """A trained intent classifier; build one with ``train`` or ``load``."""

    def __init__(
        self,
        labels: list[str],
        params: dict[str, np.ndarray],
        *,
        temperature: float = 1.0,
        unknown_below: float = 0.5,
        embedding_model: str = BUNDLED_EMBEDDING_MODEL,
        options: TrainOptions | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.labels = list(labels)
        self.params = params
        self.temperature = float(temperature)
        self.unknown_below = float(unknown_below)
        self.embedding_model = embedding_model
        self.options = options or TrainOptions()
        self._embedder = embedder

    # --- features --------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedding_model)
        return self._embedder

    def features(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """The classifier's input rows: the embedding, then any hashed n-grams."""
        if embeddings is None:
            embeddings = self.embedder.embed(list(texts))
        return _features(texts, embeddings, self.options, self.params.get("idf"))

    # --- training --------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        options: TrainOptions | None = None,
        unknown_below: float = 0.5,
        embedder: Embedder | None = None,
        embeddings: np.ndarray | None = None,
    ) -> IntentModel:
        """Fit on ``texts``; ``embeddings`` may be given when they are already computed."""
        options = options or TrainOptions()
        if len(texts) != len(labels) or not texts:
            raise ValueError("train needs as many labels as texts, and at least one of each")
        embedder = embedder or get_embedder(BUNDLED_EMBEDDING_MODEL)
        if embeddings is None:
            embeddings = embedder.embed(list(texts))
        names = sorted(set(labels))
        y = np.array([names.index(label) for label in labels])
        fit, cal = stratified_split(labels, options.calibration_fraction, options.seed)
        params: dict[str, np.ndarray] = {}
        if options.hashed_features:
            counts = hashed_ngrams([texts[i] for i in fit], options.hashed_features)
            df = (counts > 0).sum(axis=0)
            params["idf"] = (np.log((1 + len(fit)) / (1 + df)) + 1).astype(np.float32)
        x = _features(texts, embeddings, options, params.get("idf"))
        params.update(_fit(x[fit], y[fit], len(names), options))
        model = cls(
            names,
            params,
            unknown_below=unknown_below,
            embedding_model=embedder.name,
            options=options,
            embedder=embedder,
        )
        if len(cal):
            logits = model._logits(x[cal])
            nll = [_nll(logits / t, y[cal]) for t in _TEMPERATURES]
            model.temperature = float(_TEMPERATURES[int(np.argmin(nll))])
            if options.refit:
                model.params = {**params, **_fit(x, y, len(names), options)}
        return model

    # --- inference -------------------------------------------------------------------------

    def _logits(self, x: np.ndarray) -> np.ndarray:
        p = self.params
        if "w1" in p:
            x = np.maximum(x @ p["w1"] + p["b1"], 0.0)
        return x @ p["w"] + p["b"]

    def probabilities(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in ``labels`` order."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return _softmax(self._logits(self.features(texts, embeddings)) / self.temperature)

    def classify(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        """Each text's intent; "unknown" where the model is less than ``unknown_below`` sure."""
        probs = self.probabilities(texts, embeddings)
        out = []
        for text, row in zip(texts, probs, strict=True):
            k = int(np.argmax(row))
            confidence = float(row[k])
            intent = self.labels[k] if confidence >= self.unknown_below else UNKNOWN_INTENT
            out.append(IntentPrediction(text, intent, confidence, self.labels[k]))
        return out

    # --- files -----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / _WEIGHTS, **self.params)
        config = {
            "format": _FORMAT,
            "labels": self.labels,
            "temperature": self.temperature,
            "unknown_below": self.unknown_below,
            "embedding_model": self.embedding_model,
            "options": dataclasses.asdict(self.options),
        }
        (folder / _CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, embedder: Embedder | None = None) -> IntentModel:
        """Read a saved model; use ``get_intent_model`` to share one per process."""
        folder = Path(folder)
        try:
            config = json.loads((folder / _CONFIG).read_text())
            with np.load(folder / _WEIGHTS) as weights:
                params = {k: weights[k] for k in weights.files}
        except (OSError, ValueError) as e:
            raise IntentModelError(f"no intent model in {folder}: {e}") from e
        if config.get("format") != _FORMAT:
            raise IntentModelError(f"{folder}: unknown intent model format {config.get('format')}")
        return cls(
            config["labels"],
            params,
            temperature=config["temperature"],
            unknown_below=config["unknown_below"],
            embedding_model=config["embedding_model"],
            options=TrainOptions(**config["options"]),
            embedder=embedder,
        )


@functools.cache
def _load_cached(folder: str) -> IntentModel:
    return IntentModel.load(folder)


def get_intent_model(folder: str | Path = DEMO_INTENT_MODEL) -> IntentModel:
    """The model saved in ``folder`` (default: the demo bank's), loaded once per process."""
    return _load_cached(str(Path(folder).expanduser().resolve()))


# --- numerics ------------------------------------------------------------------------------


def _features(
    texts: Sequence[str], embeddings: np.ndarray, options: TrainOptions, idf: np.ndarray | None
) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    if not options.hashed_features:
        return x
    counts = hashed_ngrams(texts, options.hashed_features)
    tfidf = np.log1p(counts) * idf
    tfidf /= np.maximum(np.linalg.norm(tfidf, axis=1, keepdims=True), 1e-12)
    return np.hstack([x, options.hashed_weight * tfidf])


def _nll(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def _fit(x: np.ndarray, y: np.ndarray, k: int, o: TrainOptions) -> dict[str, np.ndarray]:
    """Full-batch Adam on class-weighted cross-entropy with L2 on the weight matrices."""
    rng = np.random.default_rng(o.seed)
    n, d = x.shape
    counts = np.bincount(y, minlength=k).astype(np.float32)
    if o.class_weights:
        row_weight = (n / (k * np.maximum(counts, 1)))[y]
    else:
        row_weight = np.ones(n, dtype=np.float32)
    row_weight = (row_weight / row_weight.sum()).astype(np.float32)[:, None]
    onehot = np.zeros((n, k), dtype=np.float32)
    onehot[np.arange(n), y] = 1.0
    params: dict[str, np.ndarray] = {}
    if o.hidden:
        params["w1"] = (rng.standard_normal((d, o.hidden)) * math.sqrt(2.0 / d)).astype(np.float32)
        params["b1"] = np.zeros(o.hidden, dtype=np.float32)
        width = o.hidden
    else:
        width = d
    params["w"] = (rng.standard_normal((width, k)) * 0.01).astype(np.float32)
    params["b"] = np.zeros(k, dtype=np.float32)
    m = {name: np.zeros_like(v) for name, v in params.items()}
    v = {name: np.zeros_like(v) for name, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, o.epochs + 1):
        hidden = np.maximum(x @ params["w1"] + params["b1"], 0.0) if o.hidden else x
        g = (_softmax(hidden @ params["w"] + params["b"]) - onehot) * row_weight
        grads = {"w": hidden.T @ g + o.l2 * params["w"], "b": g.sum(axis=0)}
        if o.hidden:
            gh = (g @ params["w"].T) * (hidden > 0)
            grads["w1"] = x.T @ gh + o.l2 * params["w1"]
            grads["b1"] = gh.sum(axis=0)
        lr = o.learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        for name, grad in grads.items():
            m[name] = beta1 * m[name] + (1 - beta1) * grad
            v[name] = beta2 * v[name] + (1 - beta2) * grad * grad
            params[name] -= (lr * m[name] / (np.sqrt(v[name]) + eps)).astype(np.float32)
    return params
