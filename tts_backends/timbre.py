"""Timbres: engine voices made into many stable speakers of every gender and age group.

A timbre is a base voice plus five settings: formant shift (vocal-tract length), F0 median,
F0 range, speaking rate and F0 tremor. Its ref names it stably,
"piper:en_US-joe-medium~f0.95-p135-r0.80-s0.88-t0.50" (rate and tremor are written only when
set), and `registry.resolve_voice` turns that ref into a `VoiceSpec` carrying the settings in
`params`, so records and manifests name timbres like any other voice. Praat "Change gender"
realises the first three, the engine's speed the rate and a PSOLA pass the tremor (`base.py`).

Age groups are drawn from `AGE_SETTINGS`, after published adult norms: men's F0 falls from
the twenties to middle age and rises again in old age (Hollien & Shipp 1972: about 120, 110,
140 Hz), women's falls with age (Stoicheff 1981: about 225 to 200 Hz); formants fall as the
vocal tract lengthens with age; older speakers speak 10-20 % slower, with a flatter F0 and
an unsteady (tremulous) F0. Youth: higher F0 for the gender, slightly raised formants, a
wide F0 range, a slightly faster rate. A base of the other gender also gets the formant
shift of `CROSS_GENDER_FORMANT`.

Labels follow from the settings by one written rule (`timbre_labels`), so any ref has them:
- gender: female if the F0 median is at least 157.5 Hz, else male (a 150 Hz threshold
  separated every espeak-ng variant); without a median the base voice's gender;
- age: "elderly" if the F0 tremors (>= 0.2 semitones) or rate and range are both reduced
  (rate <= 0.93, range <= 0.9); "youth" if the median is high for the gender (>= 119 Hz male,
  >= 213 Hz female), the range wide (>= 1.05) and the rate not reduced (>= 1.0); otherwise
  "middle_aged" (the taxonomy's three values);
- accent and language: the base voice's (espeak-ng bases give gb, scotland, ..., and zh).
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
MEDIAN_HZ = {"male": (85.0, 150.0), "female": (165.0, 260.0)}  # every bank median lies here
AGES = ("middle_aged", "elderly", "youth")
YOUTH_MEDIAN_HZ = {"male": 119.0, "female": 213.0}
CANDIDATES = 24  # draws per bank voice; the most distinct one is kept
_NUMBER = r"(\d+(?:\.\d+)?)"
_SUFFIX = re.compile(rf"f{_NUMBER}(?:-p{_NUMBER})?-r{_NUMBER}(?:-s{_NUMBER})?(?:-t{_NUMBER})?")


@dataclass(frozen=True)
class AgeSettings:
    """Uniform ranges of one gender and age group's timbre settings."""

    median_hz: tuple[float, float]
    formant: tuple[float, float]  # the age part of the formant shift
    range_factor: tuple[float, float]
    rate: tuple[float, float]
    tremor_semitones: tuple[float, float] = (0.0, 0.0)


_OLD = {"range_factor": (0.75, 0.88), "rate": (0.85, 0.92), "tremor_semitones": (0.5, 0.9)}
AGE_SETTINGS = {
    ("male", "youth"): AgeSettings((120, 140), (1.03, 1.07), (1.05, 1.3), (1.0, 1.08)),
    ("male", "middle_aged"): AgeSettings((92, 117), (0.98, 1.02), (0.9, 1.1), (0.97, 1.03)),
    ("male", "elderly"): AgeSettings((122, 145), (0.93, 0.97), **_OLD),
    ("female", "youth"): AgeSettings((215, 250), (1.03, 1.07), (1.05, 1.3), (1.0, 1.08)),
    ("female", "middle_aged"): AgeSettings((180, 210), (0.98, 1.02), (0.9, 1.1), (0.97, 1.03)),
    ("female", "elderly"): AgeSettings((168, 195), (0.93, 0.97), **_OLD),
}
CROSS_GENDER_FORMANT = {"female": (1.08, 1.13), "male": (0.88, 0.92)}  # by the target gender

