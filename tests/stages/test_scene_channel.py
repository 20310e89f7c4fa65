import numpy as np
import pytest
from scipy import signal

from dialogsmith.stages.scene_channel import (
    CODEC_FORMATS,
    ChannelSpec,
    Clipping,
    Codec,
    LowRate,
    PacketLoss,
    TelephoneBand,
    apply_channel,
    effective_bandwidth_hz,
    low_fidelity_profile,
    parse_channel,
)

RATE = 16000


@pytest.fixture
def noise() -> np.ndarray:
    """Two seconds of white noise: energy at every frequency up to 8 kHz."""
    return np.random.default_rng(0).standard_normal(2 * RATE) * 0.1


@pytest.fixture
def voiced() -> np.ndarray:
    """A speech-like test signal: a 140 Hz pulse train through three formants with
    syllable-rate amplitude modulation, and a fricative ("s": noise above 4 kHz) every 0.5 s."""
    t = np.arange(2 * RATE) / RATE
    pulses = (np.diff(np.floor(140 * t), prepend=0) > 0).astype(float)
    vowel = sum(
        signal.lfilter([1], [1, -2 * 0.97 * np.cos(2 * np.pi * f / RATE), 0.97**2], pulses)
        for f in (700, 1200, 2600)
    )
    vowel = vowel / np.std(vowel) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    hiss = signal.sosfilt(
        signal.butter(4, 4000, "highpass", fs=RATE, output="sos"),
        np.random.default_rng(1).standard_normal(len(t)),
    )
    fricative = hiss * ((t % 0.5) > 0.42) * 0.5
    return (vowel + fricative) * 0.05


def _band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    freqs, power = signal.welch(x, RATE, nperseg=1024)
    return float(power[(freqs >= lo) & (freqs <= hi)].sum())


def test_telephone_band_kills_the_energy_above_4_khz(noise):
    out = apply_channel(noise, RATE, ChannelSpec((TelephoneBand(),)), seed=0)
    assert len(out) == len(noise) and out.dtype == np.float32
    above = _band_energy(out, 4000, 8000) / _band_energy(noise, 4000, 8000)
    below = _band_energy(out, 50, 200) / _band_energy(noise, 50, 200)
    assert 10 * np.log10(above) < -30 and 10 * np.log10(below) < -15
    assert effective_bandwidth_hz(out, RATE) < 3600 < 7500 < effective_bandwidth_hz(noise, RATE)


def test_bandwidth_measure_drops_for_every_low_fidelity_profile(noise, voiced):
    clean_noise, clean_voiced = (effective_bandwidth_hz(x, RATE) for x in (noise, voiced))
    for seed in range(12):
        spec = low_fidelity_profile(seed)
        assert effective_bandwidth_hz(apply_channel(noise, RATE, spec, seed), RATE) < 4000
        degraded = effective_bandwidth_hz(apply_channel(voiced, RATE, spec, seed), RATE)
        assert degraded < 3600 < 5000 < clean_voiced, spec.name
    assert clean_noise > 7500


def test_packet_loss_zeroes_the_stated_fraction_of_frames(voiced):
    spec = ChannelSpec((PacketLoss(fraction=0.15, frame_ms=20),))
    out = apply_channel(voiced, RATE, spec, seed=3)
    frames = out[: len(out) // 320 * 320].reshape(-1, 320)
    silent = np.all(frames == 0, axis=1)
    assert silent.sum() == round(0.15 * len(frames))
    kept = ~silent
    inside = voiced.reshape(-1, 320)[kept][:, 40:-40].astype(np.float32)
    assert np.array_equal(frames[kept][:, 40:-40], inside)  # untouched away from the fades
    other = apply_channel(voiced, RATE, spec, seed=4)
    assert not np.array_equal(out, other)


def test_clipping_holds_the_stated_level_and_keeps_the_rms(voiced):
    out = apply_channel(voiced, RATE, ChannelSpec((Clipping(threshold_db=-12.0),)), 0)
    flat = np.isclose(np.abs(out), np.abs(out).max(), rtol=1e-5)
    assert flat.mean() > 0.01  # many samples sit on the ceiling
    assert np.sqrt(np.mean(out.astype(np.float64) ** 2)) == pytest.approx(
        np.sqrt(np.mean(voiced**2)), rel=1e-4
    )


@pytest.mark.parametrize("codec", sorted(CODEC_FORMATS))
def test_codecs_are_deterministic_lossy_and_add_no_delay(codec, voiced):
    spec = ChannelSpec((Codec(codec),))
    out = apply_channel(voiced, RATE, spec, seed=0)
    assert np.array_equal(out, apply_channel(voiced, RATE, spec, seed=0))
    assert len(out) == len(voiced) and not np.allclose(out, voiced, atol=1e-4)
    lag = np.argmax(signal.correlate(out, voiced, "full")) - (len(voiced) - 1)
    assert lag == 0
    assert np.corrcoef(out, voiced)[0, 1] > 0.8


def test_low_rate_band_limits_and_names_round_trip(noise):
    out = apply_channel(noise, RATE, ChannelSpec((LowRate(8000),)), seed=0)
    assert effective_bandwidth_hz(out, RATE) < 4000
    for seed in range(20):
        spec = low_fidelity_profile(seed)
        assert parse_channel(spec.name) == spec
        assert spec.labels[-1] in ("codec", "packet_loss")
    assert parse_channel("clean") == ChannelSpec() and ChannelSpec().name == "clean"
    with pytest.raises(ValueError, match="kinds"):
        parse_channel("reverb(rt60=0.3)")


def test_profiles_are_deterministic_and_varied(voiced):
    spec = low_fidelity_profile(5)
    assert spec == low_fidelity_profile(5)
    a, b = (apply_channel(voiced, RATE, spec, seed=9) for _ in range(2))
    assert np.array_equal(a, b)
    names = {low_fidelity_profile(s).name for s in range(20)}
    assert len(names) == 20
    kinds = {k for s in range(20) for k in low_fidelity_profile(s).labels}
    assert kinds == {"telephone_band", "low_rate", "codec", "clipping", "packet_loss"}
