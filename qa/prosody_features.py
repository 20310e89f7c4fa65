"""Prosody of one utterance: F0 level and spread, speaking rate, speech level, voicing.

`measure(samples, sample_rate, text)` is what the style sampler is trained and checked with
(dataspeech measures the same things to write its descriptions). F0 comes from Praat's
autocorrelation pitch tracker in two passes (after De Looze & Hirst): 60-500 Hz, then from
0.75 x the 25th to 2 x the 75th percentile of the first pass (within 60-500 Hz), which keeps
octave errors of creaky or very wide contours out; in Hz and in semitones re 100 Hz (Praat's
"Kill octave jumps" was tried: it doubled the spread of wide hibari contours). The speaking
rate is the text's English syllable count (vowel groups) over the speech span: the signal
with leading and trailing silence trimmed (frames more than `SILENCE_BELOW_PEAK_DB` under the
loudest 10 ms frame). Without text, syllables are counted as voiced intensity peaks (after
de Jong & Wempe, 2009). The level is the active-speech dBFS of
`tts_backends.base.speech_level_db`, the same measure the backends level their output with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dialogsmith.tts_backends.base import Decibels, Seconds, speech_level_db

PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 60.0, 500.0
PITCH_STEP_S: Seconds = 0.01
SILENCE_BELOW_PEAK_DB: Decibels = 35.0  # trim threshold under the loudest frame
ANALYSIS_SR = 16000  # F0 and intensity are measured on a 16 kHz copy (speed; F0 < 500 Hz)

_VOWEL_GROUP = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class ProsodyFeatures:
    f0_median_hz: float  # NaN when nothing is voiced
    f0_median_st: float  # semitones re 100 Hz
    f0_spread_st: float  # standard deviation of voiced F0, semitones
    rate_syllables_per_s: float
    level_db: Decibels  # active-speech RMS, dBFS
    voiced_fraction: float  # voiced pitch frames / frames in the speech span
    duration_s: Seconds  # the speech span: leading and trailing silence trimmed
    articulation_rate_syllables_per_s: float = float("nan")  # over the span less its pauses


def count_syllables(text: str) -> int:
    """English syllables as vowel groups per word, less a silent final e; at least 1 a word."""
    total = 0
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        word = word.replace("'", "")
        n = len(_VOWEL_GROUP.findall(word))
        if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and n > 1:
            n -= 1
        if word.endswith("ed") and not word.endswith(("ted", "ded")) and n > 1:
            n -= 1
        total += max(1, n)
    digits = re.findall(r"\d+", text)
    return total + sum(len(d) for d in digits)  # a rough syllable per digit


def _active_frames(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Which 10 ms frames are within `SILENCE_BELOW_PEAK_DB` of the loudest, and the hop."""
    n = max(1, int(0.01 * sample_rate))
    x = np.asarray(samples, dtype=np.float64)
    frames = len(x) // n
    if frames == 0:
        return np.zeros(0, dtype=bool), n
    power = (x[: frames * n].reshape(frames, n) ** 2).mean(axis=1)
    if power.max() <= 1e-12:
        return np.zeros(frames, dtype=bool), n
    return power >= power.max() * 10 ** (-SILENCE_BELOW_PEAK_DB / 10), n


