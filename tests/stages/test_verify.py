"""The verify stage on real renders: each check passes faithful audio and catches a label,
timeline or background that the audio does not carry; the policy decides what a failure does."""

import copy
from dataclasses import replace

import pytest

from dialogsmith.records import Dialogue, SceneSpec, Script, Turn
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.render import RenderStage
from dialogsmith.stages.scene import SceneStage
from dialogsmith.stages.verify import VerifyStage
from dialogsmith.stages.voice import VoiceStage
from support import make_spec, small_config

TEXTS = [
    "I would like to book a table for two people tonight at the seaside restaurant.",
    "Of course, what time would you like to come in this evening?",
    "I would like to book a table for two people tomorrow at the harbour restaurant.",
    "Eight o'clock it is, I have reserved a table by the window for you.",
]
NEUTRAL = {"emotion": "neutral", "speed": "normal", "volume": "normal"}


def dialogue(attribute: str, value: str, noise: str | None = None) -> Dialogue:
    gender = value if attribute == "gender" else "female"
    spec = make_spec(
        gender,
        target_attribute=attribute,
        target_value=value,
        num_turns=4,
        user_labels={"gender": gender, attribute: value},
        scene=SceneSpec(noise, 15.0 if noise else None),
    )
    turns = []
    for i, text in enumerate(TEXTS):
        role = "user" if i % 2 == 0 else "assistant"
        labels = {"gender": gender, **NEUTRAL} if role == "user" else {}
        if i == 0:
            labels[attribute] = value
        turns.append(Turn(i, role, text, labels))
    return Dialogue(spec=spec, script=Script(turns, "", 1))


@pytest.fixture(scope="module")
def config():
    return small_config(**{"voice.style.jitter": 0.0, "scene.turn_taking.overlap_probability": 0.0})


@pytest.fixture(scope="module")
def producers(config):
    built = [VoiceStage(config, "x"), RenderStage(config, "x"), SceneStage(config, "x")]
    for stage in built:
        stage.setup()
    return built


@pytest.fixture(scope="module")
def verifier(config):
    stage = VerifyStage(config, "x")
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def rendered(producers):
    """Rendered once per label; tests verify deep copies."""
    cache = {}

    def get(attribute: str, value: str, noise: str | None = None) -> Dialogue:
        key = (attribute, value, noise)
        if key not in cache:
            batch = ShardBatch(0, 0, 1, [dialogue(attribute, value, noise)])
            for stage in producers:
                batch = stage.process(batch)
            cache[key] = batch.dialogues[0]
        return copy.deepcopy(cache[key])

    return get


def relabel(d: Dialogue, attribute: str, value: str) -> Dialogue:
    turns = list(d.script.turns)
    turns[0] = replace(turns[0], labels={**turns[0].labels, attribute: value})
    d.script = replace(d.script, turns=turns)
    d.spec = replace(
        d.spec, target_value=value, user_labels={**d.spec.user_labels, attribute: value}
    )
    return d


def verifier_with_policy(config, **actions: str) -> VerifyStage:
    """A set-up verifier whose policy differs from `config`'s in `actions`."""
    policy = {**config.verify.policy, **actions}
    verify = config.verify.model_copy(update={"policy": policy})
    stage = VerifyStage(config.model_copy(update={"verify": verify}), "x")
    stage.setup()
    return stage


def verified(stage: VerifyStage, d: Dialogue) -> Dialogue:
    stage.process(ShardBatch(0, 0, 1, [d]))
    return d


def target_check(d: Dialogue):
    return next(
        c for c in d.verification.turns[0].attributes if c.attribute == d.spec.target_attribute
    )


@pytest.mark.parametrize(
    ("attribute", "rendered_as", "labelled_as"),
    [
        ("speed", "slow", "fast"),
        ("speed", "fast", "slow"),
        ("volume", "normal", "loud"),
        ("volume", "low", "normal"),
    ],
)
def test_a_label_the_audio_does_not_carry_rejects_the_dialogue(
    rendered, verifier, attribute, rendered_as, labelled_as
):
    faithful = verified(verifier, rendered(attribute, rendered_as))
    assert target_check(faithful).passed, target_check(faithful)
    assert faithful.verification.verdict != "rejected", faithful.verification.findings
    wrong = verified(verifier, relabel(rendered(attribute, rendered_as), attribute, labelled_as))
    assert not target_check(wrong).passed
    assert wrong.rejection.reason == "label_not_in_audio"
    assert f"target_attribute:{attribute}" in [f.check for f in wrong.verification.findings]


