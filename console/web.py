"""The console inside the service: :func:`install_console` adds its routes to the app, and
the app's lifespan calls :meth:`Console.start` (with the loaded call resources) and
:meth:`Console.stop`. Everything the routes need is on ``app.state.console``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import api_admin, api_auth, api_calls, api_dashboard, api_handoffs, pages
from console.auth import SignInRequired
from console.live import HandoffHub
from console.security import SessionSigner, SignInLimiter
from console.settings import ConsoleSettings, console_settings, secret_key
from console.store import ConsoleStore
from switchboard.records import CallStore
from switchboard.settings import Settings


class Console:
    """The console's state: settings, session signer, sign-in limiter; after
    :meth:`start`, the store and the live handoff hub."""

    def __init__(self, settings: Settings, config: ConsoleSettings | None = None) -> None:
        self.settings = settings
        self.config = config or console_settings(settings)
        self.signer = SessionSigner(
            secret_key(settings, self.config), self.config.session_hours * 3600
        )
        self.limiter = SignInLimiter(self.config.sign_in_attempts, self.config.sign_in_window_secs)
        self._store: ConsoleStore | None = None
        self._hub: HandoffHub | None = None
        self._owned_store: CallStore | None = None
        self._listeners: list | None = None

    @property
    def store(self) -> ConsoleStore:
        if self._store is None:
            raise RuntimeError("the console has not started (no app lifespan)")
        return self._store

    @property
    def hub(self) -> HandoffHub:
        if self._hub is None:
            raise RuntimeError("the console has not started (no app lifespan)")
        return self._hub

    def start(self, resources: Any) -> None:
        """Use the resources' call store (or open one), and listen for handoffs."""
        calls = getattr(resources, "store", None)
        if not isinstance(calls, CallStore):
            calls = self._owned_store = CallStore(self.settings.call_store_url)
        self._store = ConsoleStore(calls)
        self._hub = HandoffHub(self._store, asyncio.get_running_loop())
        listeners = getattr(resources, "handoff_listeners", None)
        if isinstance(listeners, list):
            listeners.append(self._hub.on_handoff)
            self._listeners = listeners

    def stop(self) -> None:
        if self._listeners is not None and self._hub is not None:
            try:
                self._listeners.remove(self._hub.on_handoff)
            except ValueError:
                pass
            self._listeners = None
        if self._hub is not None:
            self._hub.close()
        if self._owned_store is not None:
            self._owned_store.close()
            self._owned_store = None

    def secure_cookies(self, request: Request) -> bool:
        """Whether cookies get the Secure flag: as configured, else in production or over
        https (plain http on a development machine keeps working)."""
        if self.config.secure_cookies is not None:
            return self.config.secure_cookies
        return self.settings.environment == "production" or request.url.scheme == "https"


async def _sign_in_required(request: Request, exc: Exception):
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"detail": "sign in first"}, status_code=401, headers={"WWW-Authenticate": "Cookie"}
        )
    return api_auth.sign_in_redirect(request)


async def _http_error(request: Request, exc: Exception):
    """The console's pages answer a refusal or a missing record with a page; everything else
    keeps FastAPI's JSON."""
    if isinstance(exc, StarletteHTTPException) and request.url.path.startswith("/console/"):
        return pages.error_page(request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)


def install_console(
    app: FastAPI, settings: Settings, config: ConsoleSettings | None = None
) -> Console:
    """Add the console's routes to ``app`` and put its state on ``app.state.console``.
    Raises ``ValueError`` in production without a session secret."""
    console = Console(settings, config)
    app.state.console = console
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (api_auth, api_calls, api_handoffs, api_admin, api_dashboard, pages):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=pages.STATIC_DIR), name="console-static")
    # --- the browser softphone (console/softphone.py) ---
    from console import softphone

    app.include_router(softphone.router)
    # --- end of the softphone ---
    return console
