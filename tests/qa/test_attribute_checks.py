"""Attribute rules on real hibari/piper renderings: each right label passes, a wrong one fails."""

from __future__ import annotations

import numpy as np
import pytest
from qa_renders import SENTENCES, SR

from dialogsmith.qa.attribute_checks import CheckThresholds, TurnInput, check_turn
from dialogsmith.qa.turn_measures import (
    hf_energy_db,
    measure_turn,
    speaker_reference,
    stress_prominence,
)
from dialogsmith.tts_backends.base import Audio

TEXT = SENTENCES[1]


@pytest.fixture(scope="module")
def reference(hibari):
    """The speaker's neutral turns: the two other sentences."""
    return speaker_reference(
        [measure_turn(hibari[f"neutral/{i}"].samples, SR, SENTENCES[i]) for i in (0, 2)]
    )


def verdict(audio: Audio, attribute: str, label: str, reference=None, **turn) -> bool:
    checks = check_turn(TurnInput(audio.samples, SR, TEXT, **turn), {attribute: label}, reference)
    assert [c.attribute for c in checks] == ["speech", attribute]
    assert checks[0].passed
    return checks[1].passed


@pytest.mark.parametrize(
    ("style", "attribute", "right", "wrong"),
    [
        ("speed=fast", "speed", "fast", "slow"),
        ("speed=slow", "speed", "slow", "fast"),
        ("neutral", "speed", "normal", "fast"),
        ("volume=loud", "volume", "loud", "low"),
        ("volume=low", "volume", "low", "normal"),
        ("neutral", "volume", "normal", "loud"),
    ],
)
def test_speed_and_volume_against_the_speakers_neutral_turns(
    hibari, reference, style, attribute, right, wrong
):
    assert verdict(hibari[style], attribute, right, reference)
    assert not verdict(hibari[style], attribute, wrong, reference)


@pytest.mark.parametrize(
    ("style", "attribute", "right", "wrong"),
    [
        ("speed=fast", "speed", "fast", "normal"),
        ("volume=loud", "volume", "loud", "normal"),
        ("volume=low", "volume", "low", "normal"),
    ],
)
def test_without_a_reference_absolute_values_decide(hibari, style, attribute, right, wrong):
    assert verdict(hibari[style], attribute, right)
    assert not verdict(hibari[style], attribute, wrong)


def test_volume_reports_level_and_loudness(hibari, reference):
    turn = TurnInput(hibari["volume=loud"].samples, SR, TEXT)
    check = check_turn(turn, {"volume": "loud"}, reference)[1]
    assert check.measured["level_delta_db"] == pytest.approx(10.0, abs=1.5)
    assert check.measured["loudness_lufs"] == pytest.approx(-13.0, abs=2.5)
    assert "+ 6.0 dB" in check.rule


def test_gender_by_the_speakers_f0(hibari, piper, reference):
    assert verdict(hibari["neutral/1"], "gender", "female", reference)
    assert not verdict(hibari["neutral/1"], "gender", "male", reference)
    male = Audio(piper["neutral/1"].samples, SR)
    assert verdict(male, "gender", "male") and not verdict(male, "gender", "female")
    # a style moves one turn's F0: the speaker's neutral turns decide where there are some
    check = check_turn(TurnInput(male.samples, SR, TEXT), {"gender": "female"}, reference)[1]
    assert check.passed and check.measured["turn_f0_median_hz"] < 157.5


def test_fidelity_by_the_energy_above_4_khz(hibari):
    full = hibari["neutral/1"]
    narrow = full.resampled(8000).resampled(SR)
    assert hf_energy_db(full.samples, SR) > -30 > hf_energy_db(narrow.samples, SR)
    assert verdict(narrow, "fidelity", "low") and not verdict(narrow, "fidelity", "normal")
    assert verdict(full, "fidelity", "normal") and not verdict(full, "fidelity", "low")


def test_stressed_word_stands_out_from_its_context(hibari):
    from dialogsmith.tts_backends.prosody import emphasize_span, estimate_word_span

    plain = hibari["neutral/1"].samples
    span = estimate_word_span(plain, SR, TEXT, "bicycle")
    stressed = Audio(emphasize_span(plain, SR, *span), SR)
    weight = CheckThresholds().stress_level_weight
    emphasis = stress_prominence(stressed.samples, SR, span, weight)
    natural = stress_prominence(plain, SR, span, weight)
    assert emphasis["f0_delta_st"] > natural["f0_delta_st"] + 1.5
    assert verdict(stressed, "stress", "stressed", stress_span_s=span)
    assert not verdict(Audio(plain, SR), "stress", "stressed", stress_span_s=span)
    assert not verdict(stressed, "stress", "stressed")  # no span recorded: cannot pass


def test_non_verbal_sound_is_classified_on_its_span(hibari):
    from dialogsmith.tts_backends import make_backend
    from dialogsmith.tts_backends.nonverbal import attach_nonverbal, synthesize_nonverbal

    tts = make_backend("hibari")
    laugh = synthesize_nonverbal("laughter", tts, tts.voices()[0], SR, seed=3)
    speech = hibari["neutral/1"]
    joined, start, end = attach_nonverbal(speech, laugh)
    at = {"speech_start_s": joined.duration_s - speech.duration_s, "nonverbal_span_s": (start, end)}
    assert verdict(joined, "non_verbal", "laughter", **at)
    assert not verdict(joined, "non_verbal", "cough", **at)
    assert not verdict(speech, "non_verbal", "laughter")  # no sound, no span


@pytest.mark.parametrize(("style", "wrong"), [("emotion=sad", "happy"), ("emotion=angry", "sad")])
def test_emotion_through_the_prosodic_classifier(hibari, reference, style, wrong):
    label = style.partition("=")[2]
    assert verdict(hibari[style], "emotion", label, reference)
    assert not verdict(hibari[style], "emotion", wrong, reference)


def test_silence_fails_the_speech_check_and_filters_apply(hibari):
    silence = TurnInput(np.zeros(SR, np.float32), SR, TEXT)
    checks = check_turn(silence, {"gender": "female"})
    assert checks[0].attribute == "speech" and not checks[0].passed
    assert not checks[1].passed  # no F0 to judge by
    turn = TurnInput(hibari["neutral/1"].samples, SR, TEXT)
    labels = {"gender": "female", "speed": "normal", "age": "adult", "stress": "none"}
    checks = check_turn(turn, labels, attributes={"gender", "age", "stress"})
    assert [c.attribute for c in checks] == ["speech", "gender"]  # no rule for age or "none"
    assert checks[0].measured["voiced_fraction"] > 0.4


def test_rules_are_written_with_the_thresholds():
    t = CheckThresholds(speed_fast_ratio=1.3)
    assert t.rule("speed", "fast").startswith("rate >= 1.3 x")
    assert "top 2" in t.rule("emotion", "happy")
