"""One runner for every executor: plan the shards, skip finished ones, run, write `stats.json`."""

from __future__ import annotations

import logging
import time
from collections import Counter
from functools import partial

from tqdm.auto import tqdm

from dialogsmith.config import JobConfig
from dialogsmith.dedup import REPORT, deduplicate
from dialogsmith.executors import Executor, StageFactory
from dialogsmith.stage import ShardBatch, Stage
from dialogsmith.storage import OutputStore

log = logging.getLogger(__name__)
RESOLVED_CONFIG = "config.resolved.json"


def default_stages() -> list[type[Stage]]:
    from dialogsmith.stages.export import ExportStage
    from dialogsmith.stages.plan import PlanStage
    from dialogsmith.stages.render import RenderStage
    from dialogsmith.stages.scene import SceneStage
    from dialogsmith.stages.script import ScriptStage
    from dialogsmith.stages.verify import VerifyStage
    from dialogsmith.stages.voice import VoiceStage

    return [PlanStage, ScriptStage, VoiceStage, RenderStage, SceneStage, VerifyStage, ExportStage]


def plan_shards(config: JobConfig) -> list[ShardBatch]:
    size, total = config.shard_size, config.num_dialogues
    return [
        ShardBatch(shard=i, first_index=start, count=min(size, total - start))
        for i, start in enumerate(range(0, total, size))
    ]


def make_executor(config: JobConfig) -> Executor:
    if config.executor.kind == "ray":
        from dialogsmith.executors.ray import RayExecutor

        return RayExecutor(config.executor.address, config.executor.max_in_flight_shards)
    from dialogsmith.executors.local import LocalExecutor

    return LocalExecutor()


def run_job(
    config: JobConfig,
    output: str,
    executor: Executor | None = None,
    factories: list[StageFactory] | None = None,
    progress: bool = True,
) -> dict:
    store = OutputStore(output)
    _check_same_config(store, config)
    store.write_json(RESOLVED_CONFIG, config.model_dump(mode="json"))
    shards = plan_shards(config)
    todo = [s for s in shards if not store.is_complete(s.shard)]
    log.info("%d shards planned, %d already complete", len(shards), len(shards) - len(todo))
    started = time.perf_counter()
    if todo:
        factories = factories or [partial(cls, config, output) for cls in default_stages()]
        bar = tqdm(total=sum(s.count for s in todo), unit="dlg", disable=not progress)
        hours = 0.0

        def on_done(stats: dict) -> None:
            nonlocal hours
            hours += stats["audio_seconds"] / 3600
            bar.update(stats["planned"])
            bar.set_postfix(shard=stats["shard"], kept=stats["kept"], hours=f"{hours:.3f}")

        (executor or make_executor(config)).run(factories, todo, on_done)
        bar.close()
    threshold = config.script.near_duplicate_threshold
    if threshold and all(store.is_complete(s.shard) for s in shards):
        deduplicate(store, threshold)
    stats = aggregate_stats(store, len(shards))
    stats["run_wall_seconds"] = round(time.perf_counter() - started, 2)
    stats["shards_skipped"] = len(shards) - len(todo)
    store.write_json("stats.json", stats)
    return stats


def aggregate_stats(store: OutputStore, num_shards: int) -> dict:
    from dialogsmith.stages.voice import collisions_among

    per_shard = [store.read_json(p) for p in store.list("stats", ".json")]
    drops: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    voices: dict[str, str] = {}
    for shard in per_shard:
        voices |= shard.get("user_voices", {})
        drops.update(shard["drops"])
        seconds.update(shard["stage_seconds"])
        tokens.update(shard.get("llm_tokens", {}))
    planned = sum(s["planned"] for s in per_shard)
    dedup = store.read_json(REPORT) if store.exists(REPORT) else {}
    duplicates = dedup.get("near_duplicates", 0)
    if duplicates:
        drops["dedup/near_duplicate"] = duplicates
    return {
        "shards": num_shards,
        "shards_complete": len(per_shard),
        "planned": planned,
        "kept": sum(s["kept"] for s in per_shard) - duplicates,
        "rejected": sum(s["rejected"] for s in per_shard) + duplicates,
        "drops": dict(sorted(drops.items())),
        "script_diversity": dedup,
        "audio_hours": round(sum(s["audio_seconds"] for s in per_shard) / 3600, 4),
        "stage_seconds_total": {k: round(v, 2) for k, v in seconds.items()},
        "stage_seconds_per_dialogue": {
            k: round(v / max(planned, 1), 3) for k, v in seconds.items()
        },
        "llm_tokens": dict(sorted(tokens.items())),
        "llm_tokens_per_dialogue": {k: round(v / max(planned, 1), 1) for k, v in tokens.items()},
        "user_identities": len(voices),
        "user_voices": len(set(voices.values())),
        "voice_collisions": collisions_among(voices),
    }


def _check_same_config(store: OutputStore, config: JobConfig) -> None:
    """A rerun into an output folder must use the job that made it, or shards would mix."""
    if not store.exists(RESOLVED_CONFIG):
        return
    previous = store.read_json(RESOLVED_CONFIG)
    current = config.model_dump(mode="json")
    ignore = {"executor"}
    changed = sorted(k for k in current if k not in ignore and previous.get(k) != current[k])
    if changed:
        raise ValueError(
            f"{store.uri} holds a job with different settings ({', '.join(changed)}); "
            "use a new --out folder, or rerun with the same config to resume"
        )
