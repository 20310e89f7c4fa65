import numpy as np
import pytest

from dialogsmith.records import Room
from dialogsmith.stages import scene_room
from dialogsmith.stages.scene_room import (
    RT60_TOLERANCE,
    RoomRanges,
    direct_path_index,
    measured_rt60,
    reverberate,
    room_impulse_response,
    sample_room_spec,
)

RATE = 16000


def _clear_caches() -> None:
    scene_room.design_walls.cache_clear()
    scene_room._simulate.cache_clear()


def _onset(x: np.ndarray, threshold: float) -> int:
    return int(np.argmax(np.abs(x) >= threshold))


def test_measured_rt60_follows_the_target_within_the_documented_tolerance():
    positions = {"user": (1.2, 1.0, 1.5), "assistant": (2.9, 2.4, 1.3)}
    mics = {"user": (2.0, 1.6, 1.5), "assistant": (2.2, 2.9, 1.3)}
    for rt60 in (0.25, 0.5):
        room = Room((4.2, 3.6, 2.7), rt60, positions, mics)
        for speaker in ("user", "assistant"):
            rir = room_impulse_response(room, speaker, RATE)
            assert measured_rt60(rir, RATE) == pytest.approx(rt60, rel=RT60_TOLERANCE)


def test_impulse_response_is_deterministic_without_caches():
    room = sample_room_spec(5, RoomRanges(rt60_s=(0.3, 0.3)))
    first = room_impulse_response(room, "user", RATE)
    _clear_caches()
    second = room_impulse_response(room, "user", RATE)
    assert np.array_equal(first, second)
    assert sample_room_spec(5) == sample_room_spec(5) != sample_room_spec(6)


def test_direct_path_is_compensated_so_the_onset_stays_put():
    room = sample_room_spec(2, speakers=("user",))
    rir = room_impulse_response(room, "user", RATE)
    distance = np.linalg.norm(np.subtract(room.positions_m["user"], room.microphones_m["user"]))
    assert direct_path_index(rir) > distance / 343.0 * RATE  # the raw response is delayed
    rng = np.random.default_rng(0)
    burst = np.zeros(RATE)
    onset = RATE // 2
    burst[onset : onset + 4000] = rng.standard_normal(4000) * np.hanning(4000) ** 0.1
    wet = reverberate(burst, rir)
    assert wet.dtype == np.float32 and len(wet) == len(burst)
    assert np.sqrt(np.mean(wet.astype(np.float64) ** 2)) == pytest.approx(
        np.sqrt(np.mean(burst**2)), rel=1e-4
    )
    threshold = 0.1 * np.abs(wet).max()
    assert abs(_onset(wet, threshold) - onset) <= 0.002 * RATE
    assert np.abs(wet[onset + 4000 + RATE // 20 :]).max() > 0.01  # the tail rings on


def test_unknown_speaker_names_the_positions():
    room = sample_room_spec(1, speakers=("user",))
    with pytest.raises(KeyError, match="user"):
        room_impulse_response(room, "assistant", RATE)
