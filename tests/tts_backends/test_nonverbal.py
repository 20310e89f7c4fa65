"""Laughter, sighs and coughs rendered through real voices (hibari, piper; no mocked models)."""

from __future__ import annotations

import numpy as np
import pytest

from dialogsmith.tts_backends import Audio, VoiceSpec, make_backend
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB, speech_level_db
from dialogsmith.tts_backends.nonverbal import (
    DURATION_RANGE_S,
    LEVEL_OFFSET_DB,
    NONVERBAL_KINDS,
    PEAK_LIMIT,
    attach_nonverbal,
    classify_nonverbal,
    nonverbal_features,
    synthesize_nonverbal,
)

SR = 16000
SEEDS = range(5)
VOICES = {"hibari": "heart", "piper": "en_US-joe-medium"}  # female, male
CASES = [(name, kind) for name in VOICES for kind in NONVERBAL_KINDS]


@pytest.fixture(scope="module")
def voices():
    out = {}
    for name, voice_name in VOICES.items():
        backend = make_backend(name)
        backend.setup()
        out[name] = backend, next(v for v in backend.voices() if v.name == voice_name)
    return out


@pytest.fixture(scope="module")
def renders(voices):
    """(voice, kind, seed) -> (Audio, features), each rendered once for the module."""
    out = {}
    for name, (backend, voice) in voices.items():
        for kind in NONVERBAL_KINDS:
            for seed in SEEDS:
                audio = synthesize_nonverbal(kind, backend, voice, SR, seed)
                out[name, kind, seed] = audio, nonverbal_features(audio.samples, SR)
    return out


def features(renders, kind):
    return [f for (_, k, _), (_, f) in renders.items() if k == kind]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_audible_finite_and_in_range(renders, name, kind):
    lo, hi = DURATION_RANGE_S[kind]
    for seed in SEEDS:
        audio, _ = renders[name, kind, seed]
        x = audio.samples
        assert x.dtype == np.float32 and x.ndim == 1 and audio.sample_rate == SR
        assert np.isfinite(x).all()
        assert lo <= audio.duration_s <= hi, (seed, audio.duration_s)
        assert np.abs(x).max() <= PEAK_LIMIT + 1e-6
        level = speech_level_db(x, SR)  # like speech, unless the peak limit had to act
        assert REFERENCE_LEVEL_DB + LEVEL_OFFSET_DB[kind] - 3 <= level, (seed, level)
        assert level <= REFERENCE_LEVEL_DB + LEVEL_OFFSET_DB[kind] + 0.1


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_deterministic_per_seed_and_different_across_seeds(voices, renders, name, kind):
    backend, voice = voices[name]
    again = synthesize_nonverbal(kind, backend, voice, SR, 0)
    np.testing.assert_array_equal(again.samples, renders[name, kind, 0][0].samples)
    first, other = renders[name, kind, 0][0].samples, renders[name, kind, 1][0].samples
    assert len(first) != len(other) or not np.array_equal(first, other)


def test_laughter_is_a_train_of_voiced_bursts(renders):
    for f in features(renders, "laughter"):
        assert f["n_bursts"] >= 3, f
        assert f["voiced_fraction"] >= 0.4, f
        assert f["spectral_flatness"] < 0.15, f


def test_sigh_is_an_unvoiced_breath_with_a_long_decay(renders):
    for f in features(renders, "sigh"):
        assert f["voiced_fraction"] <= 0.15, f
        assert f["decay_s"] >= 0.25, f
        assert f["attack_s"] >= 0.1, f
        assert f["n_bursts"] == 1, f


def test_cough_is_one_or_two_short_noise_bursts(renders):
    sigh_flatness = max(f["spectral_flatness"] for f in features(renders, "sigh"))
    for f in features(renders, "cough"):
        assert f["duration_s"] <= 0.9 and 1 <= f["n_bursts"] <= 2, f
        assert f["spectral_flatness"] >= 0.5 and f["spectral_flatness"] > 2 * sigh_flatness, f
        assert f["decay_s"] <= 0.2 and f["voiced_fraction"] <= 0.1, f


def test_classifier_tells_the_kinds_apart(renders):
    right = [
        classify_nonverbal(audio.samples, SR) == kind
        for (_, kind, _), (audio, _) in renders.items()
    ]
    assert len(right) == 30 and np.mean(right) >= 0.9


def test_other_sample_rates(voices):
    backend, voice = voices["hibari"]
    for kind in NONVERBAL_KINDS:
        audio = synthesize_nonverbal(kind, backend, voice, 44100, seed=7)
        assert audio.sample_rate == 44100
        assert DURATION_RANGE_S[kind][0] <= audio.duration_s <= DURATION_RANGE_S[kind][1]
        assert classify_nonverbal(audio.samples, 44100) == kind


def test_errors_name_what_is_wrong(voices):
    backend, voice = voices["hibari"]
    with pytest.raises(ValueError, match=r"'giggle'.*allowed: laughter, sigh, cough"):
        synthesize_nonverbal("giggle", backend, voice, SR, 0)
    with pytest.raises(ValueError, match=r"unknown voice.*'nobody'"):
        synthesize_nonverbal("cough", backend, VoiceSpec("hibari", "nobody", "male", "us"), SR, 0)


def test_attach_returns_the_sound_span():
    speech = Audio(np.full(16000, 0.1, np.float32), SR)
    sound = Audio(np.full(8000, 0.5, np.float32), SR)
    before, start, end = attach_nonverbal(speech, sound, "before", gap_s=0.25)
    assert (start, end) == (0.0, 0.5) and before.duration_s == pytest.approx(1.75)
    np.testing.assert_array_equal(before.samples[: int(end * SR)], sound.samples)
    assert not before.samples[int(end * SR) : int((end + 0.25) * SR)].any()
    after, start, end = attach_nonverbal(speech, sound, "after")
    assert (start, end) == pytest.approx((1.15, 1.65)) and after.duration_s == pytest.approx(1.65)
    np.testing.assert_array_equal(after.samples[round(start * SR) : round(end * SR)], sound.samples)
    np.testing.assert_array_equal(after.samples[:SR], speech.samples)


def test_attach_rejects_bad_arguments():
    speech, sound = Audio(np.zeros(100), SR), Audio(np.zeros(100), 24000)
    with pytest.raises(ValueError, match=r"24000 Hz sound to 16000 Hz speech; resample"):
        attach_nonverbal(speech, sound)
    with pytest.raises(ValueError, match=r"'during'.*allowed: before, after"):
        attach_nonverbal(speech, Audio(np.zeros(100), SR), position="during")
