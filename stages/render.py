"""Render: each turn through its speaker's TTS backend at the scene's sample rate.

Backends level every rendering to one reference speech level before the style's gain, so a
volume label means the same gain for every voice (see `tts_backends.base`)."""

from __future__ import annotations

import numpy as np

from dialogsmith.records import Dialogue, TurnAudio
from dialogsmith.seeding import derive_seed
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.tts_backends.base import Audio, TTSBackend
from dialogsmith.tts_backends.nonverbal import attach_nonverbal, synthesize_nonverbal
from dialogsmith.tts_backends.prosody import emphasize_span, estimate_word_span
from dialogsmith.tts_backends.registry import make_backend


class RenderStage(Stage):
    name = "render"
    requires = ("script", "cast")
    default_resources = Resources(cpus=1.0, memory_gib=1.5)

    def setup(self) -> None:
        refs = [*self.config.voice.assistant_voices]
        for voices in self.config.voice.user_voices.values():
            refs.extend(voices)
        self.backends: dict[str, TTSBackend] = {}
        for name in sorted({ref.partition(":")[0] for ref in refs}):
            backend = make_backend(name)
            backend.setup()
            self.backends[name] = backend

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            try:
                dialogue.audio = [
                    self._render_turn(dialogue, i) for i in range(len(dialogue.script.turns))
                ]
            except (RuntimeError, ValueError) as err:
                dialogue.reject(self.name, "tts_failed", f"{type(err).__name__}: {err}")

    def _render_turn(self, dialogue: Dialogue, index: int) -> TurnAudio:
        turn = dialogue.script.turns[index]
        voice = dialogue.cast.voices[turn.role]
        style = dialogue.cast.styles[index]
        rate = self.config.scene.sample_rate
        backend = self.backends[voice.backend]
        audio = backend.synthesize(turn.text, voice, style).resampled(rate)
        if not np.isfinite(audio.samples).all() or not np.any(audio.samples):
            raise ValueError(f"turn {index} rendered silent or non-finite audio")
        stress = self._stress(dialogue, index, audio)
        if stress is not None:
            start, end = stress
            audio = Audio(emphasize_span(audio.samples, rate, start, end), rate)
        kind = turn.labels.get("non_verbal", "none")
        span, speech_s = None, audio.duration_s
        if kind != "none":
            seed = derive_seed(dialogue.spec.seed, self.name, index, kind) % (2**31)
            sound = synthesize_nonverbal(kind, backend, voice, rate, seed)
            audio, start, end = attach_nonverbal(audio, sound, position="before")
            span = (round(start, 4), round(end, 4))
        return TurnAudio(
            turn_index=index,
            sample_rate=rate,
            duration_s=audio.duration_s,
            samples=audio.samples,
            speech_start_s=0.0 if span is None else round(audio.duration_s - speech_s, 4),
            nonverbal=None if span is None else kind,
            nonverbal_span_s=span,
            stress_span_s=None if stress is None else _shifted(stress, audio.duration_s - speech_s),
        )

    def _stress(self, dialogue: Dialogue, index: int, audio: Audio) -> tuple[float, float] | None:
        word = dialogue.script.stressed_word
        if dialogue.script.turns[index].labels.get("stress") != "stressed" or not word:
            return None
        text = dialogue.script.turns[index].text
        span = estimate_word_span(audio.samples, audio.sample_rate, text, word)
        if span is None:
            raise ValueError(f"stressed word {word!r} is not in turn {index}")
        return span


def _shifted(span: tuple[float, float], offset: float) -> tuple[float, float]:
    return (round(span[0] + offset, 4), round(span[1] + offset, 4))
