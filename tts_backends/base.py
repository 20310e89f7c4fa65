"""The TTS backend interface: voices, per-turn style, audio, declared capabilities.

A backend renders `synthesize(text, voice, style) -> Audio` in four steps:
1. the engine renders the text with the style's speed and the part of the pitch shift it
   can realise itself (`engine_pitch_semitones`: espeak-ng's `-p`, flite's `f0_shift`);
2. a timbre voice (name "base~f1.08-p132-r1.10", settings in `params`, see `timbre.py`)
   gets Praat "Change gender": formant shift, new F0 median, F0 range;
3. the rest of the pitch shift, `f0_range_factor`, and the timbre's rate and tremor are one
   Praat PSOLA pass (`prosody.apply_prosody`), so every backend honours every style
   dimension (the neural engines' own duration control hardly moves within +-10 %, so a
   timbre's rate is not left to them);
4. the result is brought to one reference speech level (`REFERENCE_LEVEL_DB`), then
   `style.gain_db` is applied, so a gain means the same thing for every backend.
Peaks above full scale are left to the scene stage, which sees the whole mix; NaN or inf is
never returned. Every step is deterministic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from math import gcd

import numpy as np

from . import prosody

Seconds = float
Decibels = float

STYLE_DIMS = frozenset({"speed", "gain_db", "pitch_shift_semitones", "f0_range_factor"})
REFERENCE_LEVEL_DB: Decibels = -23.0  # active-speech RMS in dBFS before style.gain_db
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = prosody.PITCH_FLOOR_HZ, prosody.PITCH_CEILING_HZ
shift_pitch = prosody.shift_pitch  # public from here, as before prosody.py


@dataclass(frozen=True)
class VoiceSpec:
    """One voice of one backend. `name` is the backend's own voice id (e.g. "en-us+m3")."""

    backend: str
    name: str
    gender: str  # "male" | "female"
    accent: str  # "us", "gb", "scotland", ...
    language: str = "en"
    params: tuple[tuple[str, str], ...] = ()  # backend-specific settings, e.g. (("variant", "m3"),)

    def param(self, key: str, default: str = "") -> str:
        return dict(self.params).get(key, default)

    @property
    def base_name(self) -> str:
        """The engine's own voice id: `name` without a timbre suffix ("~...")."""
        return self.name.partition("~")[0]

    @property
    def timbre(self) -> Timbre | None:
        """The "Change gender" settings this voice carries, or None for an engine voice."""
        if not self.param("formant_shift"):
            return None
        median = self.param("pitch_median_hz")
        return Timbre(
            formant_shift=float(self.param("formant_shift")),
            pitch_median_hz=float(median) if median else None,
            pitch_range_factor=float(self.param("pitch_range_factor", "1.0")),
            rate=float(self.param("rate", "1.0")),
            tremor_semitones=float(self.param("tremor_semitones", "0.0")),
        )


@dataclass(frozen=True)
class Timbre:
    """Praat "Change gender" settings applied after the engine (see `prosody.change_gender`),
    and the speaker's own rate and F0 tremor (age cues, see `timbre.py`)."""

    formant_shift: float = 1.0  # formant frequencies times this
    pitch_median_hz: float | None = None  # None: the engine's median is kept
    pitch_range_factor: float = 1.0  # F0 excursions scaled in semitones around the median
    rate: float = 1.0  # the speaker's speaking rate; every style speed is relative to it
    tremor_semitones: float = 0.0  # depth of a `prosody.TREMOR_HZ` F0 modulation


@dataclass(frozen=True)
class TurnStyle:
    speed: float = 1.0  # rate factor: 1.0 normal, > 1 faster
    gain_db: Decibels = 0.0  # relative to REFERENCE_LEVEL_DB
    pitch_shift_semitones: float = 0.0
    f0_range_factor: float = 1.0  # scales F0 excursions around the median: < 1 flatter

    def __post_init__(self) -> None:
        if not 0.25 <= self.speed <= 4.0:
            raise ValueError(f"TurnStyle.speed={self.speed} is outside [0.25, 4.0]")
        if not np.isfinite([self.gain_db, self.pitch_shift_semitones]).all():
            raise ValueError(f"TurnStyle has a non-finite value: {self}")
        if not 0.0 <= self.f0_range_factor <= 4.0:
            raise ValueError(f"TurnStyle.f0_range_factor={self.f0_range_factor} is outside [0, 4]")


@dataclass
class Audio:
    """Mono float32 samples, nominally in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        self.samples = np.asarray(self.samples, dtype=np.float32).reshape(-1)

    @property
    def duration_s(self) -> Seconds:
        return len(self.samples) / self.sample_rate

    def resampled(self, target_sr: int) -> Audio:
        return resample(self, target_sr)


@dataclass(frozen=True)
class Capabilities:
    languages: frozenset[str]
    honours: frozenset[str] = field(default_factory=lambda: STYLE_DIMS)  # style dims realised
    natural: bool = False  # neural, human-like voice


TRIM_MARGIN_S = 0.01
"""Silence kept around trimmed speech (one analysis frame): its first and last sounds keep
their onsets, and a track's span is its heard span within 10 ms."""


def trim_to_speech(audio: Audio, margin_s: float = TRIM_MARGIN_S) -> Audio:
    """`audio` without the engine's leading and trailing silence (`prosody.speech_bounds`), but for
    `margin_s` on each side: a turn's span on the timeline is then the span it is heard."""
    start, end = prosody.speech_bounds(audio.samples, audio.sample_rate)
    margin = round(margin_s * audio.sample_rate)
    first, last = max(0, start - margin), min(len(audio.samples), end + margin)
    return Audio(audio.samples[first:last], audio.sample_rate)


