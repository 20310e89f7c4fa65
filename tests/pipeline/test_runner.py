"""The runner on the local and Ray executors, with a grammar-following stand-in for the LLM."""

import hashlib
from pathlib import Path

import pytest

from dialogsmith.executors.local import LocalExecutor
from dialogsmith.query import connect, locate, read_member
from dialogsmith.runner import run_job
from dialogsmith.stages.export import ExportStage
from support import GrammarFollowingEngine, small_config, stage_factories


def run(config, out: Path, executor=None, factories=None):
    factories = factories or stage_factories(config, str(out))
    return run_job(config, str(out), executor or LocalExecutor(), factories, progress=False)


def digests(out: Path) -> dict[str, str]:
    files = sorted(p for p in out.rglob("*") if p.is_file() and "stats" not in p.name)
    files = [p for p in files if p.parent.name != "stats"]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_job_writes_the_output_contract(tmp_path):
    config = small_config()
    stats = run(config, tmp_path)
    assert stats["planned"] == 4 and stats["kept"] + stats["rejected"] == 4
    assert {"plan", "script", "render", "scene", "verify", "export"} <= set(
        stats["stage_seconds_total"]
    )
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [
        "shard-00000.tar",
        "shard-00001.tar",
    ]
    assert sorted(p.name for p in (tmp_path / "completions").iterdir()) == ["00000", "00001"]
    con = connect(str(tmp_path))
    kept = con.execute("SELECT count(*) FROM dialogues").fetchone()[0]
    turns = con.execute("SELECT count(*) FROM turns").fetchone()[0]
    assert kept == stats["kept"] and turns == 4 * kept
    first = con.execute("SELECT dialogue_id FROM dialogues ORDER BY 1 LIMIT 1").fetchone()[0]
    found = locate(str(tmp_path), first)
    assert found["record"]["spec"]["dialogue_id"] == first
    flac = read_member(str(tmp_path), found["shard_tar"], f"{first}.user.flac")
    assert flac[:4] == b"fLaC"


def test_same_config_and_seed_give_identical_output(tmp_path):
    config = small_config()
    run(config, tmp_path / "a")
    run(config, tmp_path / "b")
    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second and any(k.endswith(".tar") for k in first)


def test_rerun_skips_completed_shards(tmp_path):
    config = small_config()
    run(config, tmp_path)
    before = digests(tmp_path)
    engine = GrammarFollowingEngine()
    stats = run(config, tmp_path, factories=stage_factories(config, str(tmp_path), engine))
    assert stats["shards_skipped"] == 2 and engine.calls == 0
    assert digests(tmp_path) == before


class CrashOnShard(ExportStage):
    def transform(self, dialogues, batch):
        if batch.shard == 1:
            raise RuntimeError("simulated crash while exporting shard 1")
        super().transform(dialogues, batch)


def test_crash_leaves_no_half_shard_and_rerun_finishes_the_job(tmp_path):
    config = small_config()
    factories = stage_factories(config, str(tmp_path))
    factories[-1] = lambda: CrashOnShard(config, str(tmp_path))
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(config, tmp_path, factories=factories)
    assert [p.name for p in (tmp_path / "completions").iterdir()] == ["00000"]
    assert [p.name for p in (tmp_path / "shards").iterdir()] == ["shard-00000.tar"]
    stats = run(config, tmp_path)
    assert stats["shards_skipped"] == 1 and stats["shards_complete"] == 2
    clean = tmp_path / "clean"
    run(config, clean)
    assert {k: v for k, v in digests(tmp_path).items() if not k.startswith("clean")} == digests(
        clean
    )


def test_rerun_with_different_settings_is_refused(tmp_path):
    run(small_config(), tmp_path)
    with pytest.raises(ValueError, match="different settings \\(seed\\)"):
        run(small_config(seed=99), tmp_path)


def test_ray_executor_gives_the_same_output_as_local(tmp_path):
    from ray import cloudpickle

    import support
    from dialogsmith.executors.ray import RayExecutor

    cloudpickle.register_pickle_by_value(support)  # Ray workers do not see tests/ on sys.path
    config = small_config()
    run(config, tmp_path / "local")
    stats = run(config, tmp_path / "ray", executor=RayExecutor(max_in_flight=2))
    assert stats["shards_complete"] == 2
    assert digests(tmp_path / "ray") == digests(tmp_path / "local")


def test_near_duplicate_scripts_are_moved_to_rejects_once(tmp_path):
    config = small_config(num_dialogues=6, shard_size=3, **{"plan.attributes": ["speed"]})
    engine = GrammarFollowingEngine(vary=False)
    stats = run(config, tmp_path, factories=stage_factories(config, str(tmp_path), engine))
    con = connect(str(tmp_path))
    dups = con.execute(
        "SELECT dialogue_id, detail FROM rejects WHERE reason = 'near_duplicate' ORDER BY 1"
    ).fetchall()
    assert dups and stats["drops"]["dedup/near_duplicate"] == len(dups)
    kept = {d for (d,) in con.execute("SELECT dialogue_id FROM dialogues").fetchall()}
    assert not kept & {d for d, _ in dups}
    for did, detail in dups:
        earlier = detail.removeprefix("near-duplicate of ")
        assert earlier in kept and earlier < did
    import tarfile

    in_tars = set()
    for tar in (tmp_path / "shards").glob("*.tar"):
        with tarfile.open(tar) as t:
            in_tars |= {m.name.split(".", 1)[0] for m in t.getmembers()}
    assert in_tars == kept
    assert stats["kept"] == len(kept) and stats["kept"] + stats["rejected"] == 6
    before = digests(tmp_path)
    again = run(config, tmp_path)
    assert again["kept"] == stats["kept"] and digests(tmp_path) == before
