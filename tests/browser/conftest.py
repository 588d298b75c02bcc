"""Browser tests: the console in headless Chromium, driven by Playwright's sync API.

Playwright never downloads a browser here: it launches Debian's ``chromium`` (apt-get install
chromium; ``make test`` does it when it can). Without it, or without the ``playwright``
package, these tests are skipped. Chromium's fake media flags stand in for a microphone.

Screenshots go to a temporary folder, or to ``$SWITCHBOARD_SCREENSHOTS`` when set (the docs'
are made with ``SWITCHBOARD_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "console")]  # browser_support, console_support

from browser_support import CHROMIUM, VIEWPORT, launch, seed_calls  # noqa: E402
from console_support import ConsoleApp, build_console, serve  # noqa: E402

from switchboard.settings import Settings  # noqa: E402


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium with Playwright")


def _why_no_browser() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """Playwright's sync API runs an event loop on the main thread while it is open, so it
    must close after each browser module: tests that follow call ``asyncio.run``."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright_driver) -> Iterator:
    browser = launch(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium) -> Iterator:
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("SWITCHBOARD_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shoot(screenshots: Path) -> Callable[..., Path]:
    """``shoot(page, "desk-queue")`` saves ``desk-queue.png`` (the whole page)."""

    def take(page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def kb_data_dir(tmp_path_factory) -> Path:
    """A data dir holding the demo knowledge base, ingested once (for the copilot)."""
    from tests.conftest import ingest_demo_kb

    data = tmp_path_factory.mktemp("kb-data")
    ingest_demo_kb(Settings(_env_file=None, data_dir=data, environment="test"))
    return data


def _console(data: Path) -> ConsoleApp:
    app = build_console(f"sqlite:///{data / 'calls.db'}", data)
    seed_calls(app.store.calls, app.settings.recordings_dir)
    return app


@pytest.fixture
def console_app(tmp_path: Path) -> Iterator[ConsoleApp]:
    """An app with one account per role and the seeded calls; no speech models (the pages
    only: no calls can be made)."""
    app = _console(tmp_path / "data")
    yield app
    app.store.calls.close()


@pytest.fixture
def kb_console_app(kb_data_dir: Path, tmp_path: Path) -> Iterator[ConsoleApp]:
    """``console_app`` with the demo knowledge base (a copy) for the copilot's searches."""
    data = tmp_path / "data"
    shutil.copytree(kb_data_dir, data)
    app = _console(data)
    yield app
    app.store.calls.close()


@pytest.fixture
def console_url(console_app: ConsoleApp) -> Iterator[str]:
    with serve(console_app.app) as url:
        yield url
