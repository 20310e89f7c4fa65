"""The TTS backend interface: voices, per-turn style, audio, declared capabilities.

A backend renders `synthesize(text, voice, style) -> Audio`. Speed and pitch are realised by the
engine where it can (length scale, words per minute, f0 shift) and by Praat PSOLA otherwise.
Every rendering is first brought to one reference speech level (`REFERENCE_LEVEL_DB`), then
`style.gain_db` is applied, so a gain means the same thing for every backend. Peaks above full
scale are left to the scene stage, which sees the whole mix; NaN or inf is never returned.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from math import gcd

import numpy as np

Seconds = float
Decibels = float

STYLE_DIMS = frozenset({"speed", "gain_db", "pitch_shift_semitones"})
REFERENCE_LEVEL_DB: Decibels = -23.0  # active-speech RMS in dBFS before style.gain_db
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 50.0, 600.0  # Praat analysis range for pitch shifting


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


def shift_pitch(samples: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Praat "Change gender" (PSOLA): F0 median times 2**(st/12), formants and duration kept."""
    if abs(semitones) < 1e-3 or len(samples) == 0:
        return samples
    import parselmouth
    from parselmouth.praat import call, run

    # PSOLA draws from Praat's global random generator: seed it from the input so the same
    # turn always renders to the same samples.
    run(f"random_initializeWithSeedUnsafelyButPredictably ({zlib.crc32(samples.tobytes())})")
    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=sample_rate)
    f0 = sound.to_pitch(pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    f0 = f0.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if voiced.size == 0:
        return samples
    target = float(np.median(voiced)) * 2 ** (semitones / 12)
    out = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, 1.0, target, 1.0, 1.0)
    return out.values[0].astype(np.float32)


class TTSBackend(ABC):
    """Load the model once in `setup()`; then `synthesize` any number of turns."""

    name: str
    capabilities: Capabilities

    def __init__(self) -> None:
        self._ready = False

    @abstractmethod
    def voices(self) -> list[VoiceSpec]: ...

    def setup(self) -> None:
        if not self._ready:
            self._load()
            self._ready = True

    def _load(self) -> None:
        pass

    @abstractmethod
    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        """Engine output with speed (and pitch where the engine can) applied; no level change."""

    def synthesize(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        self.check_voice(voice)
        if not text.strip():
            raise ValueError(f"{self.name}: empty text for voice {voice.name!r}")
        self.setup()
        audio = self._render(text, voice, style)
        samples = level_and_gain(audio.samples, audio.sample_rate, style.gain_db)
        return Audio(samples, audio.sample_rate)

    def check_voice(self, voice: VoiceSpec) -> None:
        known = {v.name for v in self.voices()}
        if voice.backend != self.name or voice.name not in known:
            raise ValueError(
                f"{self.name}: unknown voice {voice.backend}/{voice.name!r}; "
                f"allowed: {', '.join(sorted(known))}"
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
