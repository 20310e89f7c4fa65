"""TTS backends behind one interface: `make_backend(name).synthesize(text, voice, style)`."""

from .base import Audio, Capabilities, TTSBackend, TurnStyle, VoiceSpec, resample
from .registry import BACKENDS, make_backend

__all__ = [
    "BACKENDS",
    "Audio",
    "Capabilities",
    "TTSBackend",
    "TurnStyle",
    "VoiceSpec",
    "make_backend",
    "resample",
]
