"""The console's settings: ``SWITCHBOARD_CONSOLE__SECRET_KEY`` and friends.

:class:`ConsoleSettings` is shaped to become a nested section of ``switchboard.settings``'s
``Settings`` (``console: ConsoleSettings = ConsoleSettings()``), which reads the same
environment variables; until it is one, :func:`console_settings` reads them itself.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.settings import Settings

SECRET_FILE = "console_secret_key"
"""Where a development secret is kept in the data folder (made on first use)."""


class ConsoleSettings(BaseModel):
    """The people's side on the web: sessions and sign-in."""

    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies. Required in production; in development one is "
        "made and kept in <data_dir>/console_secret_key.",
    )
    session_hours: float = Field(12.0, gt=0, description="A session ends this long after sign-in.")
    sign_in_attempts: int = Field(5, ge=1, description="Failed sign-ins allowed per window.")
    sign_in_window_secs: float = Field(300.0, gt=0, description="Window for failed sign-ins.")
    secure_cookies: bool | None = Field(
        None,
        description="Mark cookies Secure; default: in production, or when the request "
        "came over https.",
    )


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    console: ConsoleSettings = ConsoleSettings()


def console_settings(settings: Settings) -> ConsoleSettings:
    """The console section of ``settings`` when it has one, else from the environment
    (not read at all for ``environment="test"``: tests pass what they want)."""
    section = getattr(settings, "console", None)
    if isinstance(section, ConsoleSettings):
        return section
    if settings.environment == "test":
        return ConsoleSettings()
    return _FromEnvironment().console


def secret_key(settings: Settings, console: ConsoleSettings) -> str:
    """The key that signs sessions. Raises ``ValueError`` in production without one."""
    if console.secret_key is not None and console.secret_key.get_secret_value():
        key = console.secret_key.get_secret_value()
        if settings.environment == "production" and len(key) < 32:
            raise ValueError("SWITCHBOARD_CONSOLE__SECRET_KEY must be at least 32 characters")
        return key
    if settings.environment == "production":
        raise ValueError(
            "SWITCHBOARD_CONSOLE__SECRET_KEY is required in production: it signs the "
            "console's session cookies (python -c \"import secrets; "
            'print(secrets.token_urlsafe(48))")'
        )
    return _development_key(settings.data_dir / SECRET_FILE)


def _development_key(path: Path) -> str:
    try:
        return path.read_text().strip() or _new_key(path)
    except FileNotFoundError:
        return _new_key(path)


def _new_key(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
