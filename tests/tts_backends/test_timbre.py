"""Timbre bank: deterministic, every ref resolves, labels follow the rule, and a timbre keeps
its identity across turns (real renderings, no mocks)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dialogsmith.tts_backends import TurnStyle, VoiceSpec, make_backend
from dialogsmith.tts_backends.prosody import f0_hz
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.timbre import (
    DEFAULT_BASES,
    FEATURES,
    MEDIAN_HZ,
    TimbreSpec,
    build_timbre_bank,
    default_timbre_bank,
    timbre_distance,
    timbre_features,
    timbre_labels,
)

SENTENCES = (
    "The weather is lovely today, and I think we should go for a walk.",
    "Could you tell me when the next train to the city leaves?",
    "My sister bought a blue bicycle at the market yesterday.",
)


def test_bank_is_deterministic_sized_and_in_range():
    bank = default_timbre_bank(seed=7)
    assert bank == default_timbre_bank(seed=7) != default_timbre_bank(seed=8)
    assert len(bank) == 6 * len(DEFAULT_BASES) >= 40
    assert len({spec.ref for spec in bank}) == len(bank)
    for spec in bank:
        lo, hi = MEDIAN_HZ[spec.gender]
        assert lo <= spec.pitch_median_hz <= hi
        assert 0.8 <= spec.formant_shift <= 1.22 and 0.75 <= spec.pitch_range_factor <= 1.3
    assert {s.age for s in bank} == {"middle_aged", "elderly", "youth"}
    assert {"us", "gb", "scotland", "caribbean"} <= {s.accent for s in bank}
    # adding a base leaves the other bases' voices as they were
    assert build_timbre_bank(["flite:slt", "hibari:heart"], 6, 7)[6:] == bank[:6]


def test_every_bank_ref_round_trips_through_resolve_voice():
    for spec in default_timbre_bank():
        voice = resolve_voice(spec.ref)
        assert f"{voice.backend}:{voice.name}" == spec.ref
        assert (voice.gender, voice.accent, voice.param("age")) == (
            spec.gender,
            spec.accent,
            spec.age,
        )
        timbre = voice.timbre
        assert (timbre.formant_shift, timbre.pitch_median_hz) == (
            spec.formant_shift,
            spec.pitch_median_hz,
        )


def test_labels_follow_the_written_rule():
    assert timbre_labels("male", 1.0, 200.0, 1.0) == ("female", "middle_aged")
    assert timbre_labels("female", 0.95, 100.0, 0.8, 0.9) == ("male", "elderly")
    assert timbre_labels("female", 0.95, 100.0, 1.0, 1.0, 0.5) == ("male", "elderly")
    assert timbre_labels("female", 0.95, 100.0, 0.8) == ("male", "middle_aged")  # rate kept
    assert timbre_labels("male", 1.08, 140.0, 1.1) == ("male", "youth")
    assert timbre_labels("male", 1.08, 140.0, 1.1, 0.95) == ("male", "middle_aged")
    assert timbre_labels("female", 1.2, None, 1.2) == ("female", "middle_aged")


def test_bad_timbre_refs_name_the_expected_form():
    with pytest.raises(ValueError, match=r"f1.08-p132-r1.10"):
        resolve_voice("piper:en_US-joe-medium~big")
    with pytest.raises(ValueError, match=r"formant in \[0.7, 1.4\]"):
        resolve_voice("flite:slt~f2.00-r1.00")
    ref = TimbreSpec(
        "flite:slt", 1.1, None, 0.9, gender="female", age="middle_aged", accent="us"
    ).ref
    assert resolve_voice(ref).name == "slt~f1.10-r0.90"
    bare = VoiceSpec("flite", "slt~f1.10-r0.90", "female", "us")  # not built by resolve_voice
    with pytest.raises(ValueError, match="carries no timbre settings"):
        make_backend("flite").synthesize("Hello there.", bare, TurnStyle())


def test_timbre_voice_renders_its_median_and_takes_style_on_top():
    spec = next(s for s in default_timbre_bank() if s.base == "flite:awb")
    voice = resolve_voice(spec.ref)
    backend = make_backend("flite")
    audio = backend.synthesize(SENTENCES[0], voice, TurnStyle())
    median = np.median(f0_hz(audio.samples, audio.sample_rate))
    assert median == pytest.approx(spec.pitch_median_hz, rel=0.06)
    up = backend.synthesize(SENTENCES[0], voice, TurnStyle(pitch_shift_semitones=3.0))
    assert 12 * np.log2(np.median(f0_hz(up.samples, up.sample_rate)) / median) == pytest.approx(
        3.0, abs=0.8
    )
    emb = timbre_features(audio.samples, audio.sample_rate)
    assert emb.shape == (len(FEATURES),) and np.isfinite(emb).all()
    twice = backend.synthesize(SENTENCES[0], voice, TurnStyle())
    np.testing.assert_array_equal(audio.samples, twice.samples)


@pytest.mark.parametrize("base", ["hibari:heart", "piper:en_US-joe-medium"])
def test_a_timbre_keeps_its_identity_across_turns(base):
    """The base's first two bank voices of its own gender: sentence s of voice A is closer to
    A's other sentences than to B's, both ways."""
    backend = make_backend(base.partition(":")[0])
    gender = resolve_voice(base).gender
    pair = [s for s in default_timbre_bank() if s.base == base and s.gender == gender][:2]
    emb = []
    for spec in pair:
        voice = resolve_voice(spec.ref)
        renders = [backend.synthesize(text, voice, TurnStyle()) for text in SENTENCES]
        emb.append([timbre_features(a.samples, a.sample_rate) for a in renders])
    for me, other in [(emb[0], emb[1]), (emb[1], emb[0])]:
        for s, t in itertools.permutations(range(len(SENTENCES)), 2):
            same, different = timbre_distance(me[s], me[t]), timbre_distance(me[s], other[t])
            assert same < different, (pair, s, t, same, different)
