import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from dialogsmith.stages.scene_events import (
    EVENT_LIBRARY,
    PROCEDURAL_LICENCE,
    library_table,
    render_event,
    resample_to,
)
from dialogsmith.taxonomy import ATTRIBUTE_VALUES

RATE = 16000
RECORDED = [e for e in EVENT_LIBRARY if e.kind == "recorded"]


def _stanza_licence(package: str, filename: str) -> str:
    """The License of the DEP-5 stanza of /usr/share/doc/<package>/copyright naming the file."""
    text = Path(f"/usr/share/doc/{package}/copyright").read_text()
    for stanza in text.split("\n\n"):
        files = re.search(r"^Files:(.*)$", stanza, re.M)
        licence = re.search(r"^License: (\S+)", stanza, re.M)
        if files and licence:
            names = files[1].split()
            if "*" in names or any(name.endswith(f"/{filename}") for name in names):
                return licence[1]
    raise AssertionError(f"{filename} has no stanza in {package}'s copyright")


@pytest.mark.parametrize("label", ATTRIBUTE_VALUES["audio_event"])
def test_every_taxonomy_event_renders_non_silent_at_the_right_length(label):
    audio = render_event(label, 3.0, RATE, seed=5)
    assert audio.samples.dtype == np.float32 and len(audio.samples) == 3 * RATE
    assert audio.label == label and audio.caption
    mask = audio.active_mask()
    assert mask.any()
    rms = np.sqrt(np.mean(audio.samples[mask].astype(np.float64) ** 2))
    assert rms == pytest.approx(1.0, rel=1e-3)
    # silent outside the active intervals, present inside every one of them
    assert np.abs(audio.samples[~mask]).max(initial=0) < 1e-6
    for start, end in audio.active_intervals:
        piece = audio.samples[round(start * RATE) : round(end * RATE)]
        assert np.sqrt(np.mean(piece.astype(np.float64) ** 2)) > 0.1


@pytest.mark.parametrize("entry", EVENT_LIBRARY, ids=lambda e: e.id)
def test_each_entry_is_deterministic_and_seed_dependent(entry):
    rate = max(RATE, entry.min_rate_hz)
    a, b = (render_event(entry.id, 4.0, rate, seed=11) for _ in range(2))
    assert np.array_equal(a.samples, b.samples) and a.active_intervals == b.active_intervals
    other = render_event(entry.id, 4.0, rate, seed=12)
    assert not np.array_equal(a.samples, other.samples)


def test_stationary_sounds_fill_the_duration_and_discrete_ones_sit_inside():
    rain = render_event("rain", 2.0, RATE, seed=1)
    assert rain.active_intervals == ((0.0, 2.0),)
    offsets = {render_event("dog_bark", 6.0, RATE, seed=s).active_intervals[0][0] for s in range(6)}
    assert len(offsets) > 3 and all(0 <= o < 6.0 for o in offsets)
    knock = render_event("door_knock", 6.0, RATE, seed=3)
    assert 2 <= len(knock.active_intervals) <= 4 and knock.active_mask().mean() < 0.3


def test_licence_recorded_for_each_entry_as_its_package_states_it():
    table = library_table()
    assert [row["id"] for row in table] == [e.id for e in EVENT_LIBRARY]
    for entry in EVENT_LIBRARY:
        if entry.kind == "procedural":
            assert entry.licence == PROCEDURAL_LICENCE and entry.path is None
        else:
            filename = Path(entry.path).name
            assert _stanza_licence(entry.package, filename) == entry.licence, entry.id


@pytest.mark.parametrize("entry", RECORDED, ids=lambda e: e.id)
def test_recorded_entries_play_the_debian_file(entry):
    listed = Path(f"/var/lib/dpkg/info/{entry.package}.list").read_text().split()
    assert entry.path in listed
    rate = max(RATE, entry.min_rate_hz)
    audio = render_event(entry.id, 8.0, rate, seed=2)
    data, file_rate = sf.read(entry.path, dtype="float64", always_2d=True)
    clip = resample_to(data.mean(axis=1), file_rate, rate)
    start, end = audio.active_intervals[0]
    played = audio.samples[round(start * rate) : round(end * rate)].astype(np.float64)
    # the played unit is a contiguous piece of the file, scaled: correlation ~1 at some lag
    assert len(clip) >= len(played)
    best = int(np.argmax(signal.correlate(clip, played, mode="valid", method="fft")))
    window = clip[best : best + len(played)]
    similarity = np.dot(window, played) / (np.linalg.norm(window) * np.linalg.norm(played))
    assert similarity > 0.999


def test_a_label_picks_only_entries_that_survive_the_rate():
    # the alarm clock beeps at 8.2 kHz: at 16 kHz only the procedural beeper can realise "alarm"
    picked = {render_event("alarm", 1.0, RATE, seed=s).event_id for s in range(8)}
    assert picked == {"alarm_beeper"}
    picked = {render_event("alarm", 1.0, 48000, seed=s).event_id for s in range(12)}
    assert picked == {"alarm_beeper", "alarm_clock"}
    with pytest.raises(ValueError, match="22050"):
        render_event("alarm_clock", 1.0, RATE, seed=0)
    with pytest.raises(ValueError, match="allowed"):
        render_event("thunder", 1.0, RATE, seed=0)


def test_procedural_sounds_have_their_designed_spectra():
    def centroid(label: str) -> float:
        x = render_event(label, 4.0, RATE, seed=4).samples.astype(np.float64)
        power = np.abs(np.fft.rfft(x)) ** 2
        return float((power * np.fft.rfftfreq(len(x), 1 / RATE)).sum() / power.sum())

    assert centroid("wind") < 700 < centroid("dog_bark")
    assert centroid("traffic") < centroid("rain")
    bark = render_event("dog_bark", 4.0, RATE, seed=4)
    start, end = bark.active_intervals[0]
    piece = bark.samples[round(start * RATE) : round(end * RATE)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(piece, 8 * RATE))
    f0 = np.argmax(spectrum[8 * 300 : 8 * 700]) / 8 + 300  # strongest partial in 300-700 Hz
    assert 300 < f0 < 650
