"""Export: the shard's WebDataset tar, its manifests and stats, then its completion marker."""

from __future__ import annotations

import io
from collections import Counter

import soundfile as sf
import webdataset as wds

from dialogsmith import manifests
from dialogsmith.records import Dialogue
from dialogsmith.serialize import dumps
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.storage import OutputStore, shard_name

FIXED_MTIME = 946684800.0
"""Tar member mtime (2000-01-01): shards are byte-identical across reruns."""


def flac_bytes(samples, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def shard_tar(kept: list[Dialogue]) -> bytes:
    buffer = io.BytesIO()
    with wds.TarWriter(buffer, mtime=FIXED_MTIME, encoder=False) as writer:
        for d in kept:
            rate = d.timeline.sample_rate
            sample = {"__key__": d.dialogue_id, "json": dumps(d).encode()}
            for name in manifests.AUDIO_CHANNELS:
                sample[f"{name}.flac"] = flac_bytes(d.channels[name], rate)
            writer.write(sample)
    return buffer.getvalue()


def shard_stats(batch: ShardBatch) -> dict:
    kept, rejected = batch.kept, [d for d in batch.dialogues if d.rejected]
    seconds: Counter[str] = Counter()
    for d in batch.dialogues:
        seconds.update(d.stage_seconds)
    return {
        "shard": batch.shard,
        "planned": len(batch.dialogues),
        "kept": len(kept),
        "rejected": len(rejected),
        "drops": dict(Counter(f"{d.rejection.stage}/{d.rejection.reason}" for d in rejected)),
        "audio_seconds": round(sum(d.timeline.duration_s for d in kept), 3),
        "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        "llm_tokens": dict(sorted(batch.llm_tokens.items())),
        "user_voices": dict(sorted(_user_voices(kept).items())),
    }


def _user_voices(kept: list) -> dict[str, str]:
    """Identity -> the timbre it speaks with, for the job's voice-collision count."""
    from dialogsmith.stages.voice import voice_ref

    return {d.spec.speaker("user").speaker_id: voice_ref(d.cast.voices["user"]) for d in kept}


class ExportStage(Stage):
    name = "export"
    default_resources = Resources(cpus=0.5)

    def setup(self) -> None:
        self.store = OutputStore(self.output)

    def process(self, batch: ShardBatch) -> ShardBatch:
        if batch.dialogues and not batch.kept:  # the base class skips a shard with none kept
            self.transform([], batch)  # but its rejects (and an empty tar) must be written
        batch = super().process(batch)
        # Stats include this stage's own time, so they are written after it.
        name = shard_name(batch.shard)
        self.store.write_json(f"stats/{name}.json", shard_stats(batch))
        self.store.mark_complete(batch.shard)
        return batch

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        name = shard_name(batch.shard)
        rejected = [d for d in batch.dialogues if d.rejected]
        self.store.write_atomic(f"shards/shard-{name}.tar", shard_tar(dialogues))
        tables = {
            "dialogues": (
                [manifests.dialogue_row(d, batch.shard) for d in dialogues],
                manifests.DIALOGUES,
            ),
            "turns": (
                [r for d in dialogues for r in manifests.turn_rows(d, batch.shard)],
                manifests.TURNS,
            ),
            "rejects": (
                [manifests.reject_row(d, batch.shard) for d in rejected],
                manifests.REJECTS,
            ),
        }
        for table, (rows, schema) in tables.items():
            self.store.write_atomic(
                f"manifests/{table}/shard-{name}.parquet", manifests.to_parquet(rows, schema)
            )
