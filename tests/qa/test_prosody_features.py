"""Prosody measurement on synthetic signals whose pitch, spread, level and timing are known."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dialogsmith.qa.prosody_features import count_syllables, measure, speech_span

SR = 16000


def harmonic_tone(f0, seconds=1.0, vibrato_st=0.0, vibrato_hz=5.0, amplitude=0.3, sr=SR):
    """A voiced-like tone: 6 harmonics, F0 optionally modulated by +-vibrato_st semitones."""
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * 2 ** (vibrato_st * np.sin(2 * np.pi * vibrato_hz * t) / 12)
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(h * phase) / h for h in range(1, 7))
    return (amplitude * x / np.abs(x).max()).astype(np.float32)


def padded(x, before=0.3, after=0.5, sr=SR):
    return np.concatenate([np.zeros(int(before * sr)), x, np.zeros(int(after * sr))]).astype(
        np.float32
    )


def test_octave_is_twelve_semitones():
    low, high = measure(harmonic_tone(120.0), SR), measure(harmonic_tone(240.0), SR)
    assert low.f0_median_hz == pytest.approx(120.0, rel=0.01)
    assert high.f0_median_st - low.f0_median_st == pytest.approx(12.0, abs=0.1)
    assert low.f0_median_st == pytest.approx(12 * np.log2(1.2), abs=0.1)
    assert low.voiced_fraction > 0.9


def test_vibrato_raises_the_spread():
    steady = measure(harmonic_tone(150.0), SR)
    vibrato = measure(harmonic_tone(150.0, vibrato_st=3.0), SR)
    assert steady.f0_spread_st < 0.2
    assert vibrato.f0_spread_st > 1.5  # a sine of amplitude 3 st has std 3 / sqrt(2)
    assert vibrato.f0_spread_st > steady.f0_spread_st + 1.0


def test_gain_moves_the_level_by_the_gain():
    x = padded(harmonic_tone(200.0))
    quiet, loud = measure(x, SR), measure(x * 10 ** (9 / 20), SR)
    assert loud.level_db - quiet.level_db == pytest.approx(9.0, abs=0.01)
    assert loud.f0_median_hz == pytest.approx(quiet.f0_median_hz, rel=0.01)


def test_silence_is_trimmed_and_rate_uses_the_text():
    x = padded(harmonic_tone(200.0, seconds=2.0), before=0.5, after=1.0)
    start, end = speech_span(x, SR)
    assert start / SR == pytest.approx(0.5, abs=0.011) and end / SR == pytest.approx(2.5, abs=0.011)
    f = measure(x, SR, text="Could you send me the report before lunch?")
    assert f.duration_s == pytest.approx(2.0, abs=0.02)
    assert f.rate_syllables_per_s == pytest.approx(
        count_syllables("Could you send me the report before lunch?") / 2.0, rel=0.02
    )


def test_rate_without_text_counts_syllable_nuclei():
    """Six 150 ms voiced bursts separated by 100 ms of silence: about 6 nuclei in 1.4 s."""
    burst = harmonic_tone(180.0, seconds=0.15) * np.hanning(int(0.15 * SR)).astype(np.float32)
    gap = np.zeros(int(0.1 * SR), np.float32)
    x = padded(np.concatenate([*[np.concatenate([burst, gap]) for _ in range(5)], burst]))
    f = measure(x, SR)
    assert f.rate_syllables_per_s * f.duration_s == pytest.approx(6, abs=1)


@pytest.mark.parametrize(
    ("text", "syllables"),
    [("The weather is lovely today.", 8), ("beautiful", 3), ("people", 2), ("create", 1)],
)
def test_count_syllables(text, syllables):
    assert abs(count_syllables(text) - syllables) <= 1


def test_silence_and_speed():
    silent = measure(np.zeros(SR, np.float32), SR, "hello")
    assert silent.duration_s == 0 and np.isnan(silent.f0_median_hz)
    x = padded(harmonic_tone(150.0, seconds=3.0, vibrato_st=2.0), sr=22050)
    seconds = []
    for _ in range(3):  # the first call loads Praat; the CPU may be shared: take the best
        t = time.perf_counter()
        measure(x, 22050, "some words here")
        seconds.append(time.perf_counter() - t)
    assert min(seconds) / (len(x) / 22050) < 0.05  # real-time factor
