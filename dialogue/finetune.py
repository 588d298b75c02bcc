"""Fine-tuning the sentence encoder on the intents (optional: the ``finetune`` extra).

The default intent model keeps MiniLM frozen and trains small classifiers over its
embeddings (``dialogue.intents``), which needs nothing but numpy. With many labelled
examples (Banking77's 10,000) adapting the encoder itself to the intents is worth about a
point of accuracy more (benchmarks/results/intents.md); that needs PyTorch and the ``onnx``
package (``pip install -e ".[finetune]"``), at training time only.

The ONNX encoder is rebuilt as a PyTorch BERT encoder from its own weights (weight-only int8
exports such as the bundled MiniLM are de-quantized; fp32 exports are read as they are),
checked to give the same embeddings as onnxruntime, and trained with a linear softmax head
over its L2-normalised mean-pooled embedding. The trained weights are written back into a
copy of the original ONNX graph, re-quantized the way they were stored, so the result runs
exactly like the original: ``knowledge.embeddings.OnnxEmbedder`` reads it, and no PyTorch is
needed to classify. The head becomes the intent model's embedding classifier.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["FineTuneError", "FineTuned", "fine_tune_encoder"]

_SCALE = 20.0
"""Normalised embeddings are multiplied by this before the head (a cosine classifier's
usual temperature); the head's weights are stored with it folded in."""
_HEAD_COUNTS = (12, 16, 8, 6, 4)
_QUANTIZED, _SCALE_SUFFIX = "_q", "_scale"


class FineTuneError(RuntimeError):
    """Fine-tuning is unavailable (missing PyTorch) or the encoder is not one it can read."""


@dataclass(frozen=True)
class FineTuned:
    """A fine-tuned encoder folder (``model.onnx`` + ``tokenizer.json``) and its head:
    ``logits = embedding @ w + b`` for an L2-normalised embedding."""

    folder: Path
    w: np.ndarray
    b: np.ndarray


def _require():
    try:
        import onnx
        import torch
    except ImportError as e:
        raise FineTuneError(
            f"fine-tuning the encoder needs PyTorch and onnx ({e.name} is missing): "
            'pip install -e ".[finetune]"'
        ) from e
    return torch, onnx


