"""The stage base class: declared resources, `setup()` once per worker, `process(batch)`."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from dialogsmith.config import JobConfig
from dialogsmith.engines.base import EngineStats
from dialogsmith.records import Dialogue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0
    gpus: float = 0.0
    memory_gib: float = 0.5


@dataclass
class ShardBatch:
    """The unit of work: a fixed range of dialogue indices and their records."""

    shard: int
    first_index: int
    count: int
    dialogues: list[Dialogue] = field(default_factory=list)
    llm_tokens: dict[str, int] = field(default_factory=dict)

    @property
    def kept(self) -> list[Dialogue]:
        return [d for d in self.dialogues if not d.rejected]

    def count_llm_tokens(self, before: EngineStats, after: EngineStats) -> None:
        """Add what an engine did between two readings of its counters."""
        for name in ("requests", "prompt_tokens", "prompt_tokens_computed", "generated_tokens"):
            done = getattr(after, name) - getattr(before, name)
            self.llm_tokens[name] = self.llm_tokens.get(name, 0) + done


class MissingFieldError(RuntimeError):
    """A stage got a record without a field an earlier stage should have filled."""


class Stage(ABC):
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    default_resources: ClassVar[Resources] = Resources()

    def __init__(self, config: JobConfig, output: str) -> None:
        self.config = config
        self.output = output

    @property
    def resources(self) -> Resources:
        """What one worker of this stage needs; the Ray executor sizes its actors by it."""
        return self.default_resources

    def setup(self) -> None:
        """Load models once per worker; heavy imports belong here."""

    def teardown(self) -> None:
        """Release what `setup()` loaded."""

    def process(self, batch: ShardBatch) -> ShardBatch:
        active = [d for d in batch.dialogues if not d.rejected]
        for dialogue in active:
            self._check_fields(dialogue)
        start = time.perf_counter()
        if active or not batch.dialogues:
            self.transform(active, batch)
        elapsed = time.perf_counter() - start
        timed = active or batch.dialogues  # a stage that creates the records times them all
        for dialogue in timed:
            dialogue.stage_seconds[self.name] = elapsed / len(timed)
        log.debug("stage %s shard %d: %.2f s", self.name, batch.shard, elapsed)
        return batch

    @abstractmethod
    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        """Fill in this stage's fields of the kept dialogues, or reject them with a reason."""

    def _check_fields(self, dialogue: Dialogue) -> None:
        missing = [f for f in self.requires if getattr(dialogue, f) is None]
        if missing:
            raise MissingFieldError(
                f"stage {self.name!r} needs {missing} on {dialogue.dialogue_id}; "
                "run the stages that fill them first"
            )
