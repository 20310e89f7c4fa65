"""Rebuild an exported sample from its manifest row alone and compare it with the shard.

The record in the row holds the voices, styles and the timeline; rendering the turns and clips
again and mixing them by the timeline must give the exported FLAC members byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dialogsmith.config import JobConfig
from dialogsmith.manifests import AUDIO_CHANNELS
from dialogsmith.mixing import render_timeline
from dialogsmith.records import Dialogue
from dialogsmith.runner import RESOLVED_CONFIG
from dialogsmith.serialize import from_jsonable
from dialogsmith.storage import OutputStore


@dataclass(frozen=True)
class Rebuilt:
    dialogue_id: str
    channels: dict[str, np.ndarray]
    identical: dict[str, bool]

    @property
    def all_identical(self) -> bool:
        return all(self.identical.values())


def rebuild_sample(output: str, dialogue_id: str) -> Rebuilt:
    from dialogsmith.query import locate, read_member
    from dialogsmith.stages.export import flac_bytes
    from dialogsmith.stages.render import RenderStage

    found = locate(output, dialogue_id)
    if found["status"] != "kept":
        raise KeyError(f"{dialogue_id!r} was rejected ({found['rejection']['reason']}): no audio")
    config = JobConfig.model_validate(OutputStore(output).read_json(RESOLVED_CONFIG))
    dialogue = from_jsonable(Dialogue, found["record"])
    render = RenderStage(config, output)
    render.setup()
    turns = {i: render.render_turn(dialogue, i).samples for i in range(len(dialogue.script.turns))}
    clips = {c.clip_id: c.samples for c in render.render_clips(dialogue)}
    channels = render_timeline(dialogue.timeline, turns, clips)
    rate = dialogue.timeline.sample_rate
    identical = {}
    for name in AUDIO_CHANNELS:
        stored = read_member(output, found["shard_tar"], f"{dialogue_id}.{name}.flac")
        identical[name] = flac_bytes(channels[name], rate) == stored
    return Rebuilt(dialogue_id, channels, identical)
