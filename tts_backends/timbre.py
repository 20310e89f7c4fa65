"""Timbres: engine voices made into many stable speakers with Praat "Change gender".

A timbre is a base voice plus three settings: formant shift (vocal-tract length), F0 median
and F0 range. Its ref names it stably, "piper:en_US-joe-medium~f1.08-p132-r1.10", and
`registry.resolve_voice` turns that ref into a `VoiceSpec` carrying the settings in `params`,
so records and manifests name timbres like any other voice.

Labels follow from the settings by one written rule (`timbre_labels`):
- gender: female if the F0 median is at least 157.5 Hz, else male (a 150 Hz threshold
  separated every espeak-ng variant); without a median the base voice's gender;
- age: "elderly" if the F0 range factor is at most 0.85 and the formants are not raised
  (shift <= 0.98: a flatter, lower, longer-tract voice); "youth" if the formants are raised
  (>= 1.04), the range not reduced (>= 1.0) and the median high for the gender (>= 125 Hz
  male, >= 215 Hz female); otherwise "adult";
- accent: the base voice's (espeak-ng bases give gb, scotland, caribbean, ...).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from .base import VoiceSpec
from .registry import resolve_voice

DEFAULT_BASES = (
    "hibari:heart",
    "piper:en_US-joe-medium",
    "espeak-ng:en-gb+m3",
    "espeak-ng:en-gb-scotland+f2",
    "espeak-ng:en-029+m1",
    "flite:slt",
    "flite:awb",
)
MEDIAN_HZ = {"male": (85.0, 150.0), "female": (165.0, 260.0)}
AGE_WEIGHTS = {"adult": 0.5, "elderly": 0.25, "youth": 0.25}  # drawn per same-gender voice
CANDIDATES = 24  # draws per bank voice; the most distinct one is kept
_SUFFIX = re.compile(r"f(\d+(?:\.\d+)?)(?:-p(\d+(?:\.\d+)?))?-r(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class TimbreSpec:
    base: str  # "backend:voice" of an engine voice
    formant_shift: float = 1.0
    pitch_median_hz: float | None = None  # None: the base voice's median
    pitch_range_factor: float = 1.0
    gender: str = field(kw_only=True)
    age: str = field(kw_only=True)
    accent: str = field(kw_only=True)

    @property
    def ref(self) -> str:
        """Stable name, e.g. "piper:en_US-joe-medium~f1.08-p132-r1.10"."""
        median = "" if self.pitch_median_hz is None else f"-p{self.pitch_median_hz:.0f}"
        return f"{self.base}~f{self.formant_shift:.2f}{median}-r{self.pitch_range_factor:.2f}"

    def voice(self) -> VoiceSpec:
        return resolve_voice(self.ref)


def timbre_labels(
    base_gender: str, formant_shift: float, pitch_median_hz: float | None, range_factor: float
) -> tuple[str, str]:
    """(gender, age) by the rule in the module docstring."""
    gender = base_gender if pitch_median_hz is None else "male"
    if pitch_median_hz is not None and pitch_median_hz >= 157.5:
        gender = "female"
    high = pitch_median_hz is not None and pitch_median_hz >= (215 if gender == "female" else 125)
    if range_factor <= 0.85 and formant_shift <= 0.98:
        return gender, "elderly"
    if formant_shift >= 1.04 and range_factor >= 1.0 and high:
        return gender, "youth"
    return gender, "adult"


def timbre_voice(base: VoiceSpec, suffix: str) -> VoiceSpec:
    """The VoiceSpec of `base` with the timbre named by `suffix` ("f1.08-p132-r1.10")."""
    match = _SUFFIX.fullmatch(suffix)
    if match is None or base.timbre is not None:
        raise ValueError(
            f"timbre {base.backend}:{base.name}~{suffix} must be 'base~f<formant>[-p<Hz>]-r<range>'"
            f" on an engine voice, e.g. '{base.backend}:{base.base_name}~f1.08-p132-r1.10'"
        )
    formant, range_factor = float(match[1]), float(match[3])
    median = round(float(match[2])) if match[2] else None
    if not (0.7 <= formant <= 1.4 and 0.0 <= range_factor <= 3.0 and 50 <= (median or 100) <= 400):
        raise ValueError(
            f"timbre {suffix!r}: need formant in [0.7, 1.4], median in [50, 400] Hz, range <= 3"
        )
    settings = (round(formant, 2), median, round(range_factor, 2))
    spec = TimbreSpec(f"{base.backend}:{base.name}", *settings, **_labels(base, settings))
    params = [
        ("formant_shift", f"{spec.formant_shift:.2f}"),
        ("pitch_median_hz", "" if median is None else str(median)),
        ("pitch_range_factor", f"{spec.pitch_range_factor:.2f}"),
        ("age", spec.age),
    ]
    name = spec.ref.partition(":")[2]
    return replace(base, name=name, gender=spec.gender, params=(*base.params, *params))


def _draw(rng: np.random.Generator, base_gender: str, gender: str) -> tuple[float, int, float]:
    """(formant shift, F0 median, range factor), rounded as the ref writes them."""
    lo, hi = MEDIAN_HZ[gender]
    if gender != base_gender:  # across genders the vocal tract must change too
        formant = rng.uniform(1.07, 1.15) if gender == "female" else rng.uniform(0.88, 0.94)
        median, range_factor = rng.uniform(lo, hi - 25), rng.uniform(0.86, 1.2)
    else:
        age = rng.choice(list(AGE_WEIGHTS), p=list(AGE_WEIGHTS.values()))
        if age == "elderly":
            formant, range_factor = rng.uniform(0.88, 0.97), rng.uniform(0.7, 0.84)
            median = rng.uniform(lo + 10, hi - 15) if gender == "male" else rng.uniform(lo, 205)
        elif age == "youth":
            formant, range_factor = rng.uniform(1.05, 1.12), rng.uniform(1.0, 1.3)
            median = rng.uniform(130 if gender == "male" else 220, hi)
        else:
            formant, range_factor = rng.uniform(0.93, 1.03), rng.uniform(0.86, 1.25)
            median = rng.uniform(lo, hi - 10)
    return round(float(formant), 2), round(float(median)), round(float(range_factor), 2)


def _separation(a: tuple[float, int, float], b: tuple[float, int, float]) -> float:
    """Distance of two settings: 2 semitones of F0 median or 5 % of formant shift count 1."""
    return float(np.hypot(12 * np.log2(a[1] / b[1]) / 2.0, (a[0] - b[0]) / 0.05))


def build_timbre_bank(base_refs: list[str], per_base: int, seed: int) -> list[TimbreSpec]:
    """`per_base` timbres per base voice: two in three keep the base's gender, one in three
    crosses it. Each is the best of `CANDIDATES` draws: the one farthest (`_separation`)
    from the base's timbres drawn before it. Deterministic in (seed, base ref), so adding a
    base changes no other voice."""
    bank: list[TimbreSpec] = []
    for ref in base_refs:
        base = resolve_voice(ref)
        rng = np.random.default_rng([seed, zlib.crc32(ref.encode())])
        drawn: list[tuple[float, int, float]] = []
        for i in range(per_base):
            other = "female" if base.gender == "male" else "male"
            gender = other if i % 3 == 2 else base.gender
            candidates = [_draw(rng, base.gender, gender) for _ in range(CANDIDATES)]
            settings = max(
                candidates, key=lambda c: min((_separation(c, d) for d in drawn), default=0)
            )
            drawn.append(settings)
            bank.append(TimbreSpec(ref, *settings, **_labels(base, settings)))
    return bank


def _labels(base: VoiceSpec, settings: tuple[float, int | None, float]) -> dict[str, str]:
    gender, age = timbre_labels(base.gender, *settings)
    return {"gender": gender, "age": age, "accent": base.accent}


def default_timbre_bank(seed: int = 0) -> list[TimbreSpec]:
    """42 timbres: six for each of `DEFAULT_BASES`."""
    return build_timbre_bank(list(DEFAULT_BASES), per_base=6, seed=seed)


N_MFCC = 20  # default bank, same-base pairs kept apart on 3 sentences: 46 of 49 (1-12: 35)
FEATURES = (
    "f0_median_st",
    "f1_st",
    "f2_st",
    "f3_st",
    "centroid_st",
    "tilt_db_per_octave",
    *(f"mfcc{i}" for i in range(1, N_MFCC + 1)),
)
# Standardisation, measured on the default bank (42 voices x 3 sentences): the mean, and the
# pooled within-voice standard deviation, so a distance counts "same voice, other words"
# deviations. The F0 median's is floored at 1 semitone: a timbre pins its median (0.13 st
# measured), but a speaker's median moves by about that between turns and with the style.
# fmt: off
FEATURE_MEAN = np.array([
    7.39, 25.46, 49.5, 57.67, 26.65, -9.8, 14.09, 1.84, 5.06, -4.18, -3.4, -1.38, -2.58,
    -0.75, -1.08, -0.61, -1.15, -0.95, -0.43, -0.89, -0.58, -0.17, -0.24, 0.0, 0.16, 0.08,
])
FEATURE_WITHIN_STD = np.array([
    1.0, 1.86, 1.74, 0.36, 1.22, 0.83, 1.43, 0.65, 1.68, 1.19, 0.83, 1.19, 0.46, 0.44, 0.35,
    0.32, 0.31, 0.33, 0.23, 0.2, 0.18, 0.19, 0.22, 0.21, 0.22, 0.25,
])
# fmt: on
MEL_BANDS, MEL_FMAX_HZ = 40, 7600.0  # the same band edges at every sample rate >= 16 kHz


def _st(hz: np.ndarray | float) -> np.ndarray:
    return 12 * np.log2(np.maximum(hz, 1.0) / 100.0)


def _mel_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    mel = np.linspace(0, 2595 * np.log10(1 + MEL_FMAX_HZ / 700), MEL_BANDS + 2)
    edges = 700 * (10 ** (mel / 2595) - 1)
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))


def timbre_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Standardised timbre embedding (`FEATURES`): F0 median, F1-F3 and the spectral shape
    of the voiced 10 ms frames, which depend little on the words."""
    import parselmouth
    from scipy.fft import dct

    from .prosody import f0_track

    x = np.asarray(samples, dtype=np.float64)
    times, f0 = f0_track(x, sample_rate)
    voiced = times[f0 > 0]
    if voiced.size < 5:
        raise ValueError("timbre_features: fewer than 5 voiced frames; render a longer text")
    formant = parselmouth.Sound(x, sample_rate).to_formant_burg(0.01, 5, 5500.0, 0.025)
    tracks = [[formant.get_value_at_time(k, t) for t in voiced] for k in (1, 2, 3)]
    formants = [np.nanmedian(track) for track in tracks]
    n_win, n_fft = int(0.025 * sample_rate), 1 << int(np.ceil(np.log2(0.025 * sample_rate)))
    starts = np.clip((voiced * sample_rate).astype(int) - n_win // 2, 0, len(x) - n_win)
    frames = x[starts[:, None] + np.arange(n_win)] * np.hamming(n_win)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    band = (freqs >= 100) & (freqs <= MEL_FMAX_HZ)
    mean_db = 10 * np.log10(power[:, band].mean(axis=0))
    centroid = (power[:, band] * freqs[band]).sum(1) / power[:, band].sum(1)
    tilt = np.polyfit(np.log2(freqs[band]), mean_db, 1)[0]
    log_mel = np.log(power @ _mel_filters(sample_rate, n_fft).T + 1e-10)
    mfcc = dct(log_mel, type=2, norm="ortho", axis=1)[:, 1 : N_MFCC + 1].mean(axis=0)
    raw = np.array(
        [_st(np.median(f0[f0 > 0])), *_st(np.array(formants)), _st(np.median(centroid)), tilt]
    )
    return (np.concatenate([raw, mfcc]) - FEATURE_MEAN) / FEATURE_WITHIN_STD


def timbre_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean square difference of two embeddings (1.0: one within-voice deviation)."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


REPORT_SENTENCES = (
    "Could you tell me when the next train to the city leaves?",
    "I would like to book a table for four people tonight, please.",
)


def bank_report(bank: list[TimbreSpec], sentence: str, n: int) -> dict[str, float]:
    """Separation of `n` voices spread over the bank: pairwise timbre distances on
    `sentence`, against the mean within-voice distance over it and `REPORT_SENTENCES`."""
    from .base import TTSBackend, TurnStyle
    from .registry import make_backend

    chosen = [bank[int(i * len(bank) / n)] for i in range(min(n, len(bank)))]
    backends: dict[str, TTSBackend] = {}
    emb = []
    for spec in chosen:
        voice = spec.voice()
        backend = backends.setdefault(voice.backend, make_backend(voice.backend))
        renders = [backend.synthesize(t, voice, TurnStyle()) for t in (sentence, *REPORT_SENTENCES)]
        emb.append([timbre_features(a.samples, a.sample_rate) for a in renders])
    pairs = [(i, j) for i in range(len(chosen)) for j in range(i + 1, len(chosen))]
    between = np.array([timbre_distance(emb[i][0], emb[j][0]) for i, j in pairs])
    within = np.mean(
        [timbre_distance(e[a], e[b]) for e in emb for a, b in [(0, 1), (0, 2), (1, 2)]]
    )
    return {
        "voices": len(chosen),
        "min_distance": float(between.min()),
        "median_distance": float(np.median(between)),
        "mean_within_distance": float(within),
        "share_pairs_apart": float((between > within).mean()),
    }
