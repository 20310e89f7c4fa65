"""hibari-tts: a small neural US voice ("heart") that ships inside the PyPI package.

Speed is the model's own duration control (`speed`, > 1 faster); pitch, F0 range and timbre
are done with Praat by the base class.
The model adds a noise component; its seed is derived from the text, so a turn renders the
same samples every time (no hidden nondeterminism). Other hibari voices download at run time
and are therefore not offered here.
"""

from __future__ import annotations

import zlib
from typing import Any

from .base import Audio, Capabilities, TTSBackend, TurnStyle, VoiceSpec

VOICES = [VoiceSpec(backend="hibari", name="heart", gender="female", accent="us")]


class HibariBackend(TTSBackend):
    name = "hibari"
    capabilities = Capabilities(languages=frozenset({"en"}), natural=True)

    def __init__(self, threads: int = 1) -> None:
        super().__init__()
        self.threads = threads
        self._tts: Any = None

    def voices(self) -> list[VoiceSpec]:
        return list(VOICES)

    def _load(self) -> None:
        try:
            from hibari import Hibari
        except ImportError as e:
            raise ImportError("hibari backend needs `pip install hibari-tts`") from e
        self._tts = Hibari(voice="heart", threads=self.threads)

    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        seed = zlib.crc32(text.encode("utf-8"))
        samples = self._tts(text, speed=style.speed, seed=seed)
        sr = int(self._tts.sample_rate)
        return Audio(samples, sr)
