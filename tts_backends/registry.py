"""Backends by name: `make_backend("piper")`; voices by ref: `resolve_voice("flite:slt")`.

Heavy imports happen in each backend's setup(). A ref may name a timbre of an engine voice,
"piper:en_US-joe-medium~f1.08-p132-r1.10" (see `timbre.py`); any such ref resolves, whether
or not it is in a bank. A "transformers" voice is a model: "transformers:facebook/mms-tts-eng"
or "transformers:/abs/model/folder" (see `transformers_tts.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Audio, TTSBackend, VoiceSpec, resample
from .espeak import EspeakBackend
from .flite import FliteBackend
from .hibari import HibariBackend
from .piper import PiperBackend
from .transformers_tts import TransformersVitsBackend

BACKENDS: dict[str, Callable[..., TTSBackend]] = {
    "hibari": HibariBackend,
    "piper": PiperBackend,
    "espeak-ng": EspeakBackend,
    "flite": FliteBackend,
    "transformers": TransformersVitsBackend,
}


def make_backend(name: str, **options: Any) -> TTSBackend:
    """A new, not yet set-up backend; call `setup()` once per worker. `options` go to the
    backend's constructor (e.g. `device="cuda"` for "transformers")."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown TTS backend {name!r}; allowed: {', '.join(sorted(BACKENDS))}"
        ) from None
    return factory(**options)


def resolve_voice(ref: str) -> VoiceSpec:
    """'backend:voice[~timbre]' -> its VoiceSpec, or an error listing what is allowed."""
    backend_name, sep, voice_name = ref.partition(":")
    if not sep:
        raise ValueError(f"voice {ref!r} must be 'backend:voice', e.g. 'flite:slt'")
    base_name, tilde, timbre = voice_name.partition("~")
    try:
        base = make_backend(backend_name).voice(base_name)
    except ValueError as err:
        raise ValueError(f"unknown voice {ref!r}: {err}") from None
    if not tilde:
        return base
    from .timbre import timbre_voice  # timbre.py builds on this module

    return timbre_voice(base, timbre)


__all__ = ["BACKENDS", "Audio", "make_backend", "resample", "resolve_voice"]
