import numpy as np
import pytest

from dialogsmith.audio import peak_dbfs
from dialogsmith.mixing import coloured_noise, render_timeline, speech_power
from dialogsmith.records import (
    Dialogue,
    SceneSpec,
    Script,
    Turn,
    TurnAudio,
)
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.scene import SceneStage, gaps
from support import make_spec, small_config

RATE = 16000


def tone(seconds, freq, amplitude=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dialogue(noise_kind="pink", snr=10.0, amplitude=0.3, seed=3) -> Dialogue:
    spec = make_spec(
        "male",
        seed=seed,
        target_attribute="volume",
        target_value="loud",
        num_turns=4,
        scene=SceneSpec(noise_kind=noise_kind, noise_snr_db=snr if noise_kind else None),
    )
    roles = ["user", "assistant", "user", "assistant"]
    turns = [Turn(i, r, f"turn {i}") for i, r in enumerate(roles)]
    audio = [
        TurnAudio(i, RATE, 1.0 + 0.25 * i, samples=tone(1.0 + 0.25 * i, 200 + 100 * i, amplitude))
        for i in range(4)
    ]
    return Dialogue(spec=spec, script=Script(turns, "", 1), audio=audio)


def run_scene(d: Dialogue, **overrides) -> Dialogue:
    SceneStage(small_config(**overrides), "unused").process(ShardBatch(0, 0, 1, [d]))
    return d


def test_turns_are_placed_in_order_with_positive_gaps_on_their_own_channel():
    d = run_scene(dialogue(noise_kind=None))
    speech = d.timeline.speech()
    assert [t.turn_index for t in speech] == [0, 1, 2, 3]
    assert all(g > 0 for g in gaps(d.timeline))
    for track in speech:
        start, end = int(track.offset_s * RATE), int(track.end_s * RATE)
        own, other = (
            d.channels[track.channel],
            d.channels["assistant" if track.channel == "user" else "user"],
        )
        assert np.abs(own[start:end]).max() > 0.1
        assert np.abs(other[start:end]).max() == 0.0
    assert np.array_equal(
        d.channels["mix"], d.channels["user"] + d.channels["assistant"] + d.channels["background"]
    )


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_is_added_at_the_configured_snr(kind, snr):
    d = run_scene(dialogue(noise_kind=kind, snr=snr))
    noise_power = np.mean(np.square(d.channels["background"], dtype=np.float64))
    measured = 10 * np.log10(speech_power(d.channels, d.timeline) / noise_power)
    assert abs(measured - snr) < 0.5


def test_loud_scene_is_scaled_below_the_peak_limit_and_rebuilds_identically():
    d = run_scene(dialogue(amplitude=0.99, snr=0.0))
    assert d.timeline.master_gain_db < 0
    assert peak_dbfs(d.channels["mix"]) <= -1.0 + 1e-3
    rebuilt = render_timeline(d.timeline, {a.turn_index: a.samples for a in d.audio})
    for name, samples in d.channels.items():
        assert np.array_equal(rebuilt[name], samples)


def test_scene_is_seeded():
    a, b = run_scene(dialogue(seed=1)), run_scene(dialogue(seed=1))
    c = run_scene(dialogue(seed=2))
    assert a.timeline == b.timeline and np.array_equal(a.channels["mix"], b.channels["mix"])
    assert a.timeline != c.timeline


def test_coloured_noise_spectra_tilt_as_named():
    def low_to_high(kind):
        spectrum = np.abs(np.fft.rfft(coloured_noise(kind, 32000, seed=0))) ** 2
        return spectrum[10:400].mean() / spectrum[8000:12000].mean()

    assert low_to_high("white") < 2 < low_to_high("pink") < low_to_high("brown")
    with pytest.raises(ValueError, match="allowed"):
        coloured_noise("purple", 10, 0)
