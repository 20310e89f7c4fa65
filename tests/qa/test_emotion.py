"""Emotion: the prosodic classifier on real renders and on hand-set features, the rule, and a
tiny random transformers model built here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from qa_renders import SENTENCES, SR

from dialogsmith.qa.emotion import (
    EMOTIONS,
    ProsodicEmotionClassifier,
    default_profiles,
    make_emotion_classifier,
    verify_emotion,
)
from dialogsmith.qa.prosody_features import ProsodyFeatures, measure

NEUTRAL = ProsodyFeatures(
    f0_median_hz=200.0,
    f0_median_st=12 * np.log2(2.0),
    f0_spread_st=2.5,
    rate_syllables_per_s=5.0,
    level_db=-23.0,
    voiced_fraction=0.6,
    duration_s=3.0,
)


def shifted(rate: float, st: float, gain: float, spread: float) -> ProsodyFeatures:
    return replace(
        NEUTRAL,
        rate_syllables_per_s=NEUTRAL.rate_syllables_per_s * rate,
        f0_median_st=NEUTRAL.f0_median_st + st,
        level_db=NEUTRAL.level_db + gain,
        f0_spread_st=NEUTRAL.f0_spread_st * spread,
    )


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_a_turn_on_a_profile_is_classified_as_that_profile(emotion):
    classifier = ProsodicEmotionClassifier()
    label, scores = classifier.classify_features(shifted(*default_profiles()[emotion]), NEUTRAL)
    assert label == emotion
    assert set(scores) == set(EMOTIONS) and sum(scores.values()) == pytest.approx(1, abs=1e-3)
    assert scores[emotion] == max(scores.values())


def test_without_reference_only_level_and_spread_count():
    classifier = ProsodicEmotionClassifier()
    loud_lively = replace(NEUTRAL, level_db=-18.0, f0_spread_st=3.2)  # angry: +5 dB, x1.25
    label, _ = classifier.classify_features(loud_lively, None)
    assert label == "angry"
    quiet_flat = replace(NEUTRAL, level_db=-27.0, f0_spread_st=1.7)
    assert classifier.classify_features(quiet_flat, None)[0] == "sad"


@pytest.mark.parametrize("emotion", ["sad", "angry", "happy"])
def test_real_renders_against_the_speakers_neutral_turn(hibari, emotion):
    reference = measure(hibari["neutral/0"].samples, SR, SENTENCES[0])
    classifier = make_emotion_classifier("prosodic")
    audio = hibari[f"emotion={emotion}"]
    label, scores = classifier.classify(audio.samples, SR, reference, SENTENCES[1])
    assert label == emotion and verify_emotion(emotion, scores)
    _, neutral_scores = classifier.classify(
        hibari["neutral/1"].samples, SR, reference, SENTENCES[1]
    )
    assert neutral_scores[emotion] < scores[emotion]
    assert verify_emotion("neutral", neutral_scores)


def test_verify_emotion_rule():
    scores = {"neutral": 0.1, "happy": 0.5, "sad": 0.05, "angry": 0.35}
    assert verify_emotion("happy", scores) and verify_emotion("angry", scores)
    assert not verify_emotion("neutral", scores)
    assert verify_emotion("neutral", scores, top_k=3)
    assert verify_emotion("sad", scores, top_k=1, margin=0.5)
    assert not verify_emotion("sad", scores, top_k=1, margin=0.4)
    assert not verify_emotion("fearful", scores, top_k=7)  # not scored at all


def tiny_emotion_model(folder) -> None:
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
    )

    labels = ["neu", "hap", "sad", "ang", "surprise", "fear", "disgust"]  # aliases mapped
    config = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8, 8),
        conv_kernel=(10, 4, 4),
        conv_stride=(5, 4, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=8,
        id2label=dict(enumerate(labels)),
        label2id={k: i for i, k in enumerate(labels)},
    )
    torch.manual_seed(0)
    Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(folder)


def test_transformers_classifier_on_a_tiny_random_model(tmp_path, hibari):
    tiny_emotion_model(tmp_path)
    classifier = make_emotion_classifier("transformers", model=str(tmp_path))
    audio = hibari["emotion=sad"].resampled(22050)  # resampled to the extractor's rate
    label, scores = classifier.classify(audio.samples, audio.sample_rate)
    assert set(scores) == set(EMOTIONS) and label in EMOTIONS
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)
    assert classifier.classify(audio.samples, audio.sample_rate) == (label, scores)
    other = classifier.classify(hibari["neutral/0"].samples, SR)[1]
    assert other != scores  # the output depends on the audio


def test_unknown_classifier_name():
    with pytest.raises(ValueError, match="allowed: prosodic, transformers"):
        make_emotion_classifier("svm")
