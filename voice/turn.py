"""End-of-turn prediction with Smart Turn v3 (the ONNX model that ships inside pipecat-ai).

A pause in speech is not always the end of a turn ("my card number is ... [pause] ..."). At
each pause the model looks at the last eight seconds of the caller's audio and says whether
the caller has finished. The ONNX session is created once per process and shared by every
call (pipecat's own analyzer loads one per call, which costs more than a call's start budget).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

MODEL_SAMPLE_RATE = 16000
_WINDOW_SECONDS = 8


def bundled_smart_turn_path() -> Path:
    """The Smart Turn v3 model file inside the installed pipecat-ai package."""
    path = resources.files("pipecat.audio.turn.smart_turn.data").joinpath(
        "smart-turn-v3.2-cpu.onnx"
    )
    return Path(str(path))


class SmartTurnModel:
    """Smart Turn v3: probability that a 16 kHz utterance is a finished turn."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 1):
        import onnxruntime as ort

        # pipecat's vendored numpy Whisper feature extractor keeps us free of torch.
        from pipecat.audio.turn.smart_turn._whisper_features import (
            compute_whisper_log_mel_features,
        )

        self._features = compute_whisper_log_mel_features
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(
            str(model_path or bundled_smart_turn_path()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self._lock = threading.Lock()

    def completion_probability(self, samples: np.ndarray) -> float:
        """``samples``: float32 mono at 16 kHz, the utterance so far (any length)."""
        window = MODEL_SAMPLE_RATE * _WINDOW_SECONDS
        if len(samples) > window:
            samples = samples[-window:]
        elif len(samples) < window:
            samples = np.pad(samples, (window - len(samples), 0))
        features = self._features(samples.astype(np.float32), do_normalize=True)
        with self._lock:
            out = self._session.run(None, {"input_features": features[np.newaxis, ...]})
        return float(np.asarray(out[0]).reshape(-1)[0])


@lru_cache(maxsize=2)
def get_smart_turn(model_path: Path | None = None) -> SmartTurnModel:
    """The process-wide Smart Turn model."""
    return SmartTurnModel(model_path)