Settings = tuple[float, int | None, float, float, float]  # formant, median, range, rate, tremor


@dataclass(frozen=True)
class TimbreSpec:
    base: str  # "backend:voice" of an engine voice
    formant_shift: float = 1.0
    pitch_median_hz: float | None = None  # None: the base voice's median
    pitch_range_factor: float = 1.0
    rate: float = 1.0
    tremor_semitones: float = 0.0
    gender: str = field(kw_only=True)
    age: str = field(kw_only=True)
    accent: str = field(kw_only=True)

    @property
    def ref(self) -> str:
        """Stable name, e.g. "piper:en_US-joe-medium~f1.08-p132-r1.10"."""
        median = "" if self.pitch_median_hz is None else f"-p{self.pitch_median_hz:.0f}"
        rate = "" if self.rate == 1.0 else f"-s{self.rate:.2f}"
        tremor = "" if self.tremor_semitones == 0.0 else f"-t{self.tremor_semitones:.2f}"
        suffix = f"f{self.formant_shift:.2f}{median}-r{self.pitch_range_factor:.2f}{rate}{tremor}"
        return f"{self.base}~{suffix}"

    def voice(self) -> VoiceSpec:
        return resolve_voice(self.ref)


def timbre_labels(
    base_gender: str,
    formant_shift: float,
    pitch_median_hz: float | None,
    range_factor: float,
    rate: float = 1.0,
    tremor_semitones: float = 0.0,
) -> tuple[str, str]:
    """(gender, age) by the rule in the module docstring; the formant shift does not enter
    it (it follows the gender and the age, see `AGE_SETTINGS`)."""
    gender = base_gender if pitch_median_hz is None else "male"
    if pitch_median_hz is not None and pitch_median_hz >= 157.5:
        gender = "female"
    if tremor_semitones >= 0.2 or (rate <= 0.93 and range_factor <= 0.9):
        return gender, "elderly"
    high = pitch_median_hz is not None and pitch_median_hz >= YOUTH_MEDIAN_HZ[gender]
    if high and range_factor >= 1.05 and rate >= 1.0:
        return gender, "youth"
    return gender, "middle_aged"


def timbre_voice(base: VoiceSpec, suffix: str) -> VoiceSpec:
    """The VoiceSpec of `base` with the timbre named by `suffix` ("f1.08-p132-r1.10")."""
    match = _SUFFIX.fullmatch(suffix)
    if match is None or base.timbre is not None:
        raise ValueError(
            f"timbre {base.backend}:{base.name}~{suffix} must be "
            "'base~f<formant>[-p<Hz>]-r<range>[-s<rate>][-t<tremor>]' on an engine voice, e.g. "
            f"'{base.backend}:{base.base_name}~f1.08-p132-r1.10'"
        )
    formant, range_factor = float(match[1]), float(match[3])
    median = round(float(match[2])) if match[2] else None
    rate, tremor = float(match[4] or 1.0), float(match[5] or 0.0)
    if not (
        0.7 <= formant <= 1.4
        and 0.0 <= range_factor <= 3.0
        and 50 <= (median or 100) <= 400
        and 0.5 <= rate <= 2.0
        and tremor <= 2.0
    ):
        raise ValueError(
            f"timbre {suffix!r}: need formant in [0.7, 1.4], median in [50, 400] Hz, range <= 3,"
            " rate in [0.5, 2], tremor <= 2 semitones"
        )
    settings = (round(formant, 2), median, round(range_factor, 2), round(rate, 2), round(tremor, 2))
    spec = TimbreSpec(f"{base.backend}:{base.name}", *settings, **_labels(base, settings))
    params = [
        ("formant_shift", f"{spec.formant_shift:.2f}"),
        ("pitch_median_hz", "" if median is None else str(median)),
        ("pitch_range_factor", f"{spec.pitch_range_factor:.2f}"),
        ("rate", f"{spec.rate:.2f}"),
        ("tremor_semitones", f"{spec.tremor_semitones:.2f}"),
        ("age", spec.age),
    ]
    name = spec.ref.partition(":")[2]
    return replace(base, name=name, gender=spec.gender, params=(*base.params, *params))


