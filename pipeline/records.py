"""The record that travels through the stages: a `Dialogue` and its parts.

Units are explicit in names and aliases (`Seconds`, `Decibels`, `Hertz`). Audio arrays are
transient: they travel between stages but the JSON form of a record carries only metadata,
and the audio is written to the shard beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import numpy as np

from dialogsmith.tts_backends.base import TurnStyle, VoiceSpec

Seconds = float
Decibels = float
Hertz = int
Role = Literal["user", "assistant"]

TRANSIENT = {"transient": True}


@dataclass(frozen=True)
class SpeakerSpec:
    """A consistent identity: the same `speaker_id` always has the same attributes and voice."""

    speaker_id: str
    role: Role
    gender: str
    age: str | None = None
    accent: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class SceneSpec:
    noise_kind: str | None
    noise_snr_db: Decibels | None
    audio_event: str | None = None
    music: str | None = None


@dataclass(frozen=True)
class PlannedEvent:
    """An interaction or robustness event (taxonomy kind `event`) anchored at a turn."""

    kind: str
    value: str
    turn: int


@dataclass(frozen=True)
class DialogueSpec:
    dialogue_id: str
    index: int
    seed: int
    language: str
    topic: str
    target_attribute: str
    target_value: str
    num_turns: int
    attribute_turn: int
    user_labels: dict[str, str]
    speakers: list[SpeakerSpec]
    scene: SceneSpec
    domain: str = ""
    events: list[PlannedEvent] = field(default_factory=list)

    def speaker(self, role: Role) -> SpeakerSpec:
        return next(s for s in self.speakers if s.role == role)


@dataclass(frozen=True)
class Turn:
    index: int
    role: Role
    text: str
    labels: dict[str, str] = field(default_factory=dict)
    reacts_to: str | None = None
    cut_at_word: int | None = None
    """Set by the scene when the next speaker interrupts: words from this index on are not heard."""


@dataclass(frozen=True)
class Script:
    turns: list[Turn]
    raw: str
    attempts: int
    repaired: bool = False
    stressed_word: str | None = None
    overheard: str | None = None


@dataclass(frozen=True)
class VoiceCast:
    voices: dict[str, VoiceSpec]
    styles: list[TurnStyle]


@dataclass
class TurnAudio:
    """A rendered turn, trimmed to what is heard; a non-verbal sound (laughter, sigh, cough)
    may precede the words. `speech_start_s` and `speech_end_s` bound the words (measured,
    `tts_backends.base.trim_to_speech`), within the turn's samples."""

    turn_index: int
    sample_rate: Hertz
    duration_s: Seconds
    samples: np.ndarray | None = field(default=None, metadata=TRANSIENT, repr=False)
    speech_start_s: Seconds = 0.0
    speech_end_s: Seconds | None = None  # None: the end of the samples
    nonverbal: str | None = None
    nonverbal_span_s: tuple[Seconds, Seconds] | None = None
    stress_span_s: tuple[Seconds, Seconds] | None = None

    @property
    def words_span_s(self) -> tuple[Seconds, Seconds]:
        end = self.duration_s if self.speech_end_s is None else self.speech_end_s
        return (self.speech_start_s, end)


@dataclass
class ClipAudio:
    """A short rendering that is not a script turn: a backchannel or an overheard line."""

    clip_id: str
    role: str
    text: str
    sample_rate: Hertz
    duration_s: Seconds
    samples: np.ndarray | None = field(default=None, metadata=TRANSIENT, repr=False)


TrackKind = Literal[
    "speech",
    "backchannel",
    "crosstalk",
    "noise",
    "event",
    "music",
    "nonquery",
    "nonverbal",
    "stress",
]
FOREGROUND_KINDS = ("speech", "backchannel", "crosstalk")
"""Tracks on a speaker's channel, placed from rendered turn or clip audio."""
BACKGROUND_KINDS = ("noise", "event", "music", "nonquery")
"""Tracks on the background channel, scaled to `snr_db` against the speech they overlap."""


