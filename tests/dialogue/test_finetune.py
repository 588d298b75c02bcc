"""Fine-tuning the sentence encoder for intents (the ``finetune`` extra: PyTorch and onnx)."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest

from dialogue.finetune import FineTuneError, fine_tune_encoder
from dialogue.intents import DEMO_INTENT_MODEL, IntentModel, TrainOptions, stratified_split
from knowledge.embeddings import OnnxEmbedder, get_embedder

BANK_CSV = DEMO_INTENT_MODEL.parent.parent / "data" / "intents_bank.csv"


def _bank() -> tuple[list[str], list[str]]:
    with BANK_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_without_pytorch_the_error_says_what_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    model, tokenizer = get_embedder().model_files
    with pytest.raises(FineTuneError, match=r"finetune"):
        fine_tune_encoder(["hi"], [0], model, tokenizer, tmp_path, classes=1, epochs=1)


def test_the_rebuilt_encoder_writes_back_the_same_model(tmp_path) -> None:
    """No training: the encoder rebuilt in PyTorch and written back into the graph (int8
    again) gives the embeddings of the original."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    model, tokenizer = get_embedder().model_files
    tuned = fine_tune_encoder(
        ["hi", "bye"], [0, 1], model, tokenizer, tmp_path, classes=2, epochs=0
    )
    texts = ["how much money is in my savings", "I lost my card yesterday"]
    before = OnnxEmbedder(model, tokenizer).embed(texts)
    after = OnnxEmbedder(tuned.folder / "model.onnx", tuned.folder / "tokenizer.json").embed(texts)
    assert np.all((before * after).sum(axis=1) > 0.9999)
    assert tuned.w.shape == (384, 2) and tuned.b.shape == (2,)


def test_a_fine_tuned_intent_model_carries_its_encoder(tmp_path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    texts, labels = _bank()
    train, test = stratified_split(labels, 0.2, seed=0)
    options = TrainOptions(fine_tune_epochs=4, fine_tune_learning_rate=1e-4)
    model = IntentModel.train(
        [texts[i] for i in train], [labels[i] for i in train], options=options
    )
    folder = model.save(tmp_path / "model")
    assert (folder / "encoder" / "model.onnx").is_file()
    assert json.loads((folder / "intent_model.json").read_text())["embedding_model"] == "encoder"

    loaded = IntentModel.load(folder)
    held_out = [texts[i] for i in test]
    assert np.allclose(loaded.probabilities(held_out), model.probabilities(held_out), atol=1e-5)
    guesses = loaded.classify(held_out)
    accuracy = np.mean([g.best == labels[i] for g, i in zip(guesses, test, strict=True)])
    assert accuracy >= 0.85, accuracy  # the frozen model scores 0.95 on this split
