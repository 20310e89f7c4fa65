"""Job configuration: pydantic models with described fields; YAML files only override defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dialogsmith.engines.config import EngineConfig
from dialogsmith.taxonomy import ATTRIBUTE_VALUES, EVENT_KINDS, TARGET_ATTRIBUTES
from dialogsmith.tts_backends.registry import resolve_voice

REALISED_TODAY = [
    "gender",
    "age",
    "emotion",
    "speed",
    "volume",
    "stress",
    "non_verbal",
    "fidelity",
    "audio_event",
    "music",
]
"""Targets the embedded voice and render stages make audible today (see README)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanConfig(Section):
    attributes: list[str] = Field(
        default=REALISED_TODAY,
        min_length=1,
        description="Target attributes the assistant's reply may depend on (taxonomy.yaml).",
    )
    coverage: Literal["balanced", "weighted"] = Field(
        "balanced",
        description="balanced: attributes round-robin, values in even blocks; "
        "weighted: draw by `weights` / `value_weights`.",
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="Attribute -> weight for weighted coverage (default 1)."
    )
    value_weights: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Attribute -> value -> weight (default uniform)."
    )
    languages: dict[Literal["en", "zh"], float] = Field(
        default={"en": 1.0},
        description="Share of user languages when language is not the target attribute.",
    )
    events: dict[str, float] = Field(
        default_factory=dict,
        description="Event kind (interruption, backchannel, overlap, non_query) -> "
        "probability per dialogue.",
    )
    speaker_attributes: list[Literal["age", "accent"]] = Field(
        default_factory=list,
        description="Speaker attributes every user identity carries besides gender (as labels "
        "on every dialogue, not only when targeted); only ask for what the voices realise.",
    )
    realisable_only: bool = Field(
        True,
        description="Plan only the values some voice here can speak (accents: us and gb on the "
        "embedded voices); False plans every taxonomy value and lets the voice stage reject "
        "the rest as not_realisable.",
    )
    speaker_pool: int = Field(
        240, ge=2, description="Distinct user identities; each keeps its attributes and voice."
    )
    min_turns: int = Field(4, ge=2, le=12, description="Fewest turns in a dialogue (even).")
    max_turns: int = Field(6, ge=2, le=12, description="Most turns in a dialogue (even).")
    noise_probability: float = Field(0.5, ge=0, le=1, description="Share of noisy dialogues.")
    noise_snr_db: tuple[float, float] = Field(
        (10.0, 30.0), description="Range of speech-to-noise ratios in dB for noisy dialogues."
    )
    noise_kinds: list[Literal["white", "pink", "brown", "babble"]] = Field(
        default=["white", "pink", "brown"], min_length=1, description="Coloured-noise kinds."
    )

    @field_validator("attributes")
    @classmethod
    def _targets_known(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in TARGET_ATTRIBUTES]
        if unknown:
            raise ValueError(f"unknown target attributes {unknown}; allowed: {TARGET_ATTRIBUTES}")
        return names

    @field_validator("events")
    @classmethod
    def _events_known(cls, table: dict[str, float]) -> dict[str, float]:
        for name, p in table.items():
            if name not in EVENT_KINDS:
                raise ValueError(f"unknown event {name!r}; allowed: {EVENT_KINDS}")
            if not 0 <= p <= 1:
                raise ValueError(f"event {name!r} probability {p} is outside [0, 1]")
        return table

    @model_validator(mode="after")
    def _ranges(self) -> PlanConfig:
        if self.min_turns > self.max_turns:
            raise ValueError(f"min_turns ({self.min_turns}) > max_turns ({self.max_turns})")
        if self.noise_snr_db[0] > self.noise_snr_db[1]:
            raise ValueError(f"noise_snr_db must be (low, high), got {self.noise_snr_db}")
        for name, table in self.value_weights.items():
            unknown = set(table) - set(ATTRIBUTE_VALUES.get(name, ()))
            if unknown:
                raise ValueError(f"value_weights.{name}: unknown values {sorted(unknown)}")
        if not any(w > 0 for w in self.languages.values()):
            raise ValueError("languages needs at least one positive weight")
        return self


