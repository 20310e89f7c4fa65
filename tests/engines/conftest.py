"""Fixtures for the engine tests: the prepared embedded model and free local ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# A tiny JSON shape the grammar forces: {"mood": "happy|sad|calm", "score": <digit>}
MOOD_GRAMMAR = r"""root ::= "{\"mood\": \"" mood "\", \"score\": " [0-9] "}"
mood ::= "happy" | "sad" | "calm"
"""


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mood_grammar() -> str:
    return MOOD_GRAMMAR


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    from dialogsmith.engines.model_prep import prepare_embedded_model

    return prepare_embedded_model()
