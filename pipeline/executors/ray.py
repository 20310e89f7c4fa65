"""Ray executor: each stage is a long-lived actor sized by its declared resources; shards stream
through the actors with a bounded number in flight. Joins a cluster with `address` /
`RAY_ADDRESS`; with neither, starts Ray on this machine."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

from dialogsmith.executors import ShardDone, StageFactory
from dialogsmith.stage import ShardBatch, Stage
from dialogsmith.stages.export import shard_stats

log = logging.getLogger(__name__)
GIB = 1024**3
SETUP_TIMEOUT_S = 1800


class StageWorker:
    """The body of a stage actor: builds and sets up its stage once, then processes shards."""

    def __init__(self, factory: StageFactory) -> None:
        self.stage: Stage = factory()
        self.stage.setup()

    def ready(self) -> str:
        return self.stage.name

    def process(self, batch: ShardBatch) -> ShardBatch:
        return self.stage.process(batch)

    def finish(self, batch: ShardBatch) -> dict:
        return shard_stats(self.stage.process(batch))


class RayExecutor:
    def __init__(self, address: str | None = None, max_in_flight: int = 2) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.max_in_flight = max_in_flight

    def run(
        self, factories: Sequence[StageFactory], shards: Sequence[ShardBatch], on_done: ShardDone
    ) -> None:
        import ray

        probes = [make() for make in factories]
        started_here = not ray.is_initialized()
        if started_here:
            self._init(ray, probes)
        try:
            _check_capacity(ray.available_resources(), probes)
            actor_class = ray.remote(StageWorker)
            actors = [
                actor_class.options(
                    num_cpus=probe.resources.cpus,
                    num_gpus=probe.resources.gpus,
                    memory=int(probe.resources.memory_gib * GIB),
                    name=None,
                ).remote(make)
                for probe, make in zip(probes, factories, strict=True)
            ]
            names = ray.get([a.ready.remote() for a in actors], timeout=SETUP_TIMEOUT_S)
            log.info("ray actors ready: %s", names)
            self._stream(ray, actors, shards, on_done)
            for actor in actors:
                ray.kill(actor)
        finally:
            if started_here:
                ray.shutdown()

    def _init(self, ray, probes: list[Stage]) -> None:
        if self.address:
            ray.init(address=self.address, log_to_driver=True)
            return
        needed = math.ceil(sum(p.resources.cpus for p in probes))
        ray.init(num_cpus=max(os.cpu_count() or 1, needed), include_dashboard=False)

    def _stream(self, ray, actors, shards: Sequence[ShardBatch], on_done: ShardDone) -> None:
        in_flight = []
        for batch in shards:
            if len(in_flight) >= self.max_in_flight:
                done, in_flight = ray.wait(in_flight, num_returns=1)
                on_done(ray.get(done[0]))
            ref = batch
            for actor in actors[:-1]:
                ref = actor.process.remote(ref)
            in_flight.append(actors[-1].finish.remote(ref))
        while in_flight:
            done, in_flight = ray.wait(in_flight, num_returns=1)
            on_done(ray.get(done[0]))


def _check_capacity(available: dict[str, float], probes: list[Stage]) -> None:
    """Every stage holds an actor for the whole job, so their requests must fit at once;
    otherwise Ray would leave the last actors pending and the job would wait forever."""
    wanted = {
        "CPU": sum(p.resources.cpus for p in probes),
        "GPU": sum(p.resources.gpus for p in probes),
        "memory": sum(p.resources.memory_gib for p in probes) * GIB,
    }
    short = {k: (v, available.get(k, 0.0)) for k, v in wanted.items() if v > available.get(k, 0.0)}
    if short:
        detail = ", ".join(
            f"{k} {v / GIB if k == 'memory' else v:.1f} wanted, "
            f"{have / GIB if k == 'memory' else have:.1f} free"
            for k, (v, have) in short.items()
        )
        asks = ", ".join(f"{p.name}: {p.resources}" for p in probes)
        raise RuntimeError(
            f"the Ray cluster cannot hold one actor per stage ({detail}; memory in GiB). "
            f"Stages ask for {asks}. Free memory (other jobs hold some), join a bigger cluster "
            "with --address, or use executor.kind: local."
        )
