"""Age groups in the timbre bank: every gender x age cell from every base, and the settings
audible in real renderings (rate, F0 level and range, tremor)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dialogsmith.tts_backends import TurnStyle, make_backend
from dialogsmith.tts_backends.prosody import TREMOR_HZ, f0_hz, f0_track, speech_bounds
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.timbre import AGE_SETTINGS, AGES, build_timbre_bank

BASE = "espeak-ng:en-gb+m3"
TEXT = "Could you tell me when the next train to the city leaves this evening?"


@pytest.fixture(scope="module")
def renders():
    backend = make_backend("espeak-ng")
    bank = build_timbre_bank([BASE], per_base=6, seed=3)
    return {(s.gender, s.age): (s, backend.synthesize(TEXT, s.voice(), TurnStyle())) for s in bank}


def test_six_per_base_cover_every_cell_within_its_ranges():
    bank = build_timbre_bank([BASE, "hibari:heart"], per_base=6, seed=3)
    for base in (BASE, "hibari:heart"):
        cells = [(s.gender, s.age) for s in bank if s.base == base]
        assert sorted(cells) == sorted(itertools.product(("female", "male"), AGES))
    for spec in bank:
        cell = AGE_SETTINGS[spec.gender, spec.age]
        assert cell.median_hz[0] <= spec.pitch_median_hz <= cell.median_hz[1]
        assert cell.rate[0] <= spec.rate <= cell.rate[1]
        assert (spec.tremor_semitones > 0) == (spec.age == "elderly")
        assert resolve_voice(spec.ref).param("age") == spec.age


@pytest.mark.parametrize("gender", ["female", "male"])
def test_age_groups_are_audible(renders, gender):
    def speech_s(audio):
        start, end = speech_bounds(audio.samples, audio.sample_rate)
        return (end - start) / audio.sample_rate

    def f0_spread_st(audio):
        f0 = f0_hz(audio.samples, audio.sample_rate)
        return float(np.std(12 * np.log2(f0 / np.median(f0))))

    got = {age: renders[gender, age] for age in AGES}
    for spec, audio in got.values():
        median = np.median(f0_hz(audio.samples, audio.sample_rate))
        assert median == pytest.approx(spec.pitch_median_hz, rel=0.06)
    old, young = got["elderly"][1], got["youth"][1]
    assert speech_s(old) > 1.08 * max(speech_s(got["middle_aged"][1]), speech_s(young))
    assert f0_spread_st(old) < 0.85 * f0_spread_st(young)


def test_elderly_tremor_is_an_f0_modulation_of_its_depth(renders):
    spec, audio = renders["male", "elderly"]
    steady = resolve_voice(spec.ref.rpartition("-t")[0])
    plain = make_backend("espeak-ng").synthesize(TEXT, steady, TurnStyle())
    (t, f0_t), (_, f0_p) = (f0_track(a.samples, a.sample_rate) for a in (audio, plain))
    n = min(len(f0_t), len(f0_p))
    both = (f0_t[:n] > 0) & (f0_p[:n] > 0)
    diff_st = 12 * np.log2(f0_t[:n][both] / f0_p[:n][both])
    phase = 2 * np.pi * TREMOR_HZ * t[:n][both]
    basis = np.stack([np.sin(phase), np.cos(phase)], axis=1)
    sine, cosine = np.linalg.lstsq(basis, diff_st, rcond=None)[0]
    assert sine == pytest.approx(spec.tremor_semitones, abs=0.15) and abs(cosine) < 0.15
