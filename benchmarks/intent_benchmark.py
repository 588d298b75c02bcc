"""Intent classification: accuracy, macro-F1, calibration and latency of ``dialogue.intents``.

1. Banking77 (``../shared/data/nlu/banking77/train.csv``, 10,003 rows, 77 intents): a
   stratified 80/20 split (seed 0); each classifier variant is trained on the 80% and scored
   on the 20%: accuracy, macro-F1 and expected calibration error (10 equal-width bins of
   confidence). The MiniLM embeddings are computed once and shared by the variants.
   Banking77's own test.csv is never read.
2. Latency of the default variant: one utterance at a time, embedding included, median and
   p95 over ``--latency-queries`` test utterances.
3. The demo bank (``dialogue/data/intents_bank.csv``): accuracy on a stratified held-out 20%.

With ``--folds K`` it also scores the default variant by K-fold cross-validation over the
whole of Banking77's train.csv (stratified, seed 0: each fold is held out once and the model
is trained on the rest): one split's 2,002 utterances give a standard error of about 0.6
points, so the folds' mean is the steadier figure. Nothing is tuned on the folds.

With ``--tune`` it first scores a small grid of n-gram model settings on an inner split of
the 80% (15% of it, seed 1), which is how the defaults were chosen; the 20% is not used.

Usage: python benchmarks/intent_benchmark.py [--variants ensemble ...] [--tune] [--folds 5]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
from _service import RESULTS, machine

from dialogue.intents import IntentModel, TrainOptions, stratified_split
from knowledge.embeddings import get_embedder

REPO = Path(__file__).resolve().parent.parent
BANKING77 = REPO.parent / "shared" / "data" / "nlu" / "banking77" / "train.csv"
DEMO_BANK = REPO / "dialogue" / "data" / "intents_bank.csv"

VARIANTS = {
    "embedding": TrainOptions(ngram_weight=0.0),
    "ngrams": TrainOptions(ngram_weight=1.0),
    "ensemble": TrainOptions(),
}
TUNE_GRID = [
    {"ngram_epochs": epochs, "ngram_l2": l2} for epochs in (10, 20, 40) for l2 in (1e-6, 1e-5, 1e-4)
]
TUNE_WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)


def read_csv(path: Path, label_column: str) -> tuple[list[str], list[str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r[label_column] for r in rows]


def macro_f1(truth: list[str], guess: list[str]) -> float:
    scores = []
    for label in sorted(set(truth)):
        tp = sum(t == label and g == label for t, g in zip(truth, guess, strict=True))
        fp = sum(t != label and g == label for t, g in zip(truth, guess, strict=True))
        fn = sum(t == label and g != label for t, g in zip(truth, guess, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(ece)


def score(model: IntentModel, texts, labels, embeddings=None) -> dict:
    predictions = model.classify(texts, embeddings)
    guess = [p.best for p in predictions]
    correct = np.array([g == t for g, t in zip(guess, labels, strict=True)], dtype=np.float64)
    confidence = np.array([p.confidence for p in predictions])
    return {
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(macro_f1(labels, guess), 4),
        "ece": round(expected_calibration_error(confidence, correct), 4),
        "temperature": round(model.temperature, 3),
    }


def tune(texts, labels, embeddings, train, embedder) -> list[dict]:
    """Accuracy of each n-gram setting and ensemble weight on an inner split of ``train``."""
    labels_train = [labels[i] for i in train]
    inner_fit, inner_val = (train[rows] for rows in stratified_split(labels_train, 0.15, seed=1))
    truth = np.array([labels[i] for i in inner_val])
    rows = []
    for setting in TUNE_GRID:
        model = IntentModel.train(
            [texts[i] for i in inner_fit],
            [labels[i] for i in inner_fit],
            options=dataclasses.replace(TrainOptions(), **setting),
            embedder=embedder,
            embeddings=embeddings[inner_fit],
        )
        row = {**setting}
        for weight in TUNE_WEIGHTS:  # the weight changes only how the two models are averaged
            model.options = dataclasses.replace(model.options, ngram_weight=weight)
            probs = model.probabilities([texts[i] for i in inner_val], embeddings[inner_val])
            guess = np.array(model.labels)[probs.argmax(axis=1)]
            row[f"w{weight}"] = round(float((guess == truth).mean()), 4)
        rows.append(row)
        print("tune", row, flush=True)
    return rows


def stratified_folds(labels: list[str], k: int, seed: int = 0) -> np.ndarray:
    """Each row's fold (0..k-1): every label's rows, shuffled, dealt round the folds."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    folds = np.zeros(len(labels), dtype=np.int64)
    for label in sorted(set(labels)):
        rows = rng.permutation(np.flatnonzero(labels_array == label))
        folds[rows] = np.arange(len(rows)) % k
    return folds


