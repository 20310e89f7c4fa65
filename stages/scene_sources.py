"""The scene's sources by name: what a track's `source`, `effect` and the timeline's `room`
refer to, so the mixer can rebuild any track from the stored timeline alone.

`source` is `kind:key`: `event:<id or label>` (scene_events), `music:<label>` (scene_music),
`babble:<talkers>` (scene_babble); `noise:<colour>` and rendered clips are handled by the mixer.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dialogsmith.config import RoomConfig
from dialogsmith.records import Room
from dialogsmith.serialize import dumps, loads


def background_source(
    kind: str, key: str, duration_s: float, rate: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-level samples of a generated background source and where it is active."""
    if kind == "event":
        from dialogsmith.stages.scene_events import render_event

        event = render_event(key, duration_s, rate, seed)
        return event.samples, event.active_mask()
    if kind == "music":
        from dialogsmith.stages.scene_music import render_music

        music = render_music(key, duration_s, rate, seed)
        return music.samples, music.active_mask()
    if kind == "babble":
        from dialogsmith.stages.scene_babble import render_babble

        samples = render_babble(duration_s, rate, seed, talkers=int(key or 6))
        return samples, np.ones(len(samples), dtype=bool)
    raise ValueError(f"unknown background source {kind!r}; allowed: event, music, babble, noise")


def caption_for(source: str, duration_s: float, rate: int, seed: int) -> str:
    kind, _, key = source.partition(":")
    if kind == "noise":
        return f"steady {key} noise"
    if kind == "babble":
        return "several people talking at once in the background"
    if kind == "event":
        from dialogsmith.stages.scene_events import render_event

        return render_event(key, duration_s, rate, seed).caption
    if kind == "music":
        from dialogsmith.stages.scene_music import music_caption

        return music_caption(key)
    raise ValueError(f"no caption for source {source!r}")


def low_fidelity_effect(seed: int) -> str:
    """The degradation chain a `fidelity=low` turn gets, as a stored effect name."""
    from dialogsmith.stages.scene_channel import low_fidelity_profile

    return low_fidelity_profile(seed).name


def apply_effect(samples: np.ndarray, rate: int, effect: str, seed: int) -> np.ndarray:
    from dialogsmith.stages.scene_channel import apply_channel, parse_channel

    return apply_channel(samples, rate, parse_channel(effect), seed).astype(np.float32)


def sample_room(config: RoomConfig, seed: int) -> Room:
    """A shoebox room from the configured ranges with the user and the assistant in it."""
    from dialogsmith.stages.scene_room import RoomRanges, sample_room_spec

    ranges = RoomRanges(dimensions_m=config.dimensions_m, rt60_s=config.rt60_s)
    spec = sample_room_spec(seed, ranges, speakers=("user", "assistant"))
    return Room(spec.dimensions_m, spec.rt60_s, spec.positions_m, spec.microphones_m, seed=seed)


class RoomAcoustics:
    """Convolves a track with the impulse response from its speaker to their microphone."""

    def __init__(self, room: Room, rate: int) -> None:
        self.room = room
        self.rate = rate

    def reverberate(self, samples: np.ndarray, position: str) -> np.ndarray:
        from dialogsmith.stages.scene_room import reverberate

        rir = _rir(dumps(self.room), position, self.rate)
        return reverberate(samples, rir).astype(np.float32)


@lru_cache(maxsize=32)
def _rir(room_json: str, position: str, rate: int) -> np.ndarray:
    from dialogsmith.stages.scene_room import room_impulse_response

    return room_impulse_response(loads(Room, room_json), position, rate)
