"""Render: each turn through its speaker's TTS backend at the scene's sample rate.

Backends level every rendering to one reference speech level before the style's gain, so a
volume label means the same gain for every voice (see `tts_backends.base`). Every rendering is
trimmed to its speech (`trim_to_speech`): the engines' own leading and trailing silence
(hibari about 0.3 s / 0.5 s) would otherwise count as speech in every gap and overlap."""

from __future__ import annotations

import numpy as np

from dialogsmith.records import ClipAudio, Dialogue, TurnAudio
from dialogsmith.seeding import derive_seed
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.scene_timing import clip_roles
from dialogsmith.tts_backends.base import Audio, TTSBackend, TurnStyle, trim_to_speech
from dialogsmith.tts_backends.nonverbal import attach_nonverbal, synthesize_nonverbal
from dialogsmith.tts_backends.prosody import emphasize_span, estimate_word_span, speech_bounds
from dialogsmith.tts_backends.registry import make_backend, resolve_voice


class RenderStage(Stage):
    name = "render"
    requires = ("script", "cast")
    default_resources = Resources(cpus=1.0, memory_gib=1.0)

    def setup(self) -> None:
        self.backends: dict[str, TTSBackend] = {}

    def backend(self, name: str) -> TTSBackend:
        """Backends load on first use: the voice stage may cast voices from any of them."""
        if name not in self.backends:
            backend = make_backend(name)
            backend.setup()
            self.backends[name] = backend
        return self.backends[name]

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            try:
                dialogue.audio = [
                    self.render_turn(dialogue, i) for i in range(len(dialogue.script.turns))
                ]
                dialogue.clips = self.render_clips(dialogue)
            except (RuntimeError, ValueError) as err:
                dialogue.reject(self.name, "tts_failed", f"{type(err).__name__}: {err}")

    def render_turn(self, dialogue: Dialogue, index: int) -> TurnAudio:
        turn = dialogue.script.turns[index]
        voice = dialogue.cast.voices[turn.role]
        style = dialogue.cast.styles[index]
        rate = self.config.scene.sample_rate
        backend = self.backend(voice.backend)
        audio = backend.synthesize(turn.text, voice, style).resampled(rate)
        if not np.isfinite(audio.samples).all() or not np.any(audio.samples):
            raise ValueError(f"turn {index} rendered silent or non-finite audio")
        audio = trim_to_speech(audio)
        stress = self._stress(dialogue, index, audio)
        if stress is not None:
            start, end = stress
            audio = Audio(emphasize_span(audio.samples, rate, start, end), rate)
        words = [b / rate for b in speech_bounds(audio.samples, rate)]
        kind = turn.labels.get("non_verbal", "none")
        span, speech_s = None, audio.duration_s
        if kind != "none":
            seed = derive_seed(dialogue.spec.seed, self.name, index, kind) % (2**31)
            sound = trim_to_speech(synthesize_nonverbal(kind, backend, voice, rate, seed))
            audio, start, end = attach_nonverbal(audio, sound, position="before")
            span = (round(start, 4), round(end, 4))
        return TurnAudio(
            turn_index=index,
            sample_rate=rate,
            duration_s=audio.duration_s,
            samples=audio.samples,
            speech_start_s=round(audio.duration_s - speech_s + words[0], 4),
            speech_end_s=round(audio.duration_s - speech_s + words[1], 4),
            nonverbal=None if span is None else kind,
            nonverbal_span_s=span,
            stress_span_s=None if stress is None else _shifted(stress, audio.duration_s - speech_s),
        )

    def render_clips(self, dialogue: Dialogue) -> list[ClipAudio]:
        return self._backchannels(dialogue) + self._overheard(dialogue)

    def _backchannels(self, dialogue: Dialogue) -> list[ClipAudio]:
        """One clip per planned backchannel, in the listener's own voice and neutral style."""
        roles = [t.role for t in dialogue.script.turns]
        phrases = self.config.scene.turn_taking.backchannel_phrases
        clips = []
        for index, listener in sorted(clip_roles(dialogue.spec.events, roles).items()):
            seed = derive_seed(dialogue.spec.seed, self.name, "backchannel", index) % (2**31)
            phrase = phrases[seed % len(phrases)]
            voice = dialogue.cast.voices[listener]
            backend = self.backend(voice.backend)
            rate = self.config.scene.sample_rate
            if phrase == "laughter":
                audio = synthesize_nonverbal("laughter", backend, voice, rate, seed)
            else:
                audio = backend.synthesize(phrase, voice, TurnStyle()).resampled(rate)
            clips.append(_clip(f"backchannel-{index}", listener, phrase, audio))
        return clips

    def _overheard(self, dialogue: Dialogue) -> list[ClipAudio]:
        text = dialogue.script.overheard
        if not text:
            return []
        refs = self.config.voice.overheard_voices
        seed = derive_seed(dialogue.spec.seed, self.name, "overheard")
        voice = resolve_voice(refs[seed % len(refs)])
        audio = self.backend(voice.backend).synthesize(text, voice, TurnStyle())
        return [_clip("overheard", "other", text, audio.resampled(self.config.scene.sample_rate))]

    def _stress(self, dialogue: Dialogue, index: int, audio: Audio) -> tuple[float, float] | None:
        word = dialogue.script.stressed_word
        if dialogue.script.turns[index].labels.get("stress") != "stressed" or not word:
            return None
        text = dialogue.script.turns[index].text
        span = estimate_word_span(audio.samples, audio.sample_rate, text, word)
        if span is None:
            raise ValueError(f"stressed word {word!r} is not in turn {index}")
        return span


def _clip(clip_id: str, role: str, text: str, audio: Audio) -> ClipAudio:
    audio = trim_to_speech(audio)
    return ClipAudio(
        clip_id=clip_id,
        role=role,
        text=text,
        sample_rate=audio.sample_rate,
        duration_s=audio.duration_s,
        samples=audio.samples,
    )


def _shifted(span: tuple[float, float], offset: float) -> tuple[float, float]:
    return (round(span[0] + offset, 4), round(span[1] + offset, 4))
