"""The intent classifier: training, calibration, save/load, "unknown", the shipped model, CLI."""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import replace

import numpy as np
import pytest

from dialogue.intents import (
    DEMO_INTENT_MODEL,
    UNKNOWN_INTENT,
    IntentModel,
    IntentModelError,
    TrainOptions,
    get_intent_model,
    ngrams,
    stratified_split,
)


class WordEmbedder:
    """A hermetic stand-in for MiniLM: hashed bag of words, unit length."""

    name = "fake-words"
    dimension = 64

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.strip("?.!,").encode()) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


TINY = {
    "balance": ["what is my balance", "check balance", "my balance please", "balance of account"],
    "card": ["lost my card", "card stolen", "new card please", "replace card now"],
    "hours": ["when do you open", "opening hours", "what time open", "are you open today"],
}
TEXTS = [t for ts in TINY.values() for t in ts]
LABELS = [label for label, ts in TINY.items() for _ in ts]
FAST = TrainOptions(epochs=200, learning_rate=0.05, l2=1e-4, calibration_fraction=0.25)


@pytest.fixture(scope="module")
def tiny_model() -> IntentModel:
    return IntentModel.train(TEXTS, LABELS, options=FAST, embedder=WordEmbedder())


def test_stratified_split_holds_out_every_label():
    kept, held = stratified_split(LABELS, 0.25, seed=1)
    assert sorted([*kept, *held]) == list(range(len(LABELS)))
    assert {LABELS[i] for i in held} == set(TINY)


def test_trains_and_classifies_tiny_set(tiny_model: IntentModel):
    predictions = tiny_model.classify(["balance please", "my card was stolen", "open today?"])
    assert [p.best for p in predictions] == ["balance", "card", "hours"]
    assert all(0.0 < p.confidence <= 1.0 for p in predictions)
    assert tiny_model.temperature > 0
    assert tiny_model.labels == sorted(TINY)


def test_unknown_below_threshold_keeps_best_guess(tiny_model: IntentModel):
    strict = IntentModel(
        tiny_model.labels,
        tiny_model.params,
        temperature=tiny_model.temperature,
        unknown_below=1.01,
        embedder=WordEmbedder(),
    )
    [p] = strict.classify(["check balance"])
    assert p.intent == UNKNOWN_INTENT
    assert p.best == "balance"


def test_save_load_round_trip(tiny_model: IntentModel, tmp_path):
    tiny_model.save(tmp_path / "m")
    loaded = IntentModel.load(tmp_path / "m", embedder=WordEmbedder())
    texts = ["balance", "lost card", "hours", "something else entirely"]
    assert loaded.classify(texts) == tiny_model.classify(texts)
    assert loaded.temperature == tiny_model.temperature
    assert loaded.unknown_below == tiny_model.unknown_below
    assert loaded.embedding_model == "fake-words"


def test_ngrams_are_words_bigrams_and_padded_character_grams():
    grams = ngrams("Top-up, PIN")
    assert grams[:3] == ["w top", "w up", "w pin"]
    assert "b top up" in grams and "b up pin" in grams
    assert {" to", "top", "op ", " top", "top ", " top "} <= set(grams)
    assert ngrams("?!") == []


@pytest.mark.parametrize(
    "options",
    [
        TrainOptions(epochs=150, learning_rate=0.05, ngram_epochs=60, ngram_min_df=1),
        TrainOptions(ngram_weight=1.0, ngram_epochs=60, ngram_learning_rate=0.05, ngram_min_df=1),
        TrainOptions(epochs=150, learning_rate=0.01, hidden=16, ngram_weight=0.0),
    ],
    ids=["ensemble", "ngrams-only", "hidden-layer"],
)
def test_variants_train_and_round_trip(options: TrainOptions, tmp_path):
    model = IntentModel.train(TEXTS, LABELS, options=options, embedder=WordEmbedder())
    assert [p.best for p in model.classify(["check balance", "lost my card"])] == [
        "balance",
        "card",
    ]
    assert ("ngram_w" in model.params) == (options.ngram_weight > 0)
    loaded = IntentModel.load(model.save(tmp_path / "m"), embedder=model.embedder)
    texts = [*TEXTS, "words it has never seen", ""]
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts))


def test_loads_a_format_1_model(tmp_path):
    """A model saved before the n-gram classifier existed keeps working as it did."""
    old = IntentModel.train(
        TEXTS, LABELS, options=replace(FAST, ngram_weight=0.0), embedder=WordEmbedder()
    )
    folder = old.save(tmp_path / "old")
    config = json.loads((folder / "intent_model.json").read_text())
    options = {k: v for k, v in config["options"].items() if not k.startswith("ngram")}
    options |= {"hashed_features": 0, "hashed_weight": 1.0}
    (folder / "intent_model.json").write_text(
        json.dumps({**config, "format": 1, "options": options})
    )
    loaded = IntentModel.load(folder, embedder=WordEmbedder())
    assert loaded.options.ngram_weight == 0.0
    np.testing.assert_allclose(loaded.probabilities(TEXTS), old.probabilities(TEXTS))

    config["format"] = 99
    (folder / "intent_model.json").write_text(json.dumps(config))
    with pytest.raises(IntentModelError, match="train it again"):
        IntentModel.load(folder)


# --- the real embedder and the shipped demo model ---------------------------------------------

OBVIOUS = {
    "I want to check my balance": "check_balance",
    "how much money is in my checking account": "check_balance",
    "can I talk to a real person": "agent_request",
    "what's the weather tomorrow": "out_of_scope",
    "I lost my debit card": "replace_card",
    "send 100 dollars to my savings account": "transfer_money",
    "I need to order more checks": "order_checks",
    "I forgot my password": "reset_password",
    "what time does the branch open on saturday": "branch_hours",
    "I'd like to book an appointment with an advisor": "schedule_appointment",
    "hello there": "greeting",
    "ok thanks goodbye": "goodbye",
    "yes that's right": "affirm",
    "no": "deny",
    "sorry can you say that again": "repeat",
    "I want to pay my credit card bill": "pay_bill",
}


@pytest.mark.slow
def test_shipped_model_classifies_obvious_phrasings():
    model = get_intent_model()
    assert get_intent_model(DEMO_INTENT_MODEL) is model
    predictions = model.classify(list(OBVIOUS))
    assert {p.text: p.intent for p in predictions} == OBVIOUS


@pytest.mark.slow
def test_real_embedder_trains_on_tiny_set():
    model = IntentModel.train(TEXTS, LABELS, options=FAST)
    assert model.embedding_model == "all-MiniLM-L6-v2"
    assert [p.best for p in model.classify(["how much do I have", "my card is gone"])] == [
        "balance",
        "card",
    ]


@pytest.mark.slow
def test_cli_classify_prints_json_lines(monkeypatch, capsys):
    from switchboard.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("can I talk to a real person\n\nhello\n"))
    assert main(["intents", "classify"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["can I talk to a real person", "hello"]
    assert rows[0]["intent"] == "agent_request"
    assert all(set(r) == {"text", "intent", "confidence"} for r in rows)
    assert all(r["confidence"] == round(r["confidence"], 4) for r in rows)
