"""Shared by the benchmarks: run the real service in a subprocess and make caller audio."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_service(env: dict[str, str] | None = None) -> Iterator[tuple[str, int, Path]]:
    """``switchboard serve`` on a free port with a fresh data dir: (ws url, pid, data dir)."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    environment = {
        **os.environ,
        "SWITCHBOARD_DATA_DIR": str(data),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    log = open(data / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"service exited: see {data / 'server.log'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("service did not start") from None
                time.sleep(0.3)
        yield f"ws://127.0.0.1:{port}/twilio/media", process.pid, data
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def caller_audio(phrases: dict[str, str], folder: Path) -> dict[str, Path]:
    """Caller turns spoken by the bundled Piper voice, cached in ``folder``."""
    from voice.audio import save_wav
    from voice.tts import PiperOptions, get_synthesizer

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    synthesizer = None
    for key, text in phrases.items():
        path = folder / f"{key}.wav"
        if not path.exists():
            synthesizer = synthesizer or get_synthesizer(PiperOptions())
            save_wav(path, synthesizer.synthesize(text))
        paths[key] = path
    return paths


CALLER_PHRASES = {
    "hours": "Hi, what time do you open on Saturday?",
    "card": "I think I lost my debit card, what should I do?",
    "overdraft": "How much is the overdraft fee?",
    "routing": "What's your routing number?",
    "password": "I forgot my online banking password.",
    "checks": "Can I order new checks?",
    "bye": "No, that's all. Thanks, bye.",
}
