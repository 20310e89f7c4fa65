"""Scene: place the turns on a timeline with gaps, add background noise, render the channels."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from dialogsmith.audio import peak_dbfs
from dialogsmith.mixing import render_timeline
from dialogsmith.records import Dialogue, Timeline, Track
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage


class SceneStage(Stage):
    name = "scene"
    requires = ("script", "audio")
    default_resources = Resources(cpus=0.5)

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            timeline = self.build_timeline(dialogue)
            turns = {a.turn_index: a.samples for a in dialogue.audio}
            channels = render_timeline(timeline, turns)
            headroom = self.config.scene.peak_dbfs - peak_dbfs(channels["mix"])
            if headroom < 0:
                timeline = replace(timeline, master_gain_db=round(headroom, 3))
                channels = render_timeline(timeline, turns)
            dialogue.timeline = timeline
            dialogue.channels = channels

    def build_timeline(self, dialogue: Dialogue) -> Timeline:
        cfg = self.config.scene
        rng = stage_rng(dialogue.spec.seed, self.name)
        tracks: list[Track] = []
        cursor = cfg.lead_in_s
        for turn, audio in zip(dialogue.script.turns, dialogue.audio, strict=True):
            tracks.append(
                Track(
                    kind="speech",
                    channel=turn.role,
                    label=turn.role,
                    offset_s=round(cursor, 4),
                    duration_s=audio.duration_s,
                    turn_index=turn.index,
                )
            )
            marks = [("nonverbal", audio.nonverbal, audio.nonverbal_span_s)]
            marks.append(("stress", dialogue.script.stressed_word, audio.stress_span_s))
            for kind, label, span in marks:
                if span is not None:
                    tracks.append(
                        Track(
                            kind=kind,
                            channel=turn.role,
                            label=label,
                            offset_s=round(cursor + span[0], 4),
                            duration_s=round(span[1] - span[0], 4),
                            turn_index=turn.index,
                        )
                    )
            gap = rng.gamma(cfg.gap_shape, cfg.gap_mean_s / cfg.gap_shape)
            cursor += audio.duration_s + float(gap)
        end = max(t.end_s for t in tracks) + cfg.tail_s
        scene = dialogue.spec.scene
        if scene.noise_kind is not None:
            tracks.append(
                Track(
                    kind="noise",
                    channel="background",
                    label=scene.noise_kind,
                    offset_s=0.0,
                    duration_s=round(end, 4),
                    snr_db=scene.noise_snr_db,
                    seed=derive_seed(dialogue.spec.seed, self.name, "noise"),
                )
            )
        return Timeline(sample_rate=cfg.sample_rate, duration_s=round(end, 4), tracks=tracks)


def gaps(timeline: Timeline) -> list[float]:
    speech = sorted(timeline.speech(), key=lambda t: t.offset_s)
    return [float(b.offset_s - a.end_s) for a, b in pairwise(speech)]