class ScriptConfig(Section):
    engine: EngineConfig = Field(default_factory=EngineConfig, description="LLM engine.")
    temperature: float = Field(0.8, ge=0, le=2, description="Sampling temperature.")
    top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling mass.")
    max_tokens: int = Field(450, ge=32, le=8192, description="Token budget per script.")
    max_attempts: int = Field(
        2, ge=1, le=5, description="Tries per script; a failed try is re-sampled with a new seed."
    )
    max_words_per_turn: int = Field(40, ge=3, le=200, description="Longest English turn.")
    max_chars_per_turn_zh: int = Field(
        70, ge=5, le=400, description="Longest Chinese turn, in characters."
    )
    near_duplicate_threshold: float | None = Field(
        0.7,
        gt=0,
        le=1,
        description="Jaccard similarity (MinHash over word 3-grams) at which a later script "
        "counts as a near-duplicate of an earlier one and is rejected; None keeps all.",
    )
    output_format: Literal["grammar", "json_schema"] = Field(
        "grammar",
        description="grammar: GBNF fixing roles, count and the reply's opening words "
        "(vLLM); json_schema: a JSON schema, for engines without grammars (the checks then "
        "catch a reply that ignores the attribute).",
    )


class StyleConfig(Section):
    speed_factor: dict[str, float] = Field(
        default={"slow": 0.72, "normal": 1.0, "fast": 1.45},
        description="Speaking-rate factor per speed label (1 = the voice's normal rate).",
    )
    volume_gain_db: dict[str, float] = Field(
        default={"low": -14.0, "normal": 0.0, "loud": 10.0},
        description="Gain in dB per volume label, relative to the normal speech level.",
    )
    emotion_prosody: dict[str, tuple[float, float, float, float]] = Field(
        default={
            "neutral": (1.0, 0.0, 0.0, 1.0),
            "happy": (1.08, 2.5, 2.0, 1.35),
            "sad": (0.85, -2.5, -4.0, 0.65),
            "angry": (1.1, 1.0, 5.0, 1.25),
            "surprised": (1.05, 4.0, 3.0, 1.6),
            "fearful": (1.12, 3.0, -2.0, 1.2),
            "disgusted": (0.9, -1.5, 1.0, 0.85),
        },
        description="(rate factor, pitch shift in semitones, gain in dB, F0 range factor) per "
        "emotion label: the prosodic profile that makes the emotion audible.",
    )
    jitter: float = Field(0.03, ge=0, le=0.2, description="Seeded relative jitter on styles.")

    @model_validator(mode="after")
    def _covers_labels(self) -> StyleConfig:
        for attr, table in (
            ("speed", self.speed_factor),
            ("volume", self.volume_gain_db),
            ("emotion", self.emotion_prosody),
        ):
            missing = set(ATTRIBUTE_VALUES[attr]) - set(table)
            if missing:
                raise ValueError(f"{attr} labels without a style: {sorted(missing)}")
        return self


