"""Praat (parselmouth) manipulations of rendered speech: pitch level and range, duration,
formants (timbre) and stress on one word. All of them are deterministic.

Pitch is analysed in two passes (after De Looze & Hirst): a wide first pass, then a floor of
0.75 x the 25th percentile, which keeps the octave-down errors of creaky voices (piper's joe)
out of the pitch tier that the overlap-add resynthesis follows, and a ceiling of 2 x the 75th
(1.5 x cut real rises of hibari's heart). Praat's PSOLA
draws from its global random generator, so every step seeds it from its input samples: the
same turn always renders to the same samples.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 50.0, 600.0  # range of the first pitch pass
TIME_STEP_S = 0.01
TREMOR_HZ = 5.0  # rate of an aged voice's F0 tremor: 4-7 Hz in aged voices, 5 Hz typical


def seed_praat(samples: np.ndarray) -> None:
    """Seed Praat's global random generator from the input, as every PSOLA step must."""
    from parselmouth.praat import run

    seed = zlib.crc32(np.ascontiguousarray(samples).tobytes())
    run(f"random_initializeWithSeedUnsafelyButPredictably ({seed})")


def _sound(samples: np.ndarray, sample_rate: int) -> Any:
    import parselmouth

    return parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=sample_rate)


def _pitch(sound: Any) -> tuple[Any, float, float]:
    """(Pitch, floor, ceiling) from the two-pass analysis; the Pitch may have no voiced frame."""
    first = sound.to_pitch(TIME_STEP_S, PITCH_FLOOR_HZ, PITCH_CEILING_HZ)
    f0 = first.selected_array["frequency"]
    f0 = f0[f0 > 0]
    if f0.size < 3:
        return first, PITCH_FLOOR_HZ, PITCH_CEILING_HZ
    q25, q75 = np.percentile(f0, [25, 75])
    floor = float(np.clip(0.75 * q25, PITCH_FLOOR_HZ, 300.0))
    ceiling = float(np.clip(2.0 * q75, floor + 50.0, PITCH_CEILING_HZ))
    return sound.to_pitch(TIME_STEP_S, floor, ceiling), floor, ceiling


