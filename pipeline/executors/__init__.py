"""Executors: the pipeline says what runs, the executor says where."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from dialogsmith.stage import ShardBatch, Stage

StageFactory = Callable[[], Stage]
ShardDone = Callable[[dict], None]


class Executor(Protocol):
    def run(
        self, factories: Sequence[StageFactory], shards: Sequence[ShardBatch], on_done: ShardDone
    ) -> None:
        """Run every shard through the stages in order; call `on_done(stats)` per finished shard."""
        ...