def resample(audio: Audio, target_sr: int) -> Audio:
    """Polyphase resampling (scipy.signal.resample_poly); returns a new Audio."""
    if audio.sample_rate == target_sr:
        return replace(audio, samples=audio.samples.copy())
    from scipy.signal import resample_poly

    g = gcd(audio.sample_rate, target_sr)
    y = resample_poly(audio.samples, target_sr // g, audio.sample_rate // g)
    return Audio(y.astype(np.float32), target_sr)


def speech_level_db(samples: np.ndarray, sample_rate: int) -> Decibels:
    """RMS in dBFS over the active 20 ms frames (those within 40 dB of the loudest frame)."""
    n = max(1, int(0.02 * sample_rate))
    x = np.asarray(samples, dtype=np.float64)
    frames = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else x.reshape(1, -1)
    power = (frames**2).mean(axis=1)
    if power.size == 0 or power.max() <= 1e-12:
        return -np.inf
    active = power[power >= power.max() * 1e-4]
    return float(10 * np.log10(active.mean()))


def level_and_gain(samples: np.ndarray, sample_rate: int, gain_db: Decibels) -> np.ndarray:
    """Scale to REFERENCE_LEVEL_DB + gain_db; silence stays silence; never NaN."""
    x = np.nan_to_num(np.asarray(samples, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    level = speech_level_db(x, sample_rate)
    if not np.isfinite(level):
        return x
    return (x * np.float32(10 ** ((REFERENCE_LEVEL_DB + gain_db - level) / 20))).astype(np.float32)


class TTSBackend(ABC):
    """Load the model once in `setup()`; then `synthesize` any number of turns."""

    name: str
    capabilities: Capabilities
    engine_speed: bool = True
    """False: the engine's own rate control under-delivers (piper: a 0.72 speed lengthened
    speech only x1.22), so speed is a Praat duration change on a normal-rate rendering."""

    def __init__(self) -> None:
        self._ready = False

    @abstractmethod
    def voices(self) -> list[VoiceSpec]: ...

    def voice(self, name: str) -> VoiceSpec:
        """The engine voice called `name` (no timbre suffix); backends whose voices are open
        ended (a model path) override this."""
        for voice in self.voices():
            if voice.name == name:
                return voice
        known = ", ".join(sorted(v.name for v in self.voices()))
        raise ValueError(f"{self.name}: unknown voice {name!r}; allowed: {known}")

    def setup(self) -> None:
        if not self._ready:
            self._load()
            self._ready = True

    def _load(self) -> None:
        pass

    @abstractmethod
    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        """Engine output with `style.speed` and `style.pitch_shift_semitones` applied (the
        latter is what `engine_pitch_semitones` returned); no level change."""

    def engine_pitch_semitones(self, voice: VoiceSpec, semitones: float) -> float:
        """The part of a pitch shift the engine realises for this voice; Praat does the rest."""
        return 0.0

    def synthesize(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        self.check_voice(voice)
        if not text.strip():
            raise ValueError(f"{self.name}: empty text for voice {voice.name!r}")
        self.setup()
        engine_voice = self.voice(voice.base_name)
        timbre = voice.timbre or Timbre()
        st = style.pitch_shift_semitones
        engine_st = self.engine_pitch_semitones(engine_voice, st)
        if timbre.pitch_median_hz:  # it would undo an engine shift: Praat does all
            engine_st = 0.0
        engine_speed = style.speed if self.engine_speed else 1.0
        engine_style = replace(style, pitch_shift_semitones=engine_st, speed=engine_speed)
        audio = self._render(text, engine_voice, engine_style)
        samples, sr = audio.samples, audio.sample_rate
        if voice.timbre is not None:
            gender = (timbre.formant_shift, timbre.pitch_median_hz, timbre.pitch_range_factor)
            samples = prosody.change_gender(samples, sr, *gender)
        samples = prosody.apply_prosody(
            samples,
            sr,
            st - engine_st,
            style.f0_range_factor,
            engine_speed / (timbre.rate * style.speed),
            timbre.tremor_semitones,
        )
        return Audio(level_and_gain(samples, sr, style.gain_db), sr)

    def check_voice(self, voice: VoiceSpec) -> None:
        if voice.backend != self.name:
            raise ValueError(f"{self.name}: voice {voice.backend}/{voice.name!r} is not ours")
        self.voice(voice.base_name)  # raises naming the voices it has
        if voice.name != voice.base_name and voice.timbre is None:
            raise ValueError(
                f"{self.name}: timbre voice {voice.name!r} carries no timbre settings; "
                f"build it with resolve_voice('{self.name}:{voice.name}')"
            )


class CommandLineBackend(TTSBackend):
    """A backend that runs a Debian binary per turn; subclasses set `voice_list`."""

    voice_list: tuple[VoiceSpec, ...] = ()

    def __init__(self, binary: str) -> None:
        super().__init__()
        self.binary = binary

    def voices(self) -> list[VoiceSpec]:
        return list(self.voice_list)

    def _load(self) -> None:
        import shutil

        if shutil.which(self.binary) is None:
            raise FileNotFoundError(
                f"{self.name} backend: binary {self.binary!r} not found; "
                f"`apt-get install {self.name}`"
            )