def f0_track(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(frame times in s, F0 in Hz with 0 for unvoiced) every 10 ms, two-pass Praat analysis."""
    if len(samples) < sample_rate // 10:
        return np.zeros(0), np.zeros(0)
    pitch = _pitch(_sound(samples, sample_rate))[0]
    return pitch.xs(), pitch.selected_array["frequency"]


def f0_hz(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 of the voiced frames in Hz; empty if unvoiced."""
    f0 = f0_track(samples, sample_rate)[1]
    return f0[f0 > 0]


def _resynthesize(sound: Any, floor: float, ceiling: float, tier: Any, duration: Any) -> Any:
    from parselmouth.praat import call

    manipulation = call(sound, "To Manipulation", TIME_STEP_S, floor, ceiling)
    if tier is not None:
        call([manipulation, tier], "Replace pitch tier")
    if duration is not None:
        call([manipulation, duration], "Replace duration tier")
    return call(manipulation, "Get resynthesis (overlap-add)")


def apply_prosody(
    samples: np.ndarray,
    sample_rate: int,
    pitch_shift_semitones: float = 0.0,
    f0_range_factor: float = 1.0,
    duration_factor: float = 1.0,
    tremor_semitones: float = 0.0,
) -> np.ndarray:
    """One PSOLA pass: every F0 point f becomes median * 2**(st/12) * (f/median)**range, so
    the range is scaled in semitones around the median, then is modulated by a `TREMOR_HZ`
    sine of `tremor_semitones` depth; `duration_factor` > 1 lengthens.
    The input comes back unchanged for the identity style or an unvoiced input."""
    settings = (pitch_shift_semitones, f0_range_factor, duration_factor, tremor_semitones)
    identity = settings == (0.0, 1.0, 1.0, 0.0)
    if identity or len(samples) < sample_rate // 10:
        return samples
    from parselmouth.praat import call

    seed_praat(samples)
    sound = _sound(samples, sample_rate)
    pitch, floor, ceiling = _pitch(sound)
    f0 = pitch.selected_array["frequency"]
    if not (f0 > 0).any():
        return samples
    median = float(np.median(f0[f0 > 0]))
    tier = call(pitch, "Down to PitchTier")
    target = f"{median!r} * {2 ** (pitch_shift_semitones / 12)!r} * (self / {median!r})"
    lo, hi = PITCH_FLOOR_HZ * 0.8, PITCH_CEILING_HZ * 1.2
    # the tier is in input time; `duration_factor` stretches it, the tremor must not be
    tremor_hz = float(TREMOR_HZ * duration_factor)
    tremor = f"2 ^ ({tremor_semitones / 12!r} * sin(2 * pi * {tremor_hz!r} * x))"
    shaped = f"{target} ^ {float(f0_range_factor)!r} * {tremor}"
    call(tier, "Formula", f"max({lo}, min({hi}, {shaped}))")
    duration = None
    if duration_factor != 1.0:
        duration = call("Create DurationTier", "duration", sound.xmin, sound.xmax)
        call(duration, "Add point", sound.xmin, float(duration_factor))
    out = _resynthesize(sound, floor, ceiling, tier, duration)
    return out.values[0].astype(np.float32)


def shift_pitch(samples: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """F0 times 2**(semitones/12) (PSOLA); formants and duration kept."""
    return apply_prosody(samples, sample_rate, pitch_shift_semitones=semitones)


def change_gender(
    samples: np.ndarray,
    sample_rate: int,
    formant_shift: float = 1.0,
    pitch_median_hz: float | None = None,
    pitch_range_factor: float = 1.0,
) -> np.ndarray:
    """Praat "Change gender": formants times `formant_shift`, F0 median moved to
    `pitch_median_hz` (None: kept), F0 range scaled in semitones; duration kept."""
    if len(samples) < sample_rate // 10:
        return samples
    from parselmouth.praat import call

    seed_praat(samples)
    sound = _sound(samples, sample_rate)
    _, floor, ceiling = _pitch(sound)
    median = float(pitch_median_hz or 0.0)  # 0: Praat keeps the median
    args = (floor, ceiling, float(formant_shift), median, float(pitch_range_factor), 1.0)
    return call(sound, "Change gender", *args).values[0].astype(np.float32)


def emphasize_span(
    samples: np.ndarray,
    sample_rate: int,
    start_s: float,
    end_s: float,
    pitch_semitones: float = 3.0,
    gain_db: float = 4.0,
    stretch: float = 1.15,
) -> np.ndarray:
    """Stress the word in [start_s, end_s]: F0 up, level up and the span lengthened, with
    raised-cosine ramps inside the span's edges. Outside it only the timing after the span
    moves, by the lengthening."""
    start_s, end_s = float(start_s), float(end_s)  # repr() goes into Praat formulas
    if not 0.0 <= start_s < end_s:
        raise ValueError(f"emphasize_span: need 0 <= start_s < end_s, got [{start_s}, {end_s}]")
    from parselmouth.praat import call

    ramp = min(0.04, (end_s - start_s) / 4)
    t = np.arange(len(samples)) / sample_rate
    w = np.clip(np.minimum(t - start_s, end_s - t) / ramp, 0.0, 1.0)
    w = 0.5 - 0.5 * np.cos(np.pi * w)
    x = (np.asarray(samples, dtype=np.float64) * 10 ** (gain_db * w / 20)).astype(np.float32)
    seed_praat(x)
    sound = _sound(x, sample_rate)
    pitch, floor, ceiling = _pitch(sound)
    tier = None
    if (pitch.selected_array["frequency"] > 0).any() and pitch_semitones != 0.0:
        tier = call(pitch, "Down to PitchTier")
        w_x = f"max(0, min(1, (x - {start_s!r}) / {ramp!r}, ({end_s!r} - x) / {ramp!r}))"
        raise_st = f"{pitch_semitones / 12!r} * (0.5 - 0.5 * cos(pi * {w_x}))"
        call(tier, "Formula", f"self * 2 ^ ({raise_st})")
    duration = None
    if stretch != 1.0:
        duration = call("Create DurationTier", "stress", sound.xmin, sound.xmax)
        for time, value in [
            (start_s, 1.0),
            (start_s + ramp, stretch),
            (end_s - ramp, stretch),
            (end_s, 1.0),
        ]:
            call(duration, "Add point", time, float(value))
    if tier is None and duration is None:
        return x
    return _resynthesize(sound, floor, ceiling, tier, duration).values[0].astype(np.float32)


def speech_bounds(samples: np.ndarray, sample_rate: int, floor_db: float = 35.0) -> tuple[int, int]:
    """First and last sample of the 10 ms frames within `floor_db` of the loudest frame."""
    hop = max(1, sample_rate // 100)
    n = len(samples) // hop
    if n == 0:
        return 0, len(samples)
    energy = np.square(samples[: n * hop].reshape(n, hop).astype(np.float64)).mean(axis=1)
    active = np.flatnonzero(
        10 * np.log10(energy + 1e-12) > 10 * np.log10(energy.max() + 1e-12) - floor_db
    )
    return int(active[0] * hop), int((active[-1] + 1) * hop)


def estimate_word_span(
    samples: np.ndarray, sample_rate: int, text: str, word: str
) -> tuple[float, float] | None:
    """Where `word` is spoken, assuming an even rate over the letters of the active speech.

    TTS engines here give no alignments; at a steady synthetic rate the letter position is
    within a syllable or so, which a stress span of one word (widened by 15 %) tolerates.
    """
    lowered = text.lower()
    at = lowered.find(word.lower())
    if at < 0 or not word.strip():
        return None
    letters = np.cumsum([ch.isalnum() for ch in lowered])
    total = max(int(letters[-1]), 1)
    start, end = speech_bounds(samples, sample_rate)
    span = (end - start) / sample_rate
    first = (letters[at] - 1) / total
    last = letters[at + len(word) - 1] / total
    pad = 0.075 * (last - first)
    return (
        float(start / sample_rate + max(0.0, first - pad) * span),
        float(start / sample_rate + min(1.0, last + pad) * span),
    )