class VoiceConfig(Section):
    user_bank_bases: list[str] = Field(
        default=[
            "hibari:heart",
            "piper:en_US-joe-medium",
            "espeak-ng:en-gb+m3",
            "espeak-ng:en-gb+f2",
            "espeak-ng:cmn-latn-pinyin+f2",
            "espeak-ng:cmn-latn-pinyin+m3",
        ],
        description="Base voices of the user timbre bank (Praat formant and pitch variants); "
        "empty: use `user_voices` as they are.",
    )
    user_bank_per_base: int | None = Field(
        None,
        ge=1,
        le=400,
        description="Timbre variants per base voice (cycling gender x age: 6k give each cell "
        "k per base). None: as many as make every gender x age cell hold at least one timbre "
        "per identity of plan.speaker_pool that needs it (6 to 400 per base; computed by the "
        "voice stage), so identities share a voice only where a cell runs out.",
    )
    user_voices: dict[Literal["male", "female"], list[str]] = Field(
        default={"female": ["hibari:heart"], "male": ["piper:en_US-joe-medium"]},
        description="User voices per gender as 'backend:voice'.",
    )
    assistant_voices: list[str] = Field(
        default=["flite:slt", "flite:rms", "espeak-ng:cmn-latn-pinyin+f2"],
        min_length=1,
        description="Assistant voices as 'backend:voice'; each dialogue takes one that speaks "
        "its language.",
    )
    overheard_voices: list[str] = Field(
        default=["flite:awb", "flite:kal16"],
        min_length=1,
        description="Voices of people near the user whose lines are not addressed to the "
        "assistant (non-query audio).",
    )
    style: StyleConfig = Field(default_factory=StyleConfig, description="Style per label.")
    style_sampler: Literal["table", "mdn"] = Field(
        "table",
        description="table: the prosody table in `style` (faithful, little variety); mdn: the "
        "ControlSpeech-style sampler over a prompt built from the labels (varied; 38-49 % of "
        "samples land in the described bin per dimension, see README).",
    )

    @field_validator("user_bank_bases")
    @classmethod
    def _bases_exist(cls, refs: list[str]) -> list[str]:
        return _known_voices(refs)

    @field_validator("assistant_voices", "overheard_voices")
    @classmethod
    def _assistant_voices_exist(cls, refs: list[str]) -> list[str]:
        return _known_voices(refs)

    @field_validator("user_voices")
    @classmethod
    def _user_voices_exist(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        for gender, refs in table.items():
            for voice in map(resolve_voice, _known_voices(refs)):
                if voice.gender != gender:
                    raise ValueError(
                        f"{voice.backend}:{voice.name} is {voice.gender}, not {gender}"
                    )
        return table


def _known_voices(refs: list[str]) -> list[str]:
    for ref in refs:
        resolve_voice(ref)  # raises naming the voice and what the backend has
    return refs


def _ordered(pair: tuple[float, float], name: str) -> tuple[float, float]:
    if pair[0] > pair[1]:
        raise ValueError(f"{name} must be (low, high), got {pair}")
    return pair


class TurnTakingConfig(Section):
    """Gaps and overlaps between turns; defaults from NeMo's multi-speaker simulator.

    NeMo states silence and overlap as proportions (mean_silence 0.15, mean_overlap 0.19,
    overlap_prob 0.5); here they scale per transition: a gap's mean is `mean_silence` times
    the previous turn's duration, an overlap's mean `mean_overlap` times the shorter of the two
    turns, both gamma-distributed as in lhotse's conversational simulator. NeMo's
    turn_prob (0.875) does not apply: two-party scripts alternate speakers every turn."""

    overlap_probability: float = Field(
        0.5, ge=0, le=1, description="Share of overlapping transitions."
    )
    mean_silence: float = Field(0.15, gt=0, le=2, description="Mean gap / previous turn duration.")
    mean_overlap: float = Field(0.19, gt=0, le=0.5, description="Mean overlap / shorter turn.")
    shape: float = Field(2.0, gt=0, description="Gamma shape of gaps and overlaps.")
    max_gap_s: float = Field(2.0, gt=0, le=10, description="Longest gap in seconds.")
    max_overlap_s: float = Field(
        1.5, gt=0, le=5, description="Longest ordinary overlap in seconds."
    )
    min_overlap_s: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Shortest ordinary overlap in seconds: a shorter draw is lengthened to it "
        "(within half the shorter turn): the VAD hears a new speaker ~0.15 s late, so on 100 "
        "bench dialogues 19 of 160 overlaps of 0.25 s were heard over less than half.",
    )
    overlap_event_s: tuple[float, float] = Field(
        (0.4, 0.9), description="Overlap of a planned short_overlap event, seconds (uniform)."
    )
    interruption_cut: tuple[float, float] = Field(
        (0.4, 0.75), description="Where an interrupted turn is cut, as a fraction of its speech."
    )
    interruption_overlap_s: tuple[float, float] = Field(
        (0.4, 0.7), description="How long both talk before the interrupted speaker stops."
    )
    cut_fade_s: float = Field(0.04, gt=0, le=0.5, description="Fade-out of an interrupted turn.")
    backchannel_phrases: list[str] = Field(
        default=["mm-hm", "right", "yeah", "okay", "I see", "laughter"],
        min_length=1,
        description="Backchannels the listener says during the other's turn; 'laughter' is a "
        "laugh in the listener's voice.",
    )
    backchannel_gain_db: float = Field(-6.0, ge=-30, le=6, description="Backchannel level.")

    @model_validator(mode="after")
    def _ranges(self) -> TurnTakingConfig:
        for name in ("overlap_event_s", "interruption_cut", "interruption_overlap_s"):
            _ordered(getattr(self, name), name)
        return self


