"""What the caller wants (the "scene"): two small classifiers, averaged, then calibrated.

Each utterance becomes a MiniLM sentence embedding (``knowledge.embeddings``) and a softmax
classifier over it is trained with numpy (full-batch Adam, L2, class weights). Beside it a
second softmax classifier reads TF-IDF word 1-2-grams and character 3-5-grams (sublinear tf,
unit length, a vocabulary of the n-grams seen in at least ``ngram_min_df`` training texts):
it catches the exact words ("top up", "PIN", "refund") that a sentence embedding blurs. The
two models' log-probabilities are averaged with weight ``ngram_weight``; on Banking77 the
average beats the embedding classifier alone by 0.2-1 point (benchmarks/results/intents.md).

A temperature fitted on a held-out split makes ``confidence`` a calibrated probability, so
``unknown_below`` means what it says: an utterance the model is less than that sure about is
"unknown" (its best guess is kept). Models are small (weight matrices, the n-gram vocabulary
and a JSON file) and are loaded once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
    "ngrams",
    "stratified_split",
]

DEMO_INTENT_MODEL = Path(__file__).resolve().parent / "models" / "bank_intents"
UNKNOWN_INTENT = "unknown"
_WEIGHTS, _CONFIG = "weights.npz", "intent_model.json"
_FORMAT = 2  # 1: the embedding classifier alone (still loaded)
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

    The embedding classifier: ``epochs`` of full-batch Adam at ``learning_rate`` with ``l2``;
    ``hidden`` > 0 puts one ReLU layer of that width before its softmax.

    The n-gram classifier: ``ngram_epochs`` of mini-batch Adam (``ngram_batch`` rows, lazy
    updates of the rows of the weight matrix that a batch touches) at ``ngram_learning_rate``
    with ``ngram_l2``. ``ngram_weight`` is its share of the averaged log-probabilities; 0
    leaves it out.

    ``calibration_fraction`` of each intent is held out to fit the temperature; with
    ``refit`` the weights are then trained again on every example and keep that temperature.
    """

    epochs: int = 600
    learning_rate: float = 0.02
    l2: float = 1e-6
    hidden: int = 0
    ngram_weight: float = 0.6
    ngram_min_df: int = 2
    ngram_epochs: int = 20
    ngram_learning_rate: float = 0.01
    ngram_l2: float = 1e-4
    ngram_batch: int = 256
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