def test_low_fidelity_is_measured_on_the_channel_the_scene_degraded(rendered, verifier):
    low = verified(verifier, rendered("fidelity", "low"))
    assert target_check(low).passed, target_check(low)
    wrong = verified(verifier, relabel(rendered("fidelity", "normal"), "fidelity", "low"))
    assert not target_check(wrong).passed and wrong.rejected


def test_policy_keeps_flags_or_rejects_a_mixed_batch(config, rendered, verifier):
    clean = rendered("speed", "fast")
    wrong_gender = rendered("speed", "fast")
    turns = list(wrong_gender.script.turns)
    turns[0] = replace(turns[0], labels={**turns[0].labels, "gender": "male"})
    wrong_gender.script = replace(wrong_gender.script, turns=turns)
    wrong_text = rendered("speed", "fast")
    turns = list(wrong_text.script.turns)
    turns[1] = replace(turns[1], text="The train to Glasgow leaves from platform nine.")
    wrong_text.script = replace(wrong_text.script, turns=turns)
    batch = ShardBatch(0, 0, 3, [clean, wrong_gender, wrong_text])
    verifier.process(batch)
    verdicts = [d.verification.verdict for d in batch.dialogues]
    assert verdicts == ["kept", "flagged", "rejected"], [
        d.verification.findings for d in batch.dialogues
    ]
    assert [f.check for f in wrong_gender.verification.findings] == ["attribute:gender"]
    assert wrong_text.rejection.reason == "wer_above_threshold"
    assert not clean.rejected and not wrong_gender.rejected


def test_policy_can_turn_a_rejection_into_a_flag(config, rendered):
    relaxed = verifier_with_policy(config, target_attribute="flag")
    d = verified(relaxed, relabel(rendered("speed", "slow"), "speed", "fast"))
    assert not d.rejected and d.verification.verdict == "flagged"


def test_a_background_louder_than_labelled_is_caught(rendered, verifier):
    d = rendered("speed", "normal", noise="pink")
    assert verified(verifier, copy.deepcopy(d)).verification.findings == []
    tracks = [
        replace(t, snr_db=t.snr_db + 6) if t.kind == "noise" else t for t in d.timeline.tracks
    ]
    d.timeline = replace(d.timeline, tracks=tracks)
    d = verified(verifier, d)
    assert [f.check for f in d.verification.findings] == ["background:noise"]
    assert d.rejection.reason == "background_mismatch"


def test_a_timeline_that_does_not_match_the_channels_is_flagged(rendered, verifier):
    d = rendered("speed", "normal")
    tracks = [
        replace(t, offset_s=t.offset_s + 2.0) if t.kind == "speech" and t.turn_index == 2 else t
        for t in d.timeline.tracks
    ]
    d.timeline = replace(d.timeline, tracks=tracks, duration_s=d.timeline.duration_s + 2.0)
    d = verified(verifier, d)
    assert "timeline:user" in [f.check for f in d.verification.findings]
    assert d.verification.timeline["user_precision"] < 0.8


def test_a_turn_in_another_voice_breaks_speaker_consistency(rendered, verifier):
    d = rendered("speed", "normal")
    assert "speaker" not in [
        f.check for f in verified(verifier, copy.deepcopy(d)).verification.findings
    ]
    d.audio[2] = replace(d.audio[2], samples=d.audio[3].samples)  # the assistant's voice
    d = verified(verifier, d)
    assert "speaker" in [f.check for f in d.verification.findings]
    assert d.verification.speaker["ratio"] > 0.75