class BackgroundConfig(Section):
    event_snr_db: tuple[float, float] = Field(
        (0.0, 10.0), description="Speech-to-event ratio in dB over the samples they overlap."
    )
    music_snr_db: tuple[float, float] = Field(
        (8.0, 16.0), description="Speech-to-music ratio in dB over the samples they overlap."
    )
    nonquery_snr_db: tuple[float, float] = Field(
        (0.0, 6.0), description="Speech-to-overheard-speech ratio in dB (non-query audio)."
    )
    babble_talkers: int = Field(6, ge=2, le=16, description="Talkers in babble noise.")

    @model_validator(mode="after")
    def _ranges(self) -> BackgroundConfig:
        for name in ("event_snr_db", "music_snr_db", "nonquery_snr_db"):
            _ordered(getattr(self, name), name)
        return self


class RoomConfig(Section):
    probability: float = Field(0.0, ge=0, le=1, description="Share of dialogues in a room.")
    rt60_s: tuple[float, float] = Field((0.2, 0.6), description="Reverberation time range.")
    dimensions_m: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = Field(
        ((3.0, 8.0), (3.0, 6.0), (2.5, 3.2)), description="Room length, width, height ranges."
    )

    @model_validator(mode="after")
    def _ranges(self) -> RoomConfig:
        _ordered(self.rt60_s, "rt60_s")
        for axis in self.dimensions_m:
            _ordered(axis, "dimensions_m")
        return self


class SceneConfig(Section):
    sample_rate: int = Field(16000, description="Sample rate of every channel in Hz.")
    lead_in_s: float = Field(0.3, ge=0, le=5, description="Silence before the first turn.")
    tail_s: float = Field(0.3, ge=0, le=5, description="Silence after the last turn.")
    peak_dbfs: float = Field(-1.0, le=0, description="Peak limit of every channel after gain.")
    loudness_lufs: float | None = Field(
        -23.0,
        ge=-70,
        le=-5,
        description="Integrated loudness of the mix (EBU R128); None keeps "
        "levels as rendered. Lowered further if a peak would pass peak_dbfs.",
    )
    crosstalk_db: float | None = Field(
        None,
        ge=-60,
        le=0,
        description="Echo of the other speaker on each speaker channel, in dB "
        "(labelled `crosstalk` tracks); None keeps channels clean.",
    )
    turn_taking: TurnTakingConfig = Field(default_factory=TurnTakingConfig)
    background: BackgroundConfig = Field(default_factory=BackgroundConfig)
    room: RoomConfig = Field(default_factory=RoomConfig)


CHECK_ACTIONS = {
    "wer": "reject",
    "speech": "reject",
    "target_attribute": "reject",
    "attribute": "relabel",
    "background": "reject",
    "mix_wer": "flag",
    "speaker": "flag",
    "timeline": "flag",
    "overlap": "reject",
    "events": "reject",
}
"""What a failed check does to its dialogue by default (README: Verification)."""


