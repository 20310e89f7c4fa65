"""Voice stage: user voices match gender, age, accent and language from the bank labels; the
assistant speaks the dialogue's language; what no voice speaks is rejected naming the value."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogsmith.records import Dialogue, Script, SpeakerSpec, Turn
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.voice import VoiceStage, unrealisable
from support import make_spec, small_config

BASES = [
    "hibari:heart",
    "piper:en_US-joe-medium",
    "espeak-ng:en-gb+m3",
    "espeak-ng:en-gb+f2",
    "espeak-ng:cmn-latn-pinyin+f2",
    "espeak-ng:cmn-latn-pinyin+m3",
]
ASSISTANTS = ["flite:slt", "flite:rms", "espeak-ng:cmn-latn-pinyin+f2"]


def voice_stage(**overrides) -> VoiceStage:
    settings = {"voice.user_bank_bases": BASES, "voice.user_bank_per_base": 6}
    settings |= {"voice.assistant_voices": ASSISTANTS, **overrides}
    stage = VoiceStage(small_config(**settings), "x")
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def stage() -> VoiceStage:
    return voice_stage()


def dialogue(gender="female", age=None, accent=None, language="en", speaker_id="spk-1", seed=11):
    user = SpeakerSpec(speaker_id, "user", gender, age, accent, language)
    labels = {"gender": gender, "language": language}
    labels |= {k: v for k, v in (("age", age), ("accent", accent)) if v}
    spec = make_spec(
        gender,
        seed=seed,
        language=language,
        target_attribute="gender",
        target_value=gender,
        user_labels=labels,
        speakers=[user, SpeakerSpec("a", "assistant", "female", language=language)],
    )
    turns = [Turn(0, "user", "Hello there.", dict(labels)), Turn(1, "assistant", "Hi.")]
    return Dialogue(spec=spec, script=Script(turns, "", 1))


def cast(stage: VoiceStage, d: Dialogue) -> Dialogue:
    stage.process(ShardBatch(0, 0, 1, [d]))
    return d


@pytest.mark.parametrize("gender", ["female", "male"])
@pytest.mark.parametrize("age", ["youth", "middle_aged", "elderly"])
@pytest.mark.parametrize("accent", ["us", "gb"])
def test_user_voice_matches_gender_age_and_accent(stage, gender, age, accent):
    d = cast(stage, dialogue(gender, age, accent))
    assert not d.rejected, d.rejection
    voice = d.cast.voices["user"]
    assert (voice.gender, voice.param("age"), voice.accent) == (gender, age, accent)
    assert voice.language == "en" and "~" in voice.name
    if accent == "gb":
        assert voice.backend == "espeak-ng" and voice.param("language") == "en-gb"


@pytest.mark.parametrize("gender", ["female", "male"])
def test_a_speaker_without_an_accent_label_gets_a_natural_voice(stage, gender):
    backends = {
        cast(stage, dialogue(gender, speaker_id=f"spk-{k}")).cast.voices["user"].backend
        for k in range(30)
    }
    assert backends <= {"hibari", "piper"} and backends


def test_every_cell_has_several_voices(stage):
    voices = [v for vs in stage.user_voices.values() for v in vs]
    for accent in ("us", "gb", "cmn"):
        for gender in ("female", "male"):
            for age in ("youth", "middle_aged", "elderly"):
                cell = [
                    v
                    for v in voices
                    if (v.accent, v.gender, v.param("age")) == (accent, gender, age)
                ]
                assert len(cell) >= 2, (accent, gender, age)


@pytest.mark.parametrize(("accent", "words"), [("in", "Indian"), ("au", "Australian")])
def test_unvoiced_accent_is_rejected_naming_the_value(stage, accent, words):
    d = cast(stage, dialogue("male", "youth", accent))
    assert d.rejection.reason == "not_realisable"
    assert f"accent={accent}" in d.rejection.detail and words in d.rejection.detail
    assert "gb, us" in d.rejection.detail  # what the voices do speak


def test_labels_some_voice_speaks_are_realisable():
    for labels in ({"accent": "gb"}, {"age": "elderly"}, {"language": "zh"}):
        spec = make_spec("female", user_labels={"gender": "female", **labels})
        assert unrealisable(spec) is None, labels
    spec = make_spec("female", user_labels={"gender": "female", "accent": "sg"})
    assert unrealisable(spec).startswith("accent=sg cannot be voiced")


def test_configured_voices_lacking_a_cell_name_the_field():
    us_only = voice_stage(**{"voice.user_bank_bases": BASES[:2]})
    d = cast(us_only, dialogue("female", "elderly", "gb"))
    assert d.rejection.reason == "no_voice"
    assert "female, elderly, gb, en" in d.rejection.detail
    assert "voice.user_bank_bases" in d.rejection.detail
    english_assistants = voice_stage(**{"voice.assistant_voices": ASSISTANTS[:2]})
    d = cast(english_assistants, dialogue("male", language="zh"))
    assert d.rejection.reason == "no_voice" and "language=zh" in d.rejection.detail


def test_a_speaker_keeps_one_voice_across_dialogues(stage):
    voices = {
        cast(stage, dialogue("male", "elderly", "us", seed=seed)).cast.voices["user"]
        for seed in (1, 2, 3)
    }
    assert len(voices) == 1
    spread = {
        cast(stage, dialogue("female", speaker_id=f"spk-{k}")).cast.voices["user"].name
        for k in range(20)
    }
    assert len(spread) >= 6, "identities without age and accent labels spread over the bank"


def test_mandarin_dialogue_gets_mandarin_voices_for_both_roles(stage):
    d = cast(stage, dialogue("male", "elderly", language="zh"))
    assert not d.rejected, d.rejection
    user, assistant = d.cast.voices["user"], d.cast.voices["assistant"]
    assert (user.language, user.gender, user.param("age")) == ("zh", "male", "elderly")
    assert assistant.language == "zh" and assistant.base_name == "cmn-latn-pinyin+f2"
    english = cast(stage, replace(dialogue("male"), cast=None))
    assert english.cast.voices["assistant"].language == "en"


@pytest.mark.parametrize("emotion", ["neutral", "angry", "sad", "happy", "fearful"])
def test_a_user_turn_style_stays_inside_the_rendered_bands_of_its_labels(emotion):
    """An angry turn's +5 dB and a sad turn's 0.85 x rate, plus the jitter, would make a
    "normal" volume or speed sound otherwise: the style is kept inside the label's band."""
    import numpy as np

    from dialogsmith.config import StyleConfig
    from dialogsmith.stages.voice import style_for
    from dialogsmith.taxonomy import band

    table = StyleConfig(jitter=0.1)
    rng = np.random.default_rng(0)
    for speed in ("slow", "normal", "fast"):
        for volume in ("low", "normal", "loud"):
            labels = {"emotion": emotion, "speed": speed, "volume": volume}
            for _ in range(20):
                style = style_for(Turn(0, "user", "Hi there.", labels), table, rng)
                assert band("speed", speed).contains(style.speed, "rendered"), (labels, style)
                assert band("volume", volume).contains(style.gain_db, "rendered"), (labels, style)
