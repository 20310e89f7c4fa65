"""Measured attributes of a turn against its labels, by written rules with set thresholds.

`check_turn` measures a rendered turn and returns one `AttributeCheck` per checked label:
what was measured, the rule in words, and whether it held. Rate, F0 and level are judged
against the same speaker's neutral turns (`speaker_reference`) where the dialogue has some,
since they depend on the voice and the words; without a reference, absolute values are used.

Thresholds (`CheckThresholds`) were chosen on real renders: 8 voices (hibari heart, piper
joe, flite slt and rms, four timbre variants of hibari and piper) x 10 sentences x every
label the render realises, styled as the voice stage styles them (`StyleConfig` tables and
jitter), each turn against a neutral render of another sentence by the same voice
(5th / 50th / 95th percentiles):

- speed: rate ratio neutral 0.78 / 1.00 / 1.19, fast (x1.45) 1.09 / 1.48 / 1.81, slow (x0.72)
  0.61 / 0.76 / 0.92. Fast needs >= 1.2, slow <= 0.85: each keeps ~90 % of its turns and
  passes ~5 % of neutral ones. The rate is the articulation rate (`prosody_features.PAUSE_S`:
  pauses left out), which on 60 user turns of hibari and piper halved the spread of plain
  turns above the median. Absolute rates differ by voice (normal: flite rms 3.9, hibari 5.3,
  piper 5.5 articulation syllables/s, median of 12 turns), so without a reference only
  >= 6.6 (fast) or <= 3.9 (slow) syllables/s count.
- volume: level difference neutral -2.1 / 0.1 / 2.1 dB, loud (+10) 7.8 / 9.9 / 11.8, low
  (-14) -16.1 / -14.1 / -12.2. The bands are the taxonomy's (`band` in taxonomy.yaml): loud
  needs >= +6 dB, low <= -6 dB, normal within +-3 dB; between them no label holds. Every
  backend renders at REFERENCE_LEVEL_DB (-23 dBFS) before the gain, so without a reference
  the same margins apply to that level. Loudness in LUFS (pyloudnorm) is reported alongside;
  it moved with the level to 0.2 dB.
- gender: the F0 median of the speaker's neutral turns (the turn's own without them: a style
  moves a turn's F0 by up to 4 semitones) against 157.5 Hz, the threshold the timbre bank
  labels voices by (males <= 150 Hz, females >= 165 Hz); measured neutral-turn medians ran
  82-157 Hz for male and 160-247 Hz for female voices.
- fidelity: the share of speech energy above 4 kHz, full band -26 / -18 / -14 dB; at 8 kHz
  sampling or through a 300-3400 Hz telephone band -50 / -40 / -34 dB. Low needs <= -30 dB.
- stress: the prominence of the stressed span, its F0 median minus that of the voiced frames
  within 0.8 s around it (semitones) plus half its 90th-percentile frame level minus theirs
  (dB). The render's emphasis (+3 st, +4 dB, x1.15 length) on 357 words: >= 1.3 held for 87 %
  of stressed words and for 25 % of the same words unstressed (natural prominence varies;
  span edges are estimates).
- non_verbal: `classify_nonverbal` on the sound's span names the label.
- emotion: the emotion classifier (`qa.emotion`) ranks the label in its top `emotion_top_k`.
- speech (always): at least `min_voiced_fraction` of the speech span voiced and at least
  `min_speech_s` long (neutral renders: 0.55-0.78 voiced).

`python -m dialogsmith.qa.check_bench` re-checks these rules on 6 voices x 8 sentences
(48 turns a label). Right labels passed: speed 0.90-0.94, volume, gender, fidelity and
non_verbal 1.00, stress 0.92, emotion 0.88-1.00 (top 2). Wrong labels failed: speed, volume,
gender, fidelity, non_verbal 0.98-1.00, an unstressed word labelled stressed 0.92, an emotion
labelled as its nearest profile 0.00-0.48 (top 2; with `emotion_top_k=1` 0.73-1.00, but
right labels then pass only 0.65-1.00). In a room (RT60 0.2-0.6 s, `--room`) the numbers
hold within 0.07 (stress passes 0.85). The scene's `fidelity=low` channel chains measured
<= -37 dB above 4 kHz on 27 renders, full-band renders >= -28.3 dB.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields

import numpy as np

from dialogsmith.taxonomy import band
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB, Seconds

from .emotion import EmotionClassifier, ProsodicEmotionClassifier, verify_emotion
from .turn_measures import TurnMeasurements, measure_turn, stress_prominence

RULES = {
    ("speed", "fast"): "rate >= {speed_fast_ratio} x the speaker's neutral rate "
    "(no reference: >= {speed_fast_abs} syllables/s)",
    ("speed", "slow"): "rate <= {speed_slow_ratio} x the speaker's neutral rate "
    "(no reference: <= {speed_slow_abs} syllables/s)",
    ("speed", "normal"): "rate within ({speed_slow_ratio}, {speed_fast_ratio}) x the neutral rate "
    "(no reference: within ({speed_slow_abs}, {speed_fast_abs}) syllables/s)",
    ("volume", "loud"): "level >= neutral level + {volume_loud_db} dB "
    "(no reference: against the render level {reference_level_db} dBFS)",
    ("volume", "low"): "level <= neutral level {volume_low_db} dB "
    "(no reference: against the render level {reference_level_db} dBFS)",
    ("volume", "normal"): "level within +-{volume_normal_db} dB of the neutral level (no "
    "reference: of {reference_level_db} dBFS)",
    ("gender", "female"): "speaker F0 median >= {gender_threshold_hz} + {gender_margin_hz} Hz",
    ("gender", "male"): "speaker F0 median < {gender_threshold_hz} - {gender_margin_hz} Hz",
    ("fidelity", "low"): "energy above 4 kHz <= {fidelity_low_hf_db} dB of the speech energy",
    ("fidelity", "normal"): "energy above 4 kHz > {fidelity_low_hf_db} dB of the speech energy",
    ("stress", "stressed"): "span F0 - context F0 (st) + {stress_level_weight} x (span level - "
    "context level) (dB) >= {stress_prominence}",
    ("emotion", "*"): "the classifier ranks the label in its top {emotion_top_k} "
    "(or within {emotion_margin} of the best score)",
    ("non_verbal", "*"): "classify_nonverbal on the sound's span gives the label",
    ("speech", "present"): "voiced fraction >= {min_voiced_fraction} and speech >= "
    "{min_speech_s} s",
}


def _heard(attribute: str, value: str) -> tuple[float, float]:
    """The taxonomy's heard band of a value (taxonomy.yaml `band`), the one written meaning."""
    found = band(attribute, value)
    assert found is not None, f"{attribute}={value} has no band in taxonomy.yaml"
    return found.heard  # type: ignore[return-value]