def cross_validate(texts, labels, embeddings, embedder, k: int) -> dict:
    """Accuracy of the default variant on each of ``k`` stratified folds, trained on the rest."""
    folds = stratified_folds(labels, k)
    scores = []
    for fold in range(k):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        model = IntentModel.train(
            [texts[i] for i in train],
            [labels[i] for i in train],
            embedder=embedder,
            embeddings=embeddings[train],
        )
        scores.append(score(model, [texts[i] for i in test], [labels[i] for i in test],
                            embeddings[test])["accuracy"])  # fmt: skip
        print(f"fold {fold}: {scores[-1]}", flush=True)
    return {
        "folds": k,
        "accuracy": scores,
        "mean": round(statistics.mean(scores), 4),
        "median": round(statistics.median(scores), 4),
        "stdev": round(statistics.stdev(scores), 4),  # main() asks for two folds or more
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--tune", action="store_true", help="score the n-gram grid first")
    parser.add_argument(
        "--folds", type=int, default=0, help="also K-fold cross-validate the default variant"
    )
    args = parser.parse_args()

    embedder = get_embedder()
    texts, labels = read_csv(BANKING77, "category")
    train, test = stratified_split(labels, 0.2, seed=0)
    started = time.monotonic()
    embeddings = embedder.embed(texts)
    embed_seconds = time.monotonic() - started
    pick = lambda rows, idx: [rows[i] for i in idx]  # noqa: E731
    results: dict = {"machine": machine(), "banking77": {}, "embed_seconds": round(embed_seconds)}
    if args.tune:
        results["tune"] = tune(texts, labels, embeddings, train, embedder)
    models = {}
    for name in args.variants:
        options = VARIANTS[name]
        started = time.monotonic()
        model = IntentModel.train(
            pick(texts, train),
            pick(labels, train),
            options=options,
            embedder=embedder,
            embeddings=embeddings[train],
        )
        row = score(model, pick(texts, test), pick(labels, test), embeddings[test])
        row["train_seconds"] = round(time.monotonic() - started, 1)
        results["banking77"][name] = row
        models[name] = model
        print(name, row, flush=True)

    if args.folds > 1:
        folds = cross_validate(texts, labels, embeddings, embedder, args.folds)
        results["cross_validation"] = folds
        print("cross-validation", folds, flush=True)

    default = TrainOptions()
    best = next((n for n, o in VARIANTS.items() if o == default and n in models), args.variants[0])
    model = models[best]
    latencies = []
    for text in pick(texts, test)[: args.latency_queries]:
        started = time.perf_counter()
        model.classify([text])
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    results["latency"] = {
        "variant": best,
        "queries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    }
    print("latency", results["latency"], flush=True)

    demo_texts, demo_labels = read_csv(DEMO_BANK, "label")
    train, test = stratified_split(demo_labels, 0.2, seed=0)
    demo = IntentModel.train(pick(demo_texts, train), pick(demo_labels, train), embedder=embedder)
    results["demo_bank"] = {
        "train": len(train),
        "test": len(test),
        **score(demo, pick(demo_texts, test), pick(demo_labels, test)),
    }
    print("demo bank", results["demo_bank"], flush=True)

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "intents.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS / 'intents.json'}")


if __name__ == "__main__":
    main()