def _draw(rng: np.random.Generator, base_gender: str, gender: str, age: str) -> Settings:
    """Settings of one (gender, age) cell from `AGE_SETTINGS`, rounded as the ref writes them."""
    cell = AGE_SETTINGS[gender, age]
    formant = rng.uniform(*cell.formant)
    if gender != base_gender:  # across genders the vocal tract must change too
        formant *= rng.uniform(*CROSS_GENDER_FORMANT[gender])
    return (
        round(float(formant), 2),
        round(float(rng.uniform(*cell.median_hz))),
        round(float(rng.uniform(*cell.range_factor)), 2),
        round(float(rng.uniform(*cell.rate)), 2),
        round(float(rng.uniform(*cell.tremor_semitones)), 2),
    )


def _separation(a: Settings, b: Settings) -> float:
    """Distance of two settings: 2 semitones of F0 median or 5 % of formant shift count 1."""
    return float(np.hypot(12 * np.log2(a[1] / b[1]) / 2.0, (a[0] - b[0]) / 0.05))


def bank_cells(base_gender: str) -> list[tuple[str, str]]:
    """The (gender, age) cells a base's timbres cycle through: its own gender's first."""
    other = "female" if base_gender == "male" else "male"
    return [(gender, age) for gender in (base_gender, other) for age in AGES]


def _farthest(candidates: list[Settings], drawn: list[Settings]) -> Settings:
    """The candidate whose nearest drawn timbre is farthest (`_separation`, vectorised: a
    bank of hundreds per base compares each draw with all of them), the first on a tie; an
    exact repeat of a drawn timbre only when every candidate is one (its ref would name two
    bank voices)."""
    if not drawn:
        return candidates[0]
    cand, done = np.array(candidates, dtype=np.float64), np.array(drawn, dtype=np.float64)
    semitones = 12 * np.log2(cand[:, None, 1] / done[None, :, 1]) / 2.0
    nearest = np.hypot(semitones, (cand[:, None, 0] - done[None, :, 0]) / 0.05).min(axis=1)
    seen = set(drawn)
    nearest[[c in seen for c in candidates]] = -1.0
    return candidates[int(np.argmax(nearest))]


def build_timbre_bank(base_refs: list[str], per_base: int, seed: int) -> list[TimbreSpec]:
    """`per_base` timbres per base voice, cycling through `bank_cells`, so six per base cover
    every gender and age group and 6k give each cell k. Each is the best of `CANDIDATES`
    draws: the one farthest (`_separation`) from the base's timbres drawn before it.
    Deterministic in (seed, base ref), so adding a base changes no other voice, and the first
    timbres of a base do not depend on `per_base`. Every timbre's labels are checked against
    its cell, however large the bank."""
    bank: list[TimbreSpec] = []
    for ref in base_refs:
        base = resolve_voice(ref)
        rng = np.random.default_rng([seed, zlib.crc32(ref.encode())])
        cells = bank_cells(base.gender)
        drawn: list[Settings] = []
        for i in range(per_base):
            gender, age = cells[i % len(cells)]
            candidates = [_draw(rng, base.gender, gender, age) for _ in range(CANDIDATES)]
            settings = _farthest(candidates, drawn)
            drawn.append(settings)
            labels = _labels(base, settings)
            if (labels["gender"], labels["age"]) != (gender, age):
                raise AssertionError(f"{ref} timbre {settings} is not {gender} {age}: {labels}")
            bank.append(TimbreSpec(ref, *settings, **labels))
    return bank


def _labels(base: VoiceSpec, settings: Settings) -> dict[str, str]:
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