def ngrams(text: str) -> list[str]:
    """The word 1-2-grams and the character 3-5-grams of each word (padded with spaces)."""
    words = _WORD.findall(text.lower())
    grams = [f"w {w}" for w in words]
    grams += [f"b {a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class _Sparse(NamedTuple):
    """Rows of TF-IDF weights in compressed sparse row form."""

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray

    def dense(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns used, the rows as a dense matrix over just those columns)."""
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        at = offsets + np.arange(int(lengths.sum()))
        used, column = np.unique(self.columns[at], return_inverse=True)
        out = np.zeros((len(rows), len(used)), dtype=np.float32)
        out[np.repeat(np.arange(len(rows)), lengths), column] = self.values[at]
        return used, out


class _Vectorizer:
    """TF-IDF over a fixed n-gram vocabulary: ``1 + log(count)`` times idf, unit length."""

    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray) -> None:
        self.vocabulary = np.asarray(vocabulary, dtype=str)
        self.idf = np.asarray(idf, dtype=np.float32)
        self._index = {gram: j for j, gram in enumerate(self.vocabulary.tolist())}

    @classmethod
    def fit(cls, texts: Sequence[str], min_df: int) -> _Vectorizer:
        df = Counter(gram for text in texts for gram in set(ngrams(text)))
        kept = sorted(gram for gram, count in df.items() if count >= min_df)
        idf = [math.log((1 + len(texts)) / (1 + df[gram])) + 1 for gram in kept]
        return cls(kept, np.array(idf, dtype=np.float32))

    def transform(self, texts: Sequence[str]) -> _Sparse:
        indptr = [0]
        columns, values = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
        for text in texts:
            counts = Counter(j for g in ngrams(text) if (j := self._index.get(g)) is not None)
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            weights = (1.0 + np.log(tf)) * self.idf[cols]
            columns.append(cols)
            values.append(weights / max(float(np.linalg.norm(weights)), 1e-12))
            indptr.append(indptr[-1] + len(counts))
        return _Sparse(
            np.array(indptr, dtype=np.int64),
            np.concatenate(columns).astype(np.int64),
            np.concatenate(values).astype(np.float32),
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


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
        self._vectorizer = (
            _Vectorizer(params["ngram_vocabulary"], params["ngram_idf"])
            if "ngram_vocabulary" in params
            else None
        )

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedding_model)
        return self._embedder

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
        x = np.asarray(embeddings, dtype=np.float32)
        names = sorted(set(labels))
        y = np.array([names.index(label) for label in labels])
        fit, cal = stratified_split(labels, options.calibration_fraction, options.seed)

        def fit_params(rows: np.ndarray) -> dict[str, np.ndarray]:
            params = _fit(x[rows], y[rows], len(names), options)
            if options.ngram_weight > 0:
                vectorizer = _Vectorizer.fit([texts[i] for i in rows], options.ngram_min_df)
                grams = vectorizer.transform([texts[i] for i in rows])
                kept = vectorizer.vocabulary
                params["ngram_vocabulary"] = kept
                params["ngram_idf"] = vectorizer.idf
                params.update(_fit_sparse(grams, len(kept), y[rows], len(names), options))
            return params

        model = cls(
            names,
            fit_params(fit),
            unknown_below=unknown_below,
            embedding_model=embedder.name,
            options=options,
            embedder=embedder,
        )
        if len(cal):
            scores = model._scores([texts[i] for i in cal], x[cal])
            nll = [_nll(scores / t, y[cal]) for t in _TEMPERATURES]
            temperature = float(_TEMPERATURES[int(np.argmin(nll))])
            if options.refit:
                model = cls(
                    names,
                    fit_params(np.arange(len(texts))),
                    unknown_below=unknown_below,
                    embedding_model=embedder.name,
                    options=options,
                    embedder=embedder,
                )
            model.temperature = temperature
        return model

    # --- inference -------------------------------------------------------------------------

    def _scores(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Uncalibrated scores: the weighted average of the two models' log-probabilities."""
        p = self.params
        x = np.asarray(embeddings, dtype=np.float32)
        if "w1" in p:
            x = np.maximum(x @ p["w1"] + p["b1"], 0.0)
        logits = x @ p["w"] + p["b"]
        if self._vectorizer is None:
            return logits
        used, grams = self._vectorizer.transform(texts).dense(np.arange(len(texts)))
        ngram_logits = grams @ p["ngram_w"][used] + p["ngram_b"]
        share = self.options.ngram_weight
        return (1 - share) * _log_softmax(logits) + share * _log_softmax(ngram_logits)

    def probabilities(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in ``labels`` order."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if embeddings is None:
            embeddings = self.embedder.embed(list(texts))
        return _softmax(self._scores(texts, embeddings) / self.temperature)

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
        np.savez_compressed(folder / _WEIGHTS, **self.params)
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
        options = config.get("options", {})
        if config.get("format") == 1 and not options.get("hashed_features"):
            known = {f.name for f in dataclasses.fields(TrainOptions)}
            options = {k: v for k, v in options.items() if k in known} | {"ngram_weight": 0.0}
        elif config.get("format") != _FORMAT:
            raise IntentModelError(
                f"{folder}: intent model format {config.get('format')} is not readable by this "
                "version: train it again with `switchboard intents train`"
            )
        return cls(
            config["labels"],
            params,
            temperature=config["temperature"],
            unknown_below=config["unknown_below"],
            embedding_model=config["embedding_model"],
            options=TrainOptions(**options),
            embedder=embedder,
        )


@functools.cache
def _load_cached(folder: str) -> IntentModel:
    return IntentModel.load(folder)


def get_intent_model(folder: str | Path = DEMO_INTENT_MODEL) -> IntentModel:
    """The model saved in ``folder`` (default: the demo bank's), loaded once per process."""
    return _load_cached(str(Path(folder).expanduser().resolve()))


# --- numerics ------------------------------------------------------------------------------


def _nll(logits: np.ndarray, y: np.ndarray) -> float:
    return float(-_log_softmax(logits)[np.arange(len(y)), y].mean())


def _row_weights(y: np.ndarray, k: int, balanced: bool) -> np.ndarray:
    """Per-row loss weights summing to 1; ``balanced`` gives every class the same total."""
    counts = np.bincount(y, minlength=k).astype(np.float32)
    weights = (len(y) / (k * np.maximum(counts, 1)))[y] if balanced else np.ones(len(y))
    return (weights / weights.sum()).astype(np.float32)


class _Adam:
    """Adam on a dict of arrays; ``step(grads, rows)`` may update only some rows of one."""

    def __init__(self, params: dict[str, np.ndarray], learning_rate: float) -> None:
        self.params, self.learning_rate, self.t = params, learning_rate, 0
        self.m = {name: np.zeros_like(v) for name, v in params.items()}
        self.v = {name: np.zeros_like(v) for name, v in params.items()}

    def step(self, grads: dict[str, np.ndarray], rows: dict[str, np.ndarray] | None = None):
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        self.t += 1
        lr = self.learning_rate * math.sqrt(1 - beta2**self.t) / (1 - beta1**self.t)
        for name, grad in grads.items():
            at = slice(None) if rows is None or name not in rows else rows[name]
            m = self.m[name][at] = beta1 * self.m[name][at] + (1 - beta1) * grad
            v = self.v[name][at] = beta2 * self.v[name][at] + (1 - beta2) * grad * grad
            self.params[name][at] -= (lr * m / (np.sqrt(v) + eps)).astype(np.float32)


def _fit(x: np.ndarray, y: np.ndarray, k: int, o: TrainOptions) -> dict[str, np.ndarray]:
    """Full-batch Adam on class-weighted cross-entropy with L2 on the weight matrices."""
    rng = np.random.default_rng(o.seed)
    n, d = x.shape
    row_weight = _row_weights(y, k, o.class_weights)[:, None]
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
    adam = _Adam(params, o.learning_rate)
    for _ in range(o.epochs):
        hidden = np.maximum(x @ params["w1"] + params["b1"], 0.0) if o.hidden else x
        g = (_softmax(hidden @ params["w"] + params["b"]) - onehot) * row_weight
        grads = {"w": hidden.T @ g + o.l2 * params["w"], "b": g.sum(axis=0)}
        if o.hidden:
            gh = (g @ params["w"].T) * (hidden > 0)
            grads["w1"] = x.T @ gh + o.l2 * params["w1"]
            grads["b1"] = gh.sum(axis=0)
        adam.step(grads)
    return params


def _fit_sparse(
    x: _Sparse, width: int, y: np.ndarray, k: int, o: TrainOptions
) -> dict[str, np.ndarray]:
    """Mini-batch Adam on the n-gram rows; each step touches only the n-grams in its batch."""
    rng = np.random.default_rng(o.seed)
    n = len(y)
    row_weight = _row_weights(y, k, o.class_weights) * n
    params = {
        "ngram_w": np.zeros((width, k), dtype=np.float32),
        "ngram_b": np.zeros(k, dtype=np.float32),
    }
    w, b = params["ngram_w"], params["ngram_b"]
    adam = _Adam(params, o.ngram_learning_rate)
    for _ in range(o.ngram_epochs):
        order = rng.permutation(n)
        for start in range(0, n, o.ngram_batch):
            rows = order[start : start + o.ngram_batch]
            used, batch = x.dense(rows)
            g = _softmax(batch @ w[used] + b)
            g[np.arange(len(rows)), y[rows]] -= 1.0
            g *= row_weight[rows, None] / len(rows)
            grads = {"ngram_w": batch.T @ g + o.ngram_l2 * w[used], "ngram_b": g.sum(axis=0)}
            adam.step(grads, rows={"ngram_w": used})
    return params
