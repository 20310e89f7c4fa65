"""Praat prosody steps on a real neural rendering: what they change, what they keep, and that
the same input always gives the same samples."""

from __future__ import annotations

import numpy as np
import pytest

from dialogsmith.tts_backends import TurnStyle, make_backend
from dialogsmith.tts_backends.prosody import (
    apply_prosody,
    change_gender,
    emphasize_span,
    f0_hz,
    f0_track,
)

TEXT = "The weather is lovely today, and I think we should go for a walk."
SPAN = (1.0, 1.5)  # seconds: inside the sentence, voiced


@pytest.fixture(scope="module")
def speech():
    backend = make_backend("hibari")
    audio = backend.synthesize(TEXT, backend.voices()[0], TurnStyle())
    return audio.samples, audio.sample_rate


def median_st(samples, sr) -> float:
    return float(np.median(12 * np.log2(f0_hz(samples, sr) / 100)))


def window_stats(samples, sr, start_s, end_s) -> tuple[float, float]:
    """(F0 median in semitones, RMS in dB) inside [start_s, end_s]."""
    times, f0 = f0_track(samples, sr)
    voiced = f0[(times > start_s) & (times < end_s) & (f0 > 0)]
    seg = samples[int(start_s * sr) : int(end_s * sr)].astype(np.float64)
    return float(np.median(12 * np.log2(voiced / 100))), float(10 * np.log10(np.mean(seg**2)))


def test_identity_and_unvoiced_input_come_back_unchanged(speech):
    samples, sr = speech
    assert apply_prosody(samples, sr) is samples
    noise = np.random.default_rng(0).normal(0, 0.1, sr).astype(np.float32)
    assert apply_prosody(noise, sr, pitch_shift_semitones=3.0) is noise


def test_apply_prosody_shifts_pitch_and_stretches(speech):
    samples, sr = speech
    out = apply_prosody(samples, sr, pitch_shift_semitones=3.0, duration_factor=1.25)
    assert median_st(out, sr) - median_st(samples, sr) == pytest.approx(3.0, abs=0.7)
    assert len(out) / len(samples) == pytest.approx(1.25, abs=0.02)


def test_change_gender_moves_the_median(speech):
    samples, sr = speech
    out = change_gender(samples, sr, formant_shift=0.9, pitch_median_hz=120.0)
    assert np.median(f0_hz(out, sr)) == pytest.approx(120.0, rel=0.06)
    assert len(out) == len(samples)


def test_emphasis_raises_pitch_and_level_inside_the_span_only(speech):
    samples, sr = speech
    start, end = SPAN
    out = emphasize_span(samples, sr, start, end)
    extra = (len(out) - len(samples)) / sr
    assert 0.04 < extra < 0.5 * 0.15  # lengthened inside the span only, minus the ramps
    f0_in, db_in = window_stats(samples, sr, start + 0.05, end - 0.05)
    f0_out, db_out = window_stats(out, sr, start + 0.05, end + extra - 0.05)
    assert f0_out - f0_in == pytest.approx(3.0, abs=1.0)
    assert db_out - db_in == pytest.approx(4.0, abs=1.5)
    for a, b in [(0.1, start - 0.05), (end + 0.05, len(samples) / sr - 0.1)]:
        shift = 0.0 if b < start else extra
        f0_before, db_before = window_stats(samples, sr, a, b)
        f0_after, db_after = window_stats(out, sr, a + shift, b + shift)
        assert abs(f0_after - f0_before) < 0.7 and abs(db_after - db_before) < 0.7


def test_praat_steps_are_deterministic(speech):
    samples, sr = speech
    steps = [
        lambda: apply_prosody(samples, sr, 2.0, 1.3, 0.9),
        lambda: change_gender(samples, sr, 1.1, 230.0, 1.2),
        lambda: emphasize_span(samples, sr, *SPAN),
    ]
    for step in steps:
        first = step()
        change_gender(samples[::-1].copy(), sr, 0.9)  # other Praat work in between
        np.testing.assert_array_equal(first, step())
