"""Shared fixtures for the voice tests: the copied test audio and a models cache."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from whisper_normalizer.english import EnglishTextNormalizer

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small audio copied from ../shared/data with its licence files."""
    return DATA_DIR


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the bundled Whisper base is assembled, once per test session."""
    return tmp_path_factory.mktemp("models") / "whisper-base"


@pytest.fixture(scope="session")
def normalise() -> Callable[[str], str]:
    """Whisper's evaluation normalisation, so golden tests ignore case, punctuation, digits."""
    normalizer = EnglishTextNormalizer()
    return lambda text: " ".join(normalizer(re.sub(r"\[[^\]]*\]", " ", text)).split())
