"""Voice: one timbre per speaker for the whole dialogue, one style per turn from its labels."""

from __future__ import annotations

import numpy as np

from dialogsmith.config import StyleConfig
from dialogsmith.records import Dialogue, DialogueSpec, Turn, VoiceCast
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.style_prompts import style_prompt
from dialogsmith.taxonomy import TAXONOMY
from dialogsmith.tts_backends.base import TurnStyle, VoiceSpec
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.timbre import build_timbre_bank

REALISED = {
    "gender": "a voice of that gender",
    "emotion": "prosody (rate, pitch, level)",
    "speed": "the engine's speaking rate",
    "volume": "gain",
    "non_verbal": "a laugh, sigh or cough in the speaker's voice before the turn",
    "stress": "higher F0, level and length on the stressed word (Praat)",
}
"""Target attributes the embedded stages make audible today; the others wait for their stage."""


def unrealisable(spec: DialogueSpec) -> str | None:
    """Why this dialogue's labels cannot be put into the audio yet, or None."""
    for name, value in [(spec.target_attribute, spec.target_value), *spec.user_labels.items()]:
        if name == "language" and value == "en":
            continue
        if name not in REALISED:
            realiser = TAXONOMY[name].realised_by
            return f"{name}={value} needs the {realiser} step, which does not realise it yet"
    if spec.events:
        return f"event {spec.events[0].kind} needs the scene step, which does not realise it yet"
    return None


def style_for(turn: Turn, table: StyleConfig, rng: np.random.Generator) -> TurnStyle:
    labels = turn.labels
    rate, pitch, gain, f0_range = table.emotion_prosody[labels.get("emotion", "neutral")]
    rate *= table.speed_factor[labels.get("speed", "normal")]
    gain += table.volume_gain_db[labels.get("volume", "normal")]
    noise = rng.normal(size=3) * table.jitter
    return TurnStyle(
        speed=round(float(rate * (1 + noise[0])), 4),
        gain_db=round(float(gain + 30 * noise[1]), 2),
        pitch_shift_semitones=round(float(pitch + 20 * noise[2]), 2),
        f0_range_factor=round(float(f0_range), 3),
    )


class VoiceStage(Stage):
    name = "voice"
    requires = ("script",)
    default_resources = Resources(cpus=0.25)

    def setup(self) -> None:
        cfg = self.config.voice
        if cfg.user_bank_bases:
            bank = build_timbre_bank(cfg.user_bank_bases, cfg.user_bank_per_base, self.config.seed)
            voices = [t.voice() for t in bank]
            self.user_voices = {g: [v for v in voices if v.gender == g] for g in ("female", "male")}
        else:
            self.user_voices = {
                g: [resolve_voice(r) for r in refs] for g, refs in cfg.user_voices.items()
            }
        self.assistant_voices = [resolve_voice(r) for r in cfg.assistant_voices]
        self.sampler = None
        if cfg.style_sampler == "mdn":
            from dialogsmith.tts_backends.style_mdn import StyleSampler

            self.sampler = StyleSampler.load()

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            spec = dialogue.spec
            unrealised = unrealisable(spec)
            if unrealised:
                dialogue.reject(self.name, "not_realisable", unrealised)
                continue
            user = spec.speaker("user")
            candidates = self.user_voices.get(user.gender)
            if not candidates:
                dialogue.reject(self.name, "no_voice", f"no user voice for gender {user.gender!r}")
                continue
            identity = derive_seed(self.config.seed, user.speaker_id) % len(candidates)
            rng = stage_rng(spec.seed, self.name)
            voices = {
                "user": candidates[identity],
                "assistant": self._assistant_voice(dialogue, rng),
            }
            styles = [self._style(dialogue, t, rng) for t in dialogue.script.turns]
            dialogue.cast = VoiceCast(voices=voices, styles=styles)

    def _style(self, dialogue: Dialogue, turn: Turn, rng: np.random.Generator) -> TurnStyle:
        if self.sampler is None or turn.role == "assistant":
            return style_for(turn, self.config.voice.style, rng)
        seed = derive_seed(dialogue.spec.seed, self.name, turn.index) % (2**31)
        prompt = style_prompt(turn.labels, dialogue.spec.speaker("user").gender, seed)
        return self.sampler.sample(prompt, seed)

    def _assistant_voice(self, dialogue: Dialogue, rng: np.random.Generator) -> VoiceSpec:
        gender = dialogue.spec.speaker("assistant").gender
        matching = [v for v in self.assistant_voices if v.gender == gender] or self.assistant_voices
        return matching[int(rng.integers(len(matching)))]