def test_vad_hears_two_speakers_at_once_exactly_where_the_timeline_overlaps(config):
    from dialogsmith.qa.vad import make_vad, overlap_regions, timeline_agreement

    overlapping = small_config(
        **{"voice.style.jitter": 0.0, "scene.turn_taking.overlap_probability": 1.0}
    )
    stages = [cls(overlapping, "x") for cls in (VoiceStage, RenderStage, SceneStage)]
    batch = ShardBatch(0, 0, 1, [dialogue("speed", "normal")])
    for stage in stages:
        stage.setup()
        batch = stage.process(batch)
    d = batch.dialogues[0]
    assert all(g < 0 for g in d.timeline.transitions())
    vad = make_vad("silero")
    heard = {r: vad.speech_regions(d.channels[r], 16000) for r in ("user", "assistant")}
    spans = {
        r: [(t.offset_s, t.end_s) for t in d.timeline.speech() if t.channel == r] for r in heard
    }
    expected = overlap_regions(spans["user"], spans["assistant"])
    detected = overlap_regions(heard["user"], heard["assistant"])
    agreement = timeline_agreement(expected, detected, d.timeline.duration_s, collar_s=0.1)
    assert sum(e - s for s, e in expected) > 0.5
    assert agreement.recall > 0.8 and agreement.precision > 0.8, agreement


def test_a_turn_alone_in_the_mix_is_transcribed_once_and_the_shortcut_hears_the_same(
    rendered, verifier
):
    from dialogsmith.qa.asr import Audio, transcribe_all
    from dialogsmith.qa.wer import word_error_rate
    from dialogsmith.stages.verify import mix_holds_turn_alone

    quiet = verified(verifier, rendered("emotion", "neutral"))
    assert all(mix_holds_turn_alone(quiet, t.index) for t in quiet.script.turns)
    rate = quiet.timeline.sample_rate
    pieces = []
    for turn in quiet.script.turns:
        track = next(t for t in quiet.timeline.speech() if t.turn_index == turn.index)
        pieces.append(
            Audio(
                quiet.channels["mix"][round(track.offset_s * rate) : round(track.end_s * rate)],
                rate,
            )
        )
    from_mix = transcribe_all(verifier.asr, pieces)
    for heard, check in zip(from_mix, quiet.verification.turns, strict=True):
        assert word_error_rate(heard.text, check.mix_hypothesis) == 0.0
    noisy = verified(verifier, rendered("emotion", "neutral", noise="pink"))
    assert not any(mix_holds_turn_alone(noisy, t.index) for t in noisy.script.turns)


def test_an_overlap_the_channels_do_not_hold_rejects_the_dialogue(rendered, verifier):
    """The timeline says turn 1 starts 1 s before turn 0 ends, but the assistant's channel
    keeps its audio where it was: both speakers are heard at once for no time at all."""
    d = rendered("speed", "normal")
    assert verified(verifier, copy.deepcopy(d)).rejection is None
    shift = d.timeline.transitions()[0] + 1.0
    tracks = [
        replace(t, offset_s=t.offset_s - shift) if t.kind == "speech" and t.turn_index == 1 else t
        for t in d.timeline.tracks
    ]
    d.timeline = replace(d.timeline, tracks=tracks)
    d = verified(verifier, d)
    timeline = d.verification.timeline
    assert timeline["overlap_expected_s"] >= 0.9 and timeline["overlap_detected_s"] < 0.2
    assert timeline["overlaps_expected"] == 1 and timeline["overlaps_heard"] == 0
    assert d.rejection.reason == "overlap_not_heard"


def test_a_normal_label_on_a_turn_that_sounds_loud_gets_the_label_it_sounds_like(
    config, rendered, verifier
):
    """Every label of every user turn is verified: turn 2 (not the attribute turn, whose
    target is speed) was rendered 8 dB up but says volume=normal. By default it is relabelled
    loud, the value whose band holds +8 dB; with `policy.attribute: reject` it is rejected."""
    d = rendered("speed", "normal")
    d.audio[2] = replace(d.audio[2], samples=d.audio[2].samples * 10 ** (8 / 20))
    SceneStage(verifier.config, "x").process(ShardBatch(0, 0, 1, [d]))
    strict = verifier_with_policy(config, attribute="reject")
    rejected = verified(strict, copy.deepcopy(d))
    assert rejected.rejection.reason == "label_not_in_audio"
    assert "volume=normal" in rejected.rejection.detail
    d = verified(verifier, d)
    assert d.script.turns[2].labels["volume"] == "loud"
    volume = next(c for c in d.verification.turns[2].attributes if c.attribute == "volume")
    assert volume.label == "loud" and volume.passed
    relabels = [(f.check, f.turn_index) for f in d.verification.findings if f.action == "relabel"]
    assert ("attribute:volume", 2) in relabels
    assert d.verification.verdict != "rejected"