def fine_tune_encoder(
    texts: Sequence[str],
    labels: Sequence[int],
    model_path: Path,
    tokenizer_path: Path,
    out: Path,
    *,
    classes: int,
    epochs: int = 3,
    learning_rate: float = 5e-5,
    head_learning_rate: float = 2e-3,
    batch_size: int = 32,
    max_tokens: int = 64,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> FineTuned:
    """Train the encoder at ``model_path`` on (text, label index) pairs; write it to ``out``.

    AdamW with weight decay 0.01, a linear warm-up over the first 6% of steps then a linear
    decay, cross-entropy with label smoothing 0.1; the head learns faster than the encoder.
    """
    torch, onnx = _require()
    from tokenizers import Tokenizer

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    graph = onnx.load(str(model_path))
    weights = _read_weights(graph)
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    encoder = _matching_encoder(torch, weights, model_path, tokenizer)

    head = torch.nn.Linear(encoder.width, classes)
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": learning_rate},
            {"params": head.parameters(), "lr": head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps = max(1, epochs * math.ceil(len(texts) / batch_size))
    warm = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / warm if s < warm else max(0.0, (steps - s) / (steps - warm))
    )
    y = torch.tensor(np.asarray(labels, dtype=np.int64))
    encoder.train()
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(texts))
        total = 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = _batch(torch, tokenizer, [texts[i] for i in rows])
            embedding = torch.nn.functional.normalize(encoder(ids, mask), dim=1)
            loss = torch.nn.functional.cross_entropy(
                head(embedding * _SCALE), y[rows], label_smoothing=0.1
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            total += loss.item() * len(rows)
        if progress:
            progress(f"epoch {epoch + 1}/{epochs}: loss {total / len(texts):.3f}")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_weights(onnx, graph, weights, encoder.state(), out / "model.onnx")
    shutil.copyfile(tokenizer_path, out / "tokenizer.json")
    with torch.no_grad():
        w = (head.weight.detach().numpy().T * _SCALE).astype(np.float32)
        b = head.bias.detach().numpy().astype(np.float32)
    return FineTuned(out, w, b)


# --- the ONNX weights ------------------------------------------------------------------------


@dataclass
class _Weight:
    """One weight of the graph: its value (de-quantized) and how it is stored."""

    value: np.ndarray
    initializer: str
    quantized: bool
    transposed: bool  # a MatMul weight is (in, out); torch's Linear wants (out, in)


def _read_weights(graph) -> dict[str, _Weight]:
    """BERT parameter names ("encoder.layer.0.attention.self.query.weight", ...) -> weights.

    A MatMul's weight takes its name from the bias added to its output; word and position
    embeddings and every LayerNorm/bias are named initializers of their own.
    """
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    produced = {}  # de-quantized tensor name -> its int8 initializer
    for node in graph.graph.node:
        if node.op_type == "Mul" and len(node.input) == 2:
            source, scale = node.input
            if scale.endswith(_SCALE_SUFFIX) and scale[: -len(_SCALE_SUFFIX)] + "_f" == source:
                produced[node.output[0]] = scale[: -len(_SCALE_SUFFIX)]

    def value(name: str) -> tuple[np.ndarray, bool, str] | None:
        if name in produced:
            base = produced[name]
            q, s = inits[base + _QUANTIZED], inits[base + _SCALE_SUFFIX]
            return q.astype(np.float32) * s, True, base
        if name in inits and inits[name].dtype == np.float32:
            return inits[name], False, name
        return None

    consumers: dict[str, list] = {}
    for node in graph.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights: dict[str, _Weight] = {}
    for tensor in produced:  # de-quantized embedding tables keep their names
        if (name := _bert_name(tensor)) is not None and (found := value(tensor)) is not None:
            weights[name] = _Weight(found[0], found[2], True, False)
    for node in graph.graph.node:
        if node.op_type != "MatMul" or (found := value(node.input[1])) is None:
            continue
        array, quantized, initializer = found
        biases = [
            i
            for add in consumers.get(node.output[0], [])
            if add.op_type == "Add"
            for i in add.input
            if i.endswith(".bias") and i in inits
        ]
        if not biases:
            raise FineTuneError(f"cannot tell which layer the weight {node.input[1]} belongs to")
        name = _bert_name(biases[0][: -len(".bias")] + ".weight")
        weights[name] = _Weight(array, initializer, quantized, True)
    for name, array in inits.items():
        bert = _bert_name(name)
        if bert and array.dtype == np.float32 and bert not in weights:
            weights[bert] = _Weight(array, name, False, False)
    for needed in ("embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight"):
        if needed not in weights:
            raise FineTuneError(f"the encoder has no {needed}: not a BERT-style ONNX export")
    return weights


def _bert_name(name: str) -> str | None:
    """ "inner.encoder.layer.0.output.dense.bias" -> "encoder.layer.0.output.dense.bias"."""
    for start in ("embeddings.", "encoder."):
        at = name.find(start)
        if at >= 0 and (at == 0 or name[at - 1] == "."):
            return name[at:]
    return None


def _write_weights(onnx, graph, weights: dict[str, _Weight], trained: dict, path: Path) -> None:
    """The trained values into the graph's initializers, stored as the originals were
    (int8 with a per-channel scale, or fp32)."""
    from onnx import numpy_helper

    inits = {i.name: i for i in graph.graph.initializer}
    for name, weight in weights.items():
        if name not in trained:
            continue
        array = trained[name].T if weight.transposed else trained[name]
        array = np.ascontiguousarray(array, dtype=np.float32)
        if weight.quantized:
            old_scale = numpy_helper.to_array(inits[weight.initializer + _SCALE_SUFFIX])
            axis = tuple(i for i, n in enumerate(old_scale.shape) if n == 1)
            scale = np.maximum(np.abs(array).max(axis=axis, keepdims=True), 1e-12) / 127.0
            q = np.clip(np.round(array / scale), -127, 127).astype(np.int8)
            for suffix, new in ((_QUANTIZED, q), (_SCALE_SUFFIX, scale.astype(np.float32))):
                target = inits[weight.initializer + suffix]
                target.CopyFrom(numpy_helper.from_array(new, target.name))
        else:
            target = inits[weight.initializer]
            target.CopyFrom(numpy_helper.from_array(array, target.name))
    onnx.save(graph, str(path))


# --- the encoder in PyTorch ------------------------------------------------------------------


def _batch(torch, tokenizer, texts: list[str]):
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
    return ids, mask


def _matching_encoder(torch, weights: dict[str, _Weight], model_path: Path, tokenizer):
    """The PyTorch encoder whose embeddings match onnxruntime's for a probe sentence; the
    number of attention heads is not stored in the weights, so the usual ones are tried."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    probe = ["I would like to check the balance of my savings account, please."]
    ids, mask = _batch(torch, tokenizer, probe)
    feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
    inputs = {i.name for i in session.get_inputs()}
    hidden = session.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
    m = mask.numpy()[..., None].astype(np.float32)
    expected = hidden if hidden.ndim == 2 else (hidden * m).sum(1) / m.sum(1)
    width = weights["embeddings.word_embeddings.weight"].value.shape[1]
    for heads in _HEAD_COUNTS:
        if width % heads:
            continue
        encoder = _build(torch, weights, heads)
        encoder.eval()
        with torch.no_grad():
            got = encoder(ids, mask).numpy()
        cosine = float((got * expected).sum() / np.linalg.norm(got) / np.linalg.norm(expected))
        if cosine > 0.9999:
            logger.info("encoder rebuilt with %d attention heads (cosine %.6f)", heads, cosine)
            return encoder
    raise FineTuneError(
        f"{model_path} could not be rebuilt as a BERT encoder that gives its own embeddings"
    )


def _build(torch, weights: dict[str, _Weight], heads: int):
    nn = torch.nn
    layers = 1 + max(
        int(name.split(".")[2]) for name in weights if name.startswith("encoder.layer.")
    )
    word = weights["embeddings.word_embeddings.weight"].value
    width = word.shape[1]
    inner = weights["encoder.layer.0.intermediate.dense.bias"].value.shape[0]
    eps = 1e-12

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query, self.key, self.value, self.out = (nn.Linear(width, width) for _ in "qkvo")
            self.attention_norm = nn.LayerNorm(width, eps=eps)
            self.intermediate, self.output = nn.Linear(width, inner), nn.Linear(inner, width)
            self.output_norm = nn.LayerNorm(width, eps=eps)

        def forward(self, x, bias):
            b, t, _ = x.shape

            def split(v):
                return v.view(b, t, heads, width // heads).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(width // heads) + bias
            attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, width)
            x = self.attention_norm(x + self.out(attended))
            return self.output_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.width = width
            self.word = nn.Embedding(*word.shape)
            positions = weights["embeddings.position_embeddings.weight"].value
            self.position = nn.Embedding(*positions.shape)
            types = weights.get("embeddings.token_type_embeddings.weight")
            self.token_type = nn.Embedding(*types.value.shape) if types is not None else None
            self.norm = nn.LayerNorm(width, eps=eps)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))

        def forward(self, ids, mask):
            x = self.word(ids) + self.position(torch.arange(ids.shape[1]))[None]
            if self.token_type is not None:
                x = x + self.token_type(torch.zeros_like(ids))
            x = self.norm(x)
            bias = (1.0 - mask[:, None, None, :].float()) * -1e4
            for layer in self.layers:
                x = layer(x, bias)
            m = mask[..., None].float()
            return (x * m).sum(1) / m.sum(1).clamp(min=1e-9)

        def state(self) -> dict[str, np.ndarray]:
            """The trained parameters under their BERT names."""
            own = {k: v.detach().numpy() for k, v in self.state_dict().items()}
            return {bert: own[ours] for ours, bert in _names(layers).items() if ours in own}

    encoder = Encoder()
    own = {}
    for ours, bert in _names(layers).items():
        if bert in weights:
            own[ours] = torch.tensor(np.ascontiguousarray(_oriented(weights[bert])))
    missing = set(encoder.state_dict()) - set(own)
    if missing:
        raise FineTuneError(f"the encoder lacks {sorted(missing)[:3]}")
    encoder.load_state_dict(own)
    return encoder


def _oriented(weight: _Weight) -> np.ndarray:
    return weight.value.T if weight.transposed else weight.value


def _names(layers: int) -> dict[str, str]:
    """Our module's parameter names -> BERT's."""
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "norm.weight": "embeddings.LayerNorm.weight",
        "norm.bias": "embeddings.LayerNorm.bias",
    }
    parts = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "out": "attention.output.dense",
        "attention_norm": "attention.output.LayerNorm",
        "intermediate": "intermediate.dense",
        "output": "output.dense",
        "output_norm": "output.LayerNorm",
    }
    for i in range(layers):
        for ours, bert in parts.items():
            for kind in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{bert}.{kind}"
    return names
