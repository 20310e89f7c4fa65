"""Voice: one timbre per speaker for the whole dialogue, one style per turn from its labels.

The user's voice matches the speaker's gender, language and, where labelled, age and accent
(bank labels, see `tts_backends.timbre`); an identity keeps one voice in every dialogue. The
assistant speaks the dialogue's language. A label value no voice here can speak is rejected
as `not_realisable` (`unrealisable`); a value some voice speaks but none of the configured
ones as `no_voice`, naming the config field to extend."""

from __future__ import annotations

from functools import cache

import numpy as np

from dialogsmith.config import StyleConfig
from dialogsmith.records import Dialogue, DialogueSpec, SpeakerSpec, Turn, VoiceCast
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.style_prompts import style_prompt
from dialogsmith.taxonomy import TAXONOMY
from dialogsmith.tts_backends.base import TurnStyle, VoiceSpec
from dialogsmith.tts_backends.registry import BACKENDS, make_backend, resolve_voice
from dialogsmith.tts_backends.timbre import AGES, build_timbre_bank

REALISED = {
    "gender": "a voice of that gender",
    "age": "a bank timbre of that age group (F0, formants, F0 range, rate, tremor: timbre.py)",
    "accent": "a base voice that speaks it (us: hibari, piper, flite; gb: espeak-ng en-gb)",
    "language": "voices that speak it (en; zh: espeak-ng Mandarin)",
    "emotion": "prosody (rate, pitch, level)",
    "speed": "the engine's speaking rate",
    "volume": "gain",
    "non_verbal": "a laugh, sigh or cough in the speaker's voice before the turn",
    "stress": "higher F0, level and length on the stressed word (Praat)",
    "fidelity": "a named channel chain (band limit, codec, clipping, packet loss) on the turn",
    "audio_event": "a labelled recorded or procedural sound under the attribute turn",
    "music": "a seeded General MIDI piece (FluidSynth) under the dialogue",
}
"""Target attributes the embedded stages make audible today; the others wait for their stage.
Of the voiced ones (`VOICED`), only the values some voice speaks (`voiced_values`)."""
VOICED = ("gender", "age", "accent", "language")


def voice_label(voice: VoiceSpec, attribute: str) -> str:
    """The voice's value of a `VOICED` attribute ("" for an age outside the timbre bank)."""
    if attribute == "age":
        return voice.param("age")
    return str(getattr(voice, attribute))


@cache
def voiced_values(attribute: str) -> frozenset[str]:
    """The values of a `VOICED` attribute that a voice of some backend speaks; every age,
    since the timbre bank makes each of them from any base voice."""
    if attribute == "age":
        return frozenset(AGES)
    voices = [v for name in BACKENDS for v in make_backend(name).voices()]
    return frozenset(voice_label(v, attribute) for v in voices)


def unrealisable(spec: DialogueSpec) -> str | None:
    """Why this dialogue's labels cannot be put into the audio yet, naming the attribute and
    value, or None."""
    for name, value in [(spec.target_attribute, spec.target_value), *spec.user_labels.items()]:
        if name not in REALISED:
            realiser = TAXONOMY[name].realised_by
            return f"{name}={value} needs the {realiser} step, which does not realise it yet"
        spoken = voiced_values(name) if name in VOICED else {value}
        if value not in spoken:
            known = sorted(spoken & set(TAXONOMY[name].values))
            sound = TAXONOMY[name].values[value].sound.get("en", value)
            return (
                f"{name}={value} cannot be voiced: no TTS voice here has {sound} "
                f"(their {name} values: {', '.join(known)})"
            )
    return None


def matching_voices(speaker: SpeakerSpec, voices: list[VoiceSpec]) -> list[VoiceSpec]:
    """The voices with the speaker's gender and language, and age and accent where labelled.
    A speaker without an accent label gets a natural (neural) voice where one matches:
    espeak-ng's en-gb voices read at ~22 % WER and are there for gb-accented speakers."""
    wanted = {"gender": speaker.gender, "language": speaker.language}
    wanted |= {k: v for k, v in (("age", speaker.age), ("accent", speaker.accent)) if v}
    matches = [v for v in voices if all(voice_label(v, k) == x for k, x in wanted.items())]
    if speaker.accent:
        return matches
    natural = [v for v in matches if _natural(v.backend)]
    return natural or matches


def _natural(backend: str) -> bool:
    factory = BACKENDS.get(backend)
    return bool(getattr(getattr(factory, "capabilities", None), "natural", False))


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
            rng = stage_rng(spec.seed, self.name)
            user = spec.speaker("user")
            candidates = matching_voices(user, self.user_voices.get(user.gender, []))
            assistants = [v for v in self.assistant_voices if v.language == spec.language]
            missing = self._missing(spec, candidates, assistants)
            if missing:
                dialogue.reject(self.name, "no_voice", missing)
                continue
            identity = derive_seed(self.config.seed, user.speaker_id) % len(candidates)
            voices = {
                "user": candidates[identity],
                "assistant": self._assistant_voice(dialogue, assistants, rng),
            }
            styles = [self._style(dialogue, t, rng) for t in dialogue.script.turns]
            dialogue.cast = VoiceCast(voices=voices, styles=styles)

    @staticmethod
    def _missing(
        spec: DialogueSpec, candidates: list[VoiceSpec], assistants: list[VoiceSpec]
    ) -> str | None:
        """What the configured voices lack for this dialogue, and where to add it."""
        user = spec.speaker("user")
        if not candidates:
            cell = ", ".join(filter(None, (user.gender, user.age, user.accent, user.language)))
            return (
                f"no user voice is {cell}: add a base voice that speaks it to "
                "voice.user_bank_bases (or voice.user_voices)"
            )
        if not assistants:
            return (
                f"no assistant voice speaks language={spec.language}: add one to "
                "voice.assistant_voices (zh: e.g. espeak-ng:cmn-latn-pinyin+f2)"
            )
        return None

    def _style(self, dialogue: Dialogue, turn: Turn, rng: np.random.Generator) -> TurnStyle:
        if self.sampler is None or turn.role == "assistant":
            return style_for(turn, self.config.voice.style, rng)
        seed = derive_seed(dialogue.spec.seed, self.name, turn.index) % (2**31)
        prompt = style_prompt(turn.labels, dialogue.spec.speaker("user").gender, seed)
        return self.sampler.sample(prompt, seed)

    def _assistant_voice(
        self, dialogue: Dialogue, voices: list[VoiceSpec], rng: np.random.Generator
    ) -> VoiceSpec:
        """One of `voices` (already of the dialogue's language), of the planned gender if any."""
        gender = dialogue.spec.speaker("assistant").gender
        matching = [v for v in voices if v.gender == gender] or voices
        return matching[int(rng.integers(len(matching)))]
