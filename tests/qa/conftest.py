"""Real renderings shared by the qa tests, made once per session (see qa_renders.py)."""

from __future__ import annotations

import os

import pytest
from qa_renders import render_hibari, render_piper

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def hibari() -> dict:
    return render_hibari()


@pytest.fixture(scope="session")
def piper() -> dict:
    return render_piper()