class VerifyConfig(Section):
    asr: Literal["faster-whisper", "pocketsphinx", "transformers"] = Field(
        "faster-whisper", description="ASR backend for WER and CER."
    )
    asr_model: str = Field(
        "embedded-tiny.en",
        description="faster-whisper: 'embedded-tiny.en' (packaged) or a path / model name; "
        "transformers: a Whisper model id or folder (e.g. openai/whisper-large-v3).",
    )
    asr_compute_type: str = Field("int8", description="CTranslate2 compute type.")
    asr_device: str = Field("cpu", description="Device of the ASR model (cpu, cuda).")
    max_wer_attribute_turn: float = Field(
        0.5, ge=0, le=1, description="Highest WER on the user turn that carries the attribute."
    )
    max_wer_user: float = Field(0.5, ge=0, le=1, description="Highest WER on other user turns.")
    max_wer_reply: float = Field(
        0.25, ge=0, le=1, description="Highest WER on assistant turns (see README for why)."
    )
    transcribe_mix: bool = Field(True, description="Also transcribe each turn cut from the mix.")
    pack_asr: bool = Field(
        True,
        description="Transcribe a dialogue's turns several to one Whisper window (faster-whisper: "
        "the encoder costs a full 30 s window however short the turn); False transcribes each "
        "turn alone, as README's detection figures compare.",
    )
    max_mix_wer: float = Field(
        0.6, ge=0, le=2, description="Highest WER of a turn cut from the mix (noise, overlap)."
    )
    emotion: Literal["prosodic", "transformers"] = Field(
        "prosodic", description="Emotion classifier: prosodic profile, or a transformers model."
    )
    emotion_model: str | None = Field(None, description="Model id or folder for transformers.")
    speaker_embedder: Literal["timbre", "transformers"] = Field(
        "timbre",
        description="Speaker embedding: acoustic timbre features, or a transformers "
        "speaker-verification model.",
    )
    speaker_model: str | None = Field(None, description="Model id or folder for transformers.")
    max_speaker_ratio: float = Field(
        0.75, gt=0, le=2, description="Largest within-speaker / between-speaker distance."
    )
    vad: Literal["silero", "energy"] = Field("silero", description="VAD for timeline checks.")
    min_vad_precision: float = Field(
        0.8, ge=0, le=1, description="Least share of VAD speech inside the timeline's tracks."
    )
    min_vad_recall: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Least share of the tracks' span VAD hears as speech "
        "(tracks include the pauses inside a turn).",
    )
    snr_tolerance_db: float = Field(
        1.0, gt=0, le=10, description="Largest measured - labelled SNR of a background track."
    )
    overlap_tolerance_s: float = Field(
        0.3,
        ge=0,
        description="Largest difference between the seconds both speaker channels are heard "
        "at once (VAD) and the timeline's overlap seconds; beyond it the `overlap` check fails.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Overrides of the attribute rules' thresholds (qa.attribute_checks."
        "CheckThresholds: speed_fast_ratio, volume_loud_db, fidelity_low_hf_db, ...).",
    )
    policy: dict[str, Literal["reject", "flag", "ignore", "relabel"]] = Field(
        default_factory=lambda: dict(CHECK_ACTIONS),
        description="Failed check -> reject the dialogue, keep it with a flag, or ignore; "
        "`attribute` (labels other than the target) may also relabel: a speed or volume "
        "label takes the value whose band holds the measurement (or is dropped between "
        "bands), other labels are then flagged.",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, table: dict[str, float]) -> dict[str, float]:
        from dataclasses import fields

        from dialogsmith.qa.attribute_checks import CheckThresholds

        known = sorted(f.name for f in fields(CheckThresholds))
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ValueError(f"unknown thresholds {unknown}; allowed: {known}")
        return table

    @field_validator("policy")
    @classmethod
    def _known_checks(cls, table: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(table) - set(CHECK_ACTIONS))
        if unknown:
            raise ValueError(f"unknown checks {unknown}; allowed: {sorted(CHECK_ACTIONS)}")
        relabelled = sorted(k for k, v in table.items() if v == "relabel" and k != "attribute")
        if relabelled:
            raise ValueError(f"only `attribute` may relabel, not {relabelled}")
        return {**CHECK_ACTIONS, **table}


class ExecutorConfig(Section):
    kind: Literal["local", "ray"] = Field("local", description="Where the stages run.")
    address: str | None = Field(None, description="Ray cluster address; None starts Ray here.")
    max_in_flight_shards: int = Field(2, ge=1, description="Shards in flight on Ray at once.")


class JobConfig(Section):
    name: str = Field("dialogsmith-job", description="Job name, written to the dataset card.")
    seed: int = Field(0, ge=0, description="Job seed; every random choice derives from it.")
    num_dialogues: int = Field(12, ge=1, description="Dialogues to plan.")
    shard_size: int = Field(8, ge=1, le=10000, description="Dialogues per shard (unit of work).")
    language: Literal["en"] = Field("en", description="Script language.")
    plan: PlanConfig = Field(default_factory=PlanConfig)
    script: ScriptConfig = Field(default_factory=ScriptConfig)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    scene: SceneConfig = Field(default_factory=SceneConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


class ConfigError(ValueError):
    """A config value was refused; the message names each field, value and what is allowed."""


def load_config(path: str | Path | None = None, **overrides: Any) -> JobConfig:
    """Defaults <- YAML file <- overrides (dotted keys such as `executor.kind`)."""
    data: dict[str, Any] = {}
    if path is not None:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data)}")
    for dotted, value in overrides.items():
        if value is not None:
            _set_dotted(data, dotted, value)
    try:
        return JobConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, path)) from None


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value


def _describe(err: ValidationError, path: str | Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid job config{where}:"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {field} = {e.get('input')!r}: {e['msg']}")
    return "\n".join(lines)