@dataclass(frozen=True)
class CheckThresholds:
    """Rule thresholds; the defaults and why are in the module docstring."""

    speed_fast_ratio: float = _heard("speed", "fast")[0]
    speed_slow_ratio: float = _heard("speed", "slow")[1]
    speed_fast_abs: float = 6.6  # articulation syllables/s, used without a reference
    speed_slow_abs: float = 3.9
    volume_loud_db: float = _heard("volume", "loud")[0]
    volume_low_db: float = _heard("volume", "low")[1]
    volume_normal_db: float = _heard("volume", "normal")[1]
    reference_level_db: float = REFERENCE_LEVEL_DB
    gender_threshold_hz: float = 157.5
    gender_margin_hz: float = 0.0
    fidelity_low_hf_db: float = -30.0
    stress_prominence: float = 1.3
    stress_level_weight: float = 0.5
    emotion_top_k: int = 2
    emotion_margin: float = 0.0
    min_voiced_fraction: float = 0.2
    min_speech_s: Seconds = 0.3

    def rule(self, attribute: str, label: str) -> str:
        template = RULES.get((attribute, label)) or RULES[(attribute, "*")]
        return template.format(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class AttributeCheck:
    attribute: str
    label: str
    measured: dict[str, float | str]
    rule: str
    passed: bool


@dataclass(frozen=True)
class TurnInput:
    """What `check_turn` reads from a rendered turn; spans in seconds from the turn's start."""

    samples: np.ndarray
    sample_rate: int
    text: str | None = None
    speech_start_s: Seconds = 0.0  # where the speech starts (after a non-verbal sound)
    stress_span_s: tuple[Seconds, Seconds] | None = None
    nonverbal_span_s: tuple[Seconds, Seconds] | None = None


def check_turn(
    turn: TurnInput,
    labels: Mapping[str, str],
    reference: TurnMeasurements | None = None,
    thresholds: CheckThresholds = CheckThresholds(),
    emotion: EmotionClassifier | None = None,
    attributes: Collection[str] | None = None,
    measurements: TurnMeasurements | None = None,
) -> list[AttributeCheck]:
    """One check per label in `attributes` (default: every label) that has a rule, plus
    "speech". A turn-level attribute's neutral value ("normal") is a claim like any other and
    is checked against its band (taxonomy.yaml). `measurements`: the turn's `measure_turn` of
    its speech part, when already taken (for the reference)."""
    speech = turn.samples[round(turn.speech_start_s * turn.sample_rate) :]
    m = measurements or measure_turn(speech, turn.sample_rate, turn.text)
    checks = [_speech(m, thresholds)]
    for attribute, label in labels.items():
        if attributes is not None and attribute not in attributes:
            continue
        check = _check(attribute, label, turn, m, reference, thresholds, emotion)
        if check is not None:
            checks.append(check)
    return checks


def _check(attribute, label, turn, m, reference, t, emotion) -> AttributeCheck | None:
    if attribute == "speed" and label in ("fast", "slow", "normal"):
        return _speed(label, m, reference, t)
    if attribute == "volume" and label in ("loud", "low", "normal"):
        return _volume(label, m, reference, t)
    if attribute == "gender" and label in ("female", "male"):
        return _gender(label, m, reference, t)
    if attribute == "fidelity" and label in ("low", "normal"):
        passed = (m.hf_energy_db <= t.fidelity_low_hf_db) == (label == "low")
        return _result(attribute, label, {"hf_energy_db": round(m.hf_energy_db, 2)}, t, passed)
    if attribute == "stress" and label == "stressed":
        return _stress(turn, t)
    if attribute == "non_verbal" and label not in ("none", ""):
        return _nonverbal(label, turn, t)
    if attribute == "emotion":
        return _emotion(label, turn, m, reference, t, emotion)
    return None


def _result(attribute, label, measured, t: CheckThresholds, passed) -> AttributeCheck:
    return AttributeCheck(attribute, label, measured, t.rule(attribute, label), bool(passed))


def _speech(m: TurnMeasurements, t: CheckThresholds) -> AttributeCheck:
    p = m.prosody
    measured = {
        "duration_s": round(p.duration_s, 3),
        "voiced_fraction": round(p.voiced_fraction, 3),
    }
    passed = p.voiced_fraction >= t.min_voiced_fraction and p.duration_s >= t.min_speech_s
    return _result("speech", "present", measured, t, passed)


def _speed(label, m, reference, t) -> AttributeCheck:
    """On the articulation rate (syllables over the speech less its pauses)."""
    rate = m.prosody.articulation_rate_syllables_per_s
    measured = {"rate_syllables_per_s": round(rate, 3)}
    ref = reference.prosody.articulation_rate_syllables_per_s if reference else float("nan")
    if ref > 0:
        value = rate / ref
        measured["rate_ratio"] = round(value, 3)
        low, high = t.speed_slow_ratio, t.speed_fast_ratio
    else:
        value, low, high = rate, t.speed_slow_abs, t.speed_fast_abs
    passed = {"fast": value >= high, "slow": value <= low, "normal": low < value < high}[label]
    return _result("speed", label, measured, t, passed)


def _volume(label, m, reference, t) -> AttributeCheck:
    level = m.prosody.level_db
    base = t.reference_level_db if reference is None else reference.prosody.level_db
    delta = level - base
    measured = {
        "level_db": round(level, 2),
        "level_delta_db": round(delta, 2),
        "loudness_lufs": round(m.loudness_lufs, 2),
    }
    low, high = t.volume_low_db, t.volume_loud_db
    normal = abs(delta) <= t.volume_normal_db
    passed = {"loud": delta >= high, "low": delta <= low, "normal": normal}[label]
    return _result("volume", label, measured, t, passed)


def _gender(label, m, reference, t) -> AttributeCheck:
    own = m.prosody.f0_median_hz
    ref = reference.prosody.f0_median_hz if reference is not None else float("nan")
    f0 = ref if np.isfinite(ref) else own
    measured = {"f0_median_hz": round(f0, 1), "turn_f0_median_hz": round(own, 1)}
    if label == "female":
        passed = f0 >= t.gender_threshold_hz + t.gender_margin_hz
    else:
        passed = f0 < t.gender_threshold_hz - t.gender_margin_hz
    return _result("gender", label, measured, t, bool(np.isfinite(f0) and passed))


def _stress(turn: TurnInput, t: CheckThresholds) -> AttributeCheck:
    if turn.stress_span_s is None:
        return _result("stress", "stressed", {"span": "missing"}, t, False)
    measured = stress_prominence(
        turn.samples, turn.sample_rate, turn.stress_span_s, t.stress_level_weight
    )
    return _result("stress", "stressed", measured, t, measured["prominence"] >= t.stress_prominence)


def _nonverbal(label: str, turn: TurnInput, t: CheckThresholds) -> AttributeCheck:
    from dialogsmith.tts_backends.nonverbal import classify_nonverbal

    if turn.nonverbal_span_s is None:
        return _result("non_verbal", label, {"span": "missing"}, t, False)
    start, end = (round(s * turn.sample_rate) for s in turn.nonverbal_span_s)
    heard = classify_nonverbal(turn.samples[start:end], turn.sample_rate)
    return _result("non_verbal", label, {"classified": heard}, t, heard == label)


def _emotion(label, turn, m, reference, t, emotion) -> AttributeCheck:
    classifier = emotion or ProsodicEmotionClassifier()
    ref = None if reference is None else reference.prosody
    if isinstance(classifier, ProsodicEmotionClassifier):  # reuse the turn's measurements
        heard, scores = classifier.classify_features(m.prosody, ref)
    else:
        speech = turn.samples[round(turn.speech_start_s * turn.sample_rate) :]
        heard, scores = classifier.classify(speech, turn.sample_rate, ref, turn.text)
    passed = verify_emotion(label, scores, t.emotion_top_k, t.emotion_margin)
    return _result("emotion", label, {"classified": heard, **scores}, t, passed)
