"""The ``switchboard`` command line, run in-process with settings from the environment."""

from __future__ import annotations

import json
import os
import socket
import wave
from pathlib import Path

import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from switchboard.cli import build_parser, main
from switchboard.settings import get_settings

TEST_DATA = Path(__file__).resolve().parents[1] / "data"
JFK = TEST_DATA / "jfk" / "jfk.flac"
TRANSCRIBE_KEYS = {"file", "text", "audio_seconds", "processing_seconds"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module, so the models load once (they are cached per path)."""
    return tmp_path_factory.mktemp("cli-data")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> pytest.MonkeyPatch:
    """Only the variables a test sets; no ``.env`` (cwd is empty); settings read afresh."""
    for name in list(os.environ):
        if name.upper().startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def normalise(text: str) -> str:
    return " ".join(EnglishTextNormalizer()(text).split())


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- settings from the environment -----------------------------------------------------------


def test_settings_come_from_prefixed_and_nested_env(env: pytest.MonkeyPatch, tmp_path: Path):
    env.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "elsewhere"))
    env.setenv("SWITCHBOARD_STT__MODEL", "base")
    env.setenv("SWITCHBOARD_STT__BEAM_SIZE", "3")
    env.setenv("SWITCHBOARD_TURN__END_OF_TURN", "silence")
    env.setenv("SWITCHBOARD_PORT", "9001")
    env.setenv("STT__MODEL", "ignored-without-prefix")
    settings = get_settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.whisper_cache_dir == tmp_path / "elsewhere" / "models" / "whisper-base"
    assert (settings.stt.model, settings.stt.beam_size) == ("base", 3)
    assert settings.turn.end_of_turn == "silence"
    assert settings.port == 9001
    # Unset fields keep their defaults.
    assert settings.tts.voice == "en_US-joe-medium"
    assert get_settings() is settings  # cached until cache_clear()


def test_defaults_without_env(env: pytest.MonkeyPatch) -> None:
    env.delenv("SWITCHBOARD_DATA_DIR")
    settings = get_settings()
    assert settings.data_dir == Path("data")
    assert settings.stt.model == "tiny.en"
    assert settings.environment == "development"


def test_parser_requires_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "switchboard" in capsys.readouterr().err


def test_say_requires_an_output() -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["say", "hello"])
    assert info.value.code == 2


# --- prepare ---------------------------------------------------------------------------------


def test_prepare_prints_the_model_paths(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "fresh-data"
    env.setenv("SWITCHBOARD_DATA_DIR", str(data))
    env.setenv("SWITCHBOARD_STT__MODEL", "tiny.en")
    assert main(["prepare", "--skip-kb"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert set(lines) == {
        "speech-to-text", "voice", "flows", "intents", "data", "console user", "console"
    }  # fmt: skip
    assert "demo-supervisor (supervisor), password " in out
    assert "demo-agent (agent), password " in out
    whisper = Path(lines["speech-to-text"].strip())
    assert (whisper / "model.bin").is_file()
    voice = Path(lines["voice"].strip())
    assert voice.name == "en_US-joe-medium.onnx" and voice.is_file()
    assert lines["flows"].strip().endswith("flows (8 flows)")
    assert lines["intents"].strip() == "16 intents"
    assert Path(lines["data"].strip()) == data.resolve()
    assert data.is_dir()


def test_prepare_reports_a_bad_flow_file(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "broken.yaml").write_text("name: x\nslots: 3\naction: balance\n", encoding="utf-8")
    env.setenv("SWITCHBOARD_DIALOGUE__FLOWS_DIR", str(flows))
    assert main(["prepare", "--skip-kb"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("switchboard prepare: ")
    assert "broken.yaml: 'slots' must be a list" in captured.err


def test_prepare_reports_a_missing_model(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("SWITCHBOARD_STT__MODEL", str(tmp_path / "no-such-model"))
    assert main(["prepare", "--skip-kb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("switchboard prepare: Whisper model folder")
    assert "SWITCHBOARD_STT__MODEL" in err


def test_prepare_reports_a_missing_voice(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("SWITCHBOARD_TTS__VOICE", "en_GB-nobody-low")
    assert main(["prepare", "--skip-kb"]) == 1
    assert "Piper voice 'en_GB-nobody-low' not found" in capsys.readouterr().err


# --- transcribe ------------------------------------------------------------------------------


@pytest.mark.slow
def test_transcribe_prints_one_json_line_per_file(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("SWITCHBOARD_STT__MODEL", "tiny.en")
    ldc = TEST_DATA / "ldc93s1" / "LDC93S1.wav"
    assert main(["transcribe", str(JFK), str(ldc)]) == 0
    first, second = _json_lines(capsys.readouterr().out)
    for line, path in ((first, JFK), (second, ldc)):
        assert set(line) == TRANSCRIBE_KEYS
        assert line["file"] == str(path)
        assert 0 < line["processing_seconds"]
    assert "ask not what your country can do for you" in normalise(first["text"])
    assert first["audio_seconds"] == pytest.approx(11.0, abs=0.05)
    assert "greasy wash" in normalise(second["text"])
    assert second["audio_seconds"] == pytest.approx(2.92, abs=0.05)


@pytest.mark.slow
def test_transcribe_reports_a_corrupt_file_and_goes_on(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("SWITCHBOARD_STT__MODEL", "tiny.en")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 4)
    assert main(["transcribe", str(corrupt), str(JFK)]) == 1
    bad, good = _json_lines(capsys.readouterr().out)
    assert set(bad) == {"file", "error"}
    assert bad["file"] == str(corrupt)
    assert bad["error"]
    assert set(good) == TRANSCRIBE_KEYS
    assert good["text"]


# --- say -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_say_writes_a_non_silent_wav(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out.wav"
    assert main(["say", "Thanks for calling, how can I help?", "-o", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == str(out)
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    seconds = len(samples) / rate
    assert 1.0 < seconds < 6.0
    assert report["audio_seconds"] == pytest.approx(seconds, abs=0.01)
    assert report["processing_seconds"] > 0
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    assert rms > 300
    assert np.abs(samples).max() > 3000


# --- call ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["{missing}", "barge:1.5:{missing}"], ids=["plain", "barge"])
def test_call_with_a_missing_audio_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str
) -> None:
    missing = tmp_path / "nope.wav"
    port = _closed_port()
    argv = ["call", str(JFK), spec.format(missing=missing), "--url", f"ws://127.0.0.1:{port}/"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"switchboard call: no such audio file: {missing}"
    assert captured.out == ""


def test_call_against_a_closed_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}/twilio/media"
    # dtmf: and silence: turns need no file.
    assert main(["call", str(JFK), "dtmf:1", "silence:0.5", "--url", url]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"switchboard call: cannot connect to {url}")
    assert captured.out == ""


def test_db_upgrade_creates_and_reports_the_store(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    assert main(["db", "upgrade"]) == 0
    assert "call store at the newest schema" in capsys.readouterr().out
    assert (tmp_path / "new.db").is_file()
    assert main(["db", "upgrade"]) == 0  # twice is fine
    env.setenv("SWITCHBOARD_DATABASE_URL", "mysql://nobody@nowhere/db")
    get_settings.cache_clear()
    assert main(["db", "upgrade"]) == 1
    assert capsys.readouterr().err.startswith("switchboard db upgrade: ")