def speech_span(samples: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """First and one-past-last sample of the frames within `SILENCE_BELOW_PEAK_DB` of the peak."""
    active, n = _active_frames(samples, sample_rate)
    if active.size == 0:
        return 0, len(samples)
    where = np.flatnonzero(active)
    if where.size == 0:
        return 0, 0
    return int(where[0] * n), int(min(len(samples), (where[-1] + 1) * n))


PAUSE_S: Seconds = 0.12
"""Silent runs at least this long inside the speech span are pauses, left out of the
articulation rate: where an engine pauses at a comma or full stop varies with the text, and
on hibari and piper renders of 60 user turns it moved the syllable rate more than the speed
label does (rate over the voice's median, 5th-95th percentile: 0.84-1.29 with pauses,
0.83-1.12 without)."""


def articulation_s(samples: np.ndarray, sample_rate: int) -> Seconds:
    """The speech span less the pauses (runs of silent 10 ms frames >= `PAUSE_S`)."""
    active, hop = _active_frames(samples, sample_rate)
    where = np.flatnonzero(active)
    if where.size == 0:
        return 0.0
    active = active[where[0] : where[-1] + 1]
    edges = np.flatnonzero(np.diff(np.concatenate([[1], active.astype(np.int8), [1]])))
    runs = edges[1::2] - edges[::2]  # lengths of the silent runs
    pauses = int(runs[runs * 0.01 >= PAUSE_S].sum()) if runs.size else 0
    return (active.size - pauses) * hop / sample_rate


def measure(samples: np.ndarray, sample_rate: int, text: str | None = None) -> ProsodyFeatures:
    """Prosodic features of mono `samples`; `text` (what is said) gives the syllable count."""
    import parselmouth

    x = np.nan_to_num(np.asarray(samples, dtype=np.float64).reshape(-1))
    level = speech_level_db(x, sample_rate)
    start, end = speech_span(x, sample_rate)
    duration = (end - start) / sample_rate
    if duration <= 0:
        nan = float("nan")
        return ProsodyFeatures(nan, nan, nan, 0.0, level, 0.0, 0.0)
    x = x[start:end]
    articulation = articulation_s(x, sample_rate)
    if sample_rate > ANALYSIS_SR:
        from scipy.signal import resample_poly

        x, sr = resample_poly(x, ANALYSIS_SR, sample_rate), ANALYSIS_SR
    else:
        sr = sample_rate
    sound = parselmouth.Sound(x, sampling_frequency=sr)
    pitch = _two_pass_pitch(sound)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if voiced.size:
        st = 12 * np.log2(voiced / 100.0)
        median_hz = float(np.median(voiced))
        median_st, spread = float(12 * np.log2(median_hz / 100.0)), float(np.std(st))
    else:
        median_hz = median_st = spread = float("nan")
    if text is not None and text.strip():
        syllables = count_syllables(text)
    else:
        syllables = _syllable_nuclei(sound, pitch)
    return ProsodyFeatures(
        f0_median_hz=median_hz,
        f0_median_st=median_st,
        f0_spread_st=spread,
        rate_syllables_per_s=syllables / duration,
        level_db=level,
        voiced_fraction=float(voiced.size / max(1, f0.size)),
        duration_s=duration,
        articulation_rate_syllables_per_s=syllables / articulation if articulation else 0.0,
    )


def _two_pass_pitch(sound):
    first = sound.to_pitch(
        time_step=PITCH_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
    )
    f0 = first.selected_array["frequency"]
    f0 = f0[f0 > 0]
    if f0.size < 5:
        return first
    q25, q75 = np.percentile(f0, [25, 75])
    floor = max(PITCH_FLOOR_HZ, 0.75 * q25)
    ceiling = min(PITCH_CEILING_HZ, max(2.0 * q75, floor + 50.0))
    return sound.to_pitch(time_step=PITCH_STEP_S, pitch_floor=floor, pitch_ceiling=ceiling)


def _syllable_nuclei(sound, pitch, min_dip_db: float = 2.0, below_peak_db: float = 25.0) -> int:
    """Voiced intensity peaks that stand `min_dip_db` above the dip before them."""
    intensity = sound.to_intensity(minimum_pitch=100.0, time_step=0.01, subtract_mean=False)
    db = intensity.values[0]
    times = intensity.xs()
    if db.size < 3:
        return 0
    floor = max(np.median(db), db.max() - below_peak_db)
    peaks = np.flatnonzero((db[1:-1] > db[:-2]) & (db[1:-1] >= db[2:]) & (db[1:-1] > floor)) + 1
    count, last_peak = 0, None
    for i in peaks:
        if last_peak is not None and db[i] - db[last_peak:i].min() < min_dip_db:
            if db[i] > db[last_peak]:
                last_peak = i  # the same nucleus, a higher top
            continue
        hz = pitch.get_value_at_time(times[i])
        if np.isfinite(hz) and hz > 0:
            count += 1
            last_peak = i
    return count