@dataclass(frozen=True)
class Track:
    """One placed source on the timeline; the scene is rendered from these alone.

    `source` names the audio: `turn:<i>`, `clip:<id>` (rendered speech), or a generator with
    its seed: `noise:<kind>`, `babble:<talkers>`, `event:<id>`, `music:<id>`. `effect` is a channel
    fidelity profile applied to this track, `room_position` the speaker position in the
    timeline's room whose impulse response it is convolved with. `nonverbal` and `stress`
    tracks only annotate where a sound or the stressed word sits inside a speech track."""

    kind: TrackKind
    channel: str
    label: str
    offset_s: Seconds
    duration_s: Seconds
    gain_db: Decibels = 0.0
    turn_index: int | None = None
    snr_db: Decibels | None = None
    seed: int | None = None
    source: str | None = None
    caption: str | None = None
    fade_out_s: Seconds = 0.0
    effect: str | None = None
    room_position: str | None = None

    @property
    def end_s(self) -> Seconds:
        return self.offset_s + self.duration_s


@dataclass(frozen=True)
class Room:
    """A shoebox room: the user's and the assistant's positions and one microphone each."""

    dimensions_m: tuple[float, float, float]
    rt60_s: Seconds
    positions_m: dict[str, tuple[float, float, float]]
    microphones_m: dict[str, tuple[float, float, float]]
    seed: int = 0


@dataclass(frozen=True)
class Timeline:
    sample_rate: Hertz
    duration_s: Seconds
    tracks: list[Track]
    master_gain_db: Decibels = 0.0
    room: Room | None = None
    loudness_lufs: float | None = None

    def speech(self) -> list[Track]:
        return [t for t in self.tracks if t.kind == "speech"]

    def transitions(self) -> list[Seconds]:
        """Each turn's start minus the previous turn's end, in turn order (negative: overlap)."""
        speech = sorted(self.speech(), key=lambda t: t.turn_index or 0)
        return [round(b.offset_s - a.end_s, 4) for a, b in pairwise(speech)]

    def foreground(self) -> list[Track]:
        return [t for t in self.tracks if t.kind in FOREGROUND_KINDS]

    def background(self) -> list[Track]:
        return [t for t in self.tracks if t.kind in BACKGROUND_KINDS]


@dataclass(frozen=True)
class AttributeCheck:
    """One label checked against a measurement of the audio, by a rule written in `rule`."""

    attribute: str
    label: str
    passed: bool
    rule: str
    measured: dict[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnCheck:
    turn_index: int
    role: Role
    hypothesis: str
    wer: float
    confidence: float
    max_wer: float
    cer: float = 0.0
    mix_hypothesis: str | None = None
    mix_wer: float | None = None
    attributes: list[AttributeCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.wer <= self.max_wer


Verdict = Literal["kept", "flagged", "rejected"]


@dataclass(frozen=True)
class Finding:
    """A failed check: `check` is a stable code (`wer`, `attribute:speed`, `speaker`, ...),
    `action` what the policy did with it (relabel: the turn now carries the label it sounds
    like, or none where no value's band holds it)."""

    check: str
    action: Literal["reject", "flag", "relabel"]
    detail: str
    turn_index: int | None = None


@dataclass(frozen=True)
class Verification:
    turns: list[TurnCheck]
    findings: list[Finding] = field(default_factory=list)
    speaker: dict[str, float] = field(default_factory=dict)
    timeline: dict[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        actions = {f.action for f in self.findings} - {"relabel"}
        return "rejected" if "reject" in actions else "flagged" if actions else "kept"

    @property
    def mean_wer(self) -> float:
        return float(np.mean([t.wer for t in self.turns])) if self.turns else 0.0

    @property
    def failed(self) -> list[TurnCheck]:
        return [t for t in self.turns if not t.passed]


@dataclass(frozen=True)
class Rejection:
    """Why a dialogue left the pipeline; `reason` is a stable machine-readable code."""

    stage: str
    reason: str
    detail: str


@dataclass
class Dialogue:
    spec: DialogueSpec
    script: Script | None = None
    cast: VoiceCast | None = None
    audio: list[TurnAudio] | None = None
    clips: list[ClipAudio] | None = None
    timeline: Timeline | None = None
    verification: Verification | None = None
    rejection: Rejection | None = None
    stage_seconds: dict[str, Seconds] = field(default_factory=dict, metadata=TRANSIENT)
    channels: dict[str, np.ndarray] | None = field(default=None, metadata=TRANSIENT, repr=False)

    @property
    def dialogue_id(self) -> str:
        return self.spec.dialogue_id

    @property
    def rejected(self) -> bool:
        return self.rejection is not None

    def reject(self, stage: str, reason: str, detail: str) -> None:
        self.rejection = Rejection(stage=stage, reason=reason, detail=detail)
