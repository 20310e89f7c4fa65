"""Voice: one timbre per speaker for the whole dialogue, one style per turn from its labels.

The user's voice matches the speaker's gender, language and, where labelled, age and accent
(bank labels, see `tts_backends.timbre`); an identity keeps one voice in every dialogue and
shard, and identities of the job's speaker pool get distinct voices while the bank has enough
(`identity_voices`): the bank grows with the pool unless `voice.user_bank_per_base` is set
(`auto_per_base`). The assistant speaks the dialogue's language. A label value no voice here
can speak is rejected as `not_realisable` (`unrealisable`); a value some voice speaks but none
of the configured ones as `no_voice`, naming the config field to extend."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import replace
from functools import cache

import numpy as np

from dialogsmith.config import PlanConfig, StyleConfig
from dialogsmith.records import Dialogue, DialogueSpec, SpeakerSpec, Turn, VoiceCast
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.speakers import SpeakerPool
from dialogsmith.stages.style_prompts import style_prompt
from dialogsmith.taxonomy import TAXONOMY, band
from dialogsmith.tts_backends.base import TurnStyle, VoiceSpec
from dialogsmith.tts_backends.registry import BACKENDS, make_backend, resolve_voice
from dialogsmith.tts_backends.timbre import AGES, build_timbre_bank

log = logging.getLogger(__name__)

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


MIN_PER_BASE, MAX_PER_BASE = 6, 400  # one timbre per cell and base; the config's bound


def voice_ref(voice: VoiceSpec) -> str:
    """The voice's 'backend:voice[~timbre]' name, as configs and manifests write it."""
    return f"{voice.backend}:{voice.name}"


def planned_languages(plan: PlanConfig) -> list[str]:
    """The user languages the plan can draw: those of positive weight, and every plannable
    one when the language is a target attribute (`PlanStage.plan`)."""
    from dialogsmith.stages.plan import plannable_values  # plan builds on this module

    languages = [lang for lang, weight in plan.languages.items() if weight > 0]
    if "language" in plan.attributes:
        languages += plannable_values("language", plan.realisable_only)
    return list(dict.fromkeys(languages))


def job_pool(plan: PlanConfig) -> list[SpeakerSpec]:
    """The job's user identities, built as `PlanStage.setup` builds them (so the same ones in
    every shard), of the languages the plan draws."""
    wanted = {"gender", *plan.speaker_attributes, *plan.attributes}
    pool = SpeakerPool(plan.speaker_pool, wanted, plan.realisable_only)
    return [s for lang in planned_languages(plan) for s in pool.by_language[lang]]


def candidate_groups(
    pool: list[SpeakerSpec], voices: dict[str, list[VoiceSpec]]
) -> dict[tuple[str, ...], tuple[list[VoiceSpec], list[str]]]:
    """The pool's identities (ids, in pool order) grouped by their candidate voices
    (`matching_voices`), keyed by those voices' refs; identities no voice matches are left
    out (the stage rejects their dialogues)."""
    matches: dict[tuple, list[VoiceSpec]] = {}
    groups: dict[tuple[str, ...], tuple[list[VoiceSpec], list[str]]] = {}
    for speaker in pool:
        labels = (speaker.gender, speaker.age, speaker.accent, speaker.language)
        if labels not in matches:  # a few label sets among hundreds of identities
            matches[labels] = matching_voices(speaker, voices.get(speaker.gender, []))
        candidates = matches[labels]
        if candidates:
            key = tuple(map(voice_ref, candidates))
            groups.setdefault(key, (candidates, []))[1].append(speaker.speaker_id)
    return groups


def identity_voices(
    pool: list[SpeakerSpec], voices: dict[str, list[VoiceSpec]], seed: int
) -> dict[str, VoiceSpec]:
    """speaker_id -> voice, distinct within each candidate group while it has voices: identity
    j of a group takes candidate perm[j % n] of a permutation seeded by the job seed and the
    group, so two identities share a voice only in a group with more identities than its n
    candidates. Depends on the config alone, never on the dialogues of a shard."""
    mapping: dict[str, VoiceSpec] = {}
    for key, (candidates, ids) in candidate_groups(pool, voices).items():
        n = len(candidates)
        order = np.random.default_rng(derive_seed(seed, "voice", *key)).permutation(n)
        for j, speaker_id in enumerate(ids):
            mapping[speaker_id] = candidates[int(order[j % n])]
    return mapping


def collisions_among(speaker_to_voice: dict[str, str]) -> int:
    """Identities that share their voice (ref) with at least one other identity: 0 when every
    identity sounds like no other, all of them when they all speak in one voice."""
    counts = Counter(speaker_to_voice.values())
    return sum(n for n in counts.values() if n > 1)


def voice_collisions(mapping: dict[str, VoiceSpec]) -> int:
    """`collisions_among` for an `identity_voices` mapping."""
    return collisions_among({s: voice_ref(v) for s, v in mapping.items()})


