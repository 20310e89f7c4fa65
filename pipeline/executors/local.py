"""In-process executor: one instance of each stage, shards one after another."""

from __future__ import annotations

from collections.abc import Sequence

from dialogsmith.executors import ShardDone, StageFactory
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.export import shard_stats


class LocalExecutor:
    def run(
        self, factories: Sequence[StageFactory], shards: Sequence[ShardBatch], on_done: ShardDone
    ) -> None:
        stages = [make() for make in factories]
        try:
            for stage in stages:
                stage.setup()
            for batch in shards:
                for stage in stages:
                    batch = stage.process(batch)
                on_done(shard_stats(batch))
        finally:
            for stage in reversed(stages):
                stage.teardown()
