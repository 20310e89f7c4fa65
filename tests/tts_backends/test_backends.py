"""Every backend renders real audio and honours speed, gain, pitch and F0 range (no mocked
models)."""

from __future__ import annotations

import numpy as np
import pytest

from dialogsmith.tts_backends import Audio, TurnStyle, VoiceSpec, make_backend, resample
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB, speech_level_db
from dialogsmith.tts_backends.prosody import f0_hz

TEXT = "The weather is lovely today."
NATIVE_SR = {"hibari": 24000, "piper": 22050, "espeak-ng": 22050, "flite": 16000}
VOICE = {"hibari": "heart", "piper": "en_US-joe-medium", "espeak-ng": "en-us+m3", "flite": "slt"}


@pytest.fixture(scope="module", params=sorted(NATIVE_SR))
def backend_and_voice(request):
    backend = make_backend(request.param)
    backend.setup()
    voice = next(v for v in backend.voices() if v.name == VOICE[request.param])
    return backend, voice


def rms_db(audio: Audio) -> float:
    return float(10 * np.log10(np.mean(audio.samples.astype(np.float64) ** 2)))


def median_f0(audio: Audio) -> float:
    import parselmouth

    sound = parselmouth.Sound(audio.samples.astype(np.float64), audio.sample_rate)
    f0 = sound.to_pitch(pitch_floor=40.0, pitch_ceiling=500.0).selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def test_renders_plausible_audio(backend_and_voice):
    backend, voice = backend_and_voice
    audio = backend.synthesize(TEXT, voice, TurnStyle())
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.sample_rate == NATIVE_SR[backend.name]
    assert np.isfinite(audio.samples).all()
    assert 1.0 < audio.duration_s < 4.5  # five words
    assert abs(speech_level_db(audio.samples, audio.sample_rate) - REFERENCE_LEVEL_DB) < 0.1


def test_same_turn_renders_same_samples(backend_and_voice):
    backend, voice = backend_and_voice
    first = backend.synthesize(TEXT, voice, TurnStyle(speed=1.1))
    backend.synthesize("Something else in between.", voice, TurnStyle())
    again = backend.synthesize(TEXT, voice, TurnStyle(speed=1.1))
    np.testing.assert_array_equal(first.samples, again.samples)


def test_speed_changes_duration(backend_and_voice):
    backend, voice = backend_and_voice
    slow = backend.synthesize(TEXT, voice, TurnStyle(speed=0.75))
    fast = backend.synthesize(TEXT, voice, TurnStyle(speed=1.4))
    assert fast.duration_s < 0.85 * slow.duration_s


@pytest.mark.parametrize("gain_db", [-6.0, 4.5])
def test_gain_changes_rms(backend_and_voice, gain_db):
    backend, voice = backend_and_voice
    base = backend.synthesize(TEXT, voice, TurnStyle())
    louder = backend.synthesize(TEXT, voice, TurnStyle(gain_db=gain_db))
    assert rms_db(louder) - rms_db(base) == pytest.approx(gain_db, abs=0.5)


def test_pitch_shift_moves_f0(backend_and_voice):
    backend, voice = backend_and_voice
    base = median_f0(backend.synthesize(TEXT, voice, TurnStyle()))
    up = median_f0(backend.synthesize(TEXT, voice, TurnStyle(pitch_shift_semitones=4.0)))
    assert 12 * np.log2(up / base) == pytest.approx(4.0, abs=1.5)


def test_f0_range_factor_scales_spread(backend_and_voice):
    backend, voice = backend_and_voice
    spread = {}
    for factor in (0.5, 1.6):
        audio = backend.synthesize(TEXT, voice, TurnStyle(f0_range_factor=factor))
        spread[factor] = float(np.std(12 * np.log2(f0_hz(audio.samples, audio.sample_rate))))
    assert spread[1.6] > 2.0 * spread[0.5], spread  # 3.2x asked; PSOLA and tracking blur it


def test_every_backend_declares_every_style_dim(backend_and_voice):
    backend, _ = backend_and_voice
    assert set(TurnStyle.__dataclass_fields__) <= backend.capabilities.honours


def test_unknown_names_list_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'festival'.*espeak-ng, flite, hibari, piper"):
        make_backend("festival")
    backend = make_backend("flite")
    with pytest.raises(ValueError, match=r"'kal'.*awb, kal16, rms, slt"):
        backend.synthesize(TEXT, VoiceSpec("flite", "kal", "male", "us"), TurnStyle())


def test_espeak_offers_accents_and_both_genders():
    voices = make_backend("espeak-ng").voices()
    assert {"us", "gb", "scotland", "caribbean"} <= {v.accent for v in voices}
    assert {v.gender for v in voices} == {"male", "female"}


def test_resample_keeps_duration():
    tone = Audio(np.sin(np.arange(24000) * 2 * np.pi * 440 / 24000).astype(np.float32), 24000)
    out = resample(tone, 16000)
    assert out.sample_rate == 16000 and len(out.samples) == 16000
    assert out.duration_s == pytest.approx(tone.duration_s)
