"""Shared fixtures: settings in a temporary data dir, models loaded once, a live server."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from switchboard.settings import Settings

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("switchboard-data")


@pytest.fixture(scope="session")
def base_settings(session_data_dir: Path) -> Settings:
    """Embedded defaults, but everything written under a temporary data dir."""
    return Settings(_env_file=None, data_dir=session_data_dir, environment="test")


@pytest.fixture(scope="session")
def resources(base_settings: Settings):
    """The real models, loaded once for the whole test session."""
    from switchboard.app import load_resources

    ingest_demo_kb(base_settings)
    loaded = load_resources(base_settings)
    if loaded.warming is not None:
        loaded.warming.join()  # timings in tests must not compete with the warm-up
    yield loaded
    loaded.close()


def ingest_demo_kb(settings: Settings) -> None:
    """The demo knowledge base in the settings' store, as ``switchboard prepare`` does."""
    from knowledge.ingest import ingest
    from switchboard.cli import DEMO_KB
    from switchboard.engines import knowledge_store

    store = knowledge_store(settings)
    try:
        report = ingest(store, settings.knowledge.default_collection, [DEMO_KB], prune=True)
        assert not report.errors, report.errors
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread; yields its base URL (http://127.0.0.1:PORT)."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(resources):
    """Start the service sharing the session's models; optional settings overrides."""
    from switchboard.app import create_app

    @contextmanager
    def start(**overrides) -> Iterator[str]:
        settings = resources.settings
        for key, value in overrides.items():
            section, _, field = key.partition("__")
            if field:
                part = getattr(settings, section).model_copy(update={field: value})
                settings = settings.model_copy(update={section: part})
            else:
                settings = settings.model_copy(update={key: value})
        res = dataclasses.replace(resources, settings=settings, active_calls={})
        with serve(create_app(settings, resources=res)) as url:
            yield url

    return start


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def caplog_loguru():
    """Loguru's messages, captured (pytest's caplog only sees the logging module)."""
    from loguru import logger

    class Capture:
        def __init__(self):
            self.lines: list[str] = []

        @property
        def text(self) -> str:
            return "\n".join(self.lines)

    capture = Capture()
    handler = logger.add(lambda message: capture.lines.append(str(message)), level="DEBUG")
    yield capture
    logger.remove(handler)