def bank_voices(bases: list[str], per_base: int, seed: int) -> dict[str, list[VoiceSpec]]:
    """The timbre bank's voices by gender."""
    voices = [t.voice() for t in build_timbre_bank(bases, per_base, seed)]
    return {g: [v for v in voices if v.gender == g] for g in ("female", "male")}


def auto_per_base(pool: list[SpeakerSpec], bases: list[str], seed: int) -> int:
    """Variants per base that give every candidate group (a gender x age cell, of one accent
    and language where labelled) at least one voice per identity needing it: a probe bank of
    six per base holds one timbre per base and cell, so a group's probe candidates s say how
    many (base, cell) slots feed it, and 6k per base give it k*s voices. Bounded by
    `MIN_PER_BASE` and `MAX_PER_BASE`."""
    probe = candidate_groups(pool, bank_voices(bases, MIN_PER_BASE, seed))
    k = max((math.ceil(len(ids) / len(c)) for c, ids in probe.values()), default=1)
    return min(max(MIN_PER_BASE * k, MIN_PER_BASE), MAX_PER_BASE)


def style_for(turn: Turn, table: StyleConfig, rng: np.random.Generator) -> TurnStyle:
    labels = turn.labels
    rate, pitch, gain, f0_range = table.emotion_prosody[labels.get("emotion", "neutral")]
    rate *= table.speed_factor[labels.get("speed", "normal")]
    gain += table.volume_gain_db[labels.get("volume", "normal")]
    noise = rng.normal(size=3) * table.jitter
    style = TurnStyle(
        speed=round(float(rate * (1 + noise[0])), 4),
        gain_db=round(float(gain + 30 * noise[1]), 2),
        pitch_shift_semitones=round(float(pitch + 20 * noise[2]), 2),
        f0_range_factor=round(float(f0_range), 3),
    )
    return within_bands(style, labels) if turn.role == "user" else style


def within_bands(style: TurnStyle, labels: dict[str, str]) -> TurnStyle:
    """The style with its rate and gain inside the rendered bands of the turn's speed and
    volume labels (taxonomy.yaml `band`): an emotion's profile or the jitter may move a
    "normal" turn only as far as still sounds normal against the speaker's other turns."""
    speed = band("speed", labels.get("speed", "normal"))
    volume = band("volume", labels.get("volume", "normal"))
    return replace(
        style,
        speed=round(speed.clamp(style.speed), 4) if speed else style.speed,
        gain_db=round(volume.clamp(style.gain_db), 2) if volume else style.gain_db,
    )


class VoiceStage(Stage):
    name = "voice"
    requires = ("script",)
    default_resources = Resources(cpus=0.25)

    def setup(self) -> None:
        cfg, seed = self.config.voice, self.config.seed
        self.pool = job_pool(self.config.plan)
        self.per_base = None
        if cfg.user_bank_bases:
            self.per_base = cfg.user_bank_per_base or auto_per_base(
                self.pool, cfg.user_bank_bases, seed
            )
            self.user_voices = bank_voices(cfg.user_bank_bases, self.per_base, seed)
        else:
            self.user_voices = {
                g: [resolve_voice(r) for r in refs] for g, refs in cfg.user_voices.items()
            }
        self.identity_voices = identity_voices(self.pool, self.user_voices, seed)
        self.pool_collisions = voice_collisions(self.identity_voices)
        self._log_bank()
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
            voices = {
                "user": self._user_voice(user, candidates),
                "assistant": self._assistant_voice(dialogue, assistants, rng),
            }
            styles = [self._style(dialogue, t, rng) for t in dialogue.script.turns]
            dialogue.cast = VoiceCast(voices=voices, styles=styles)

    def _log_bank(self) -> None:
        bank = sum(map(len, self.user_voices.values()))
        source = f"{self.per_base} per base" if self.per_base else "voice.user_voices"
        log.info(
            "voice: %d user voices (%s), pool of %d identities, %d with a voice, %d share theirs",
            bank,
            source,
            len(self.pool),
            len(self.identity_voices),
            self.pool_collisions,
        )

    def _user_voice(self, user: SpeakerSpec, candidates: list[VoiceSpec]) -> VoiceSpec:
        """The identity's pool voice; a speaker outside the pool (or labelled unlike its pool
        identity) takes a seeded hash of its id over its candidates, also stable."""
        voice = self.identity_voices.get(user.speaker_id)
        if voice is not None and voice in candidates:
            return voice
        return candidates[derive_seed(self.config.seed, user.speaker_id) % len(candidates)]

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
        return within_bands(self.sampler.sample(prompt, seed), turn.labels)

    def _assistant_voice(
        self, dialogue: Dialogue, voices: list[VoiceSpec], rng: np.random.Generator
    ) -> VoiceSpec:
        """One of `voices` (already of the dialogue's language), of the planned gender if any."""
        gender = dialogue.spec.speaker("assistant").gender
        matching = [v for v in voices if v.gender == gender] or voices
        return matching[int(rng.integers(len(matching)))]
