"""Backends by name: `make_backend("piper")`. Heavy imports happen in each backend's setup()."""

from __future__ import annotations

from collections.abc import Callable

from .base import Audio, TTSBackend, resample
from .espeak import EspeakBackend
from .flite import FliteBackend
from .hibari import HibariBackend
from .piper import PiperBackend

BACKENDS: dict[str, Callable[[], TTSBackend]] = {
    "hibari": HibariBackend,
    "piper": PiperBackend,
    "espeak-ng": EspeakBackend,
    "flite": FliteBackend,
}


def make_backend(name: str) -> TTSBackend:
    """A new, not yet set-up backend; call `setup()` once per worker."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown TTS backend {name!r}; allowed: {', '.join(sorted(BACKENDS))}"
        ) from None
    return factory()


__all__ = ["BACKENDS", "Audio", "make_backend", "resample"]
