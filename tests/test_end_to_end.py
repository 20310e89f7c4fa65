"""The whole job on the real embedded models: vLLM (CPU) scripts, neural and flite voices,
faster-whisper verification, on both executors. Slow: loads the LLM once per executor."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialogsmith.cli import main
from dialogsmith.config import load_config
from dialogsmith.query import connect
from dialogsmith.runner import run_job

pytestmark = pytest.mark.slow


def job(**overrides):
    return load_config("configs/demo.yaml", **{"num_dialogues": 4, "shard_size": 2, **overrides})


def test_local_job_on_the_embedded_models(tmp_path):
    out = tmp_path / "local"
    result = CliRunner().invoke(
        main,
        [
            "generate",
            "--config",
            "configs/demo.yaml",
            "--out",
            str(out),
            "--num-dialogues",
            "4",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    expected_shards = -(-4 // load_config("configs/demo.yaml").shard_size)
    assert stats["planned"] == 4 and stats["shards_complete"] == expected_shards
    con = connect(str(out))
    kept = con.execute("SELECT count(*) FROM dialogues").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    assert kept + rejected == 4 and kept >= 2
    replies = con.execute(
        "SELECT t.text, d.target_attribute FROM turns t JOIN dialogues d USING (dialogue_id) "
        "WHERE t.reacts_to IS NOT NULL"
    ).fetchall()
    assert len(replies) == kept and all(text.strip() for text, _ in replies)
    assert con.execute("SELECT max(wer) FROM turns WHERE role = 'assistant'").fetchone()[0] <= 0.25
    texts = [t for (t,) in con.execute("SELECT text FROM turns").fetchall()]
    assert len(set(texts)) > len(texts) // 2, "the LLM repeated itself across dialogues"


def test_ray_job_on_the_embedded_models(tmp_path):
    stats = run_job(job(**{"executor.kind": "ray"}), str(tmp_path / "ray"), progress=False)
    assert stats["planned"] == 4 and stats["shards_complete"] == 2
    assert stats["kept"] >= 2


def _marked(mark: str, root: int | None = None) -> list:
    """The driver's descendants and processes started with the mark in their environment.
    setproctitle (Ray's and vLLM's workers) overwrites the environment block, and some
    sandboxes refuse to read /proc/PID/environ, so the process tree counts on its own."""
    import contextlib

    import psutil

    found = {}

    def add_tree(p) -> None:
        for q in [p, *p.children(recursive=True)]:
            try:
                found[(q.pid, q.create_time())] = q
            except psutil.Error:
                continue

    if root is not None:
        with contextlib.suppress(psutil.Error):
            add_tree(psutil.Process(root))
    for p in psutil.process_iter():
        try:
            if p.environ().get("DIALOGSMITH_TEST_MARK") == mark:
                add_tree(p)
        except psutil.Error:
            continue
    return [p for p in found.values() if _alive(p) and p.pid != root]


def _cmdline(process) -> list[str]:
    """The process name (vLLM renames its engine core "VLLM::EngineCore" there, not in the
    command line) and its command line."""
    import psutil

    try:
        return [process.name(), *process.cmdline()]
    except psutil.Error:
        return []


def _alive(process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_killing_the_driver_during_the_script_stage_leaves_no_process(tmp_path):
    """kill -9 of `dialogsmith generate` on Ray while vLLM loads in the script stage: Ray's
    raylet, GCS and workers, and vLLM's engine core and worker, are all gone 10 s later."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    import yaml

    job = yaml.safe_load(Path("configs/demo.yaml").read_text())
    job["script"]["engine"] = {"kind": "vllm"}  # the engine with worker processes
    job["executor"] = {"kind": "ray"}
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(job))
    mark = uuid.uuid4().hex
    log = tmp_path / "driver.log"
    command = [
        sys.executable,
        "-m",
        "dialogsmith.cli",
        "generate",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "out"),
        "--num-dialogues",
        "2",
        "--no-progress",
    ]
    env = dict(os.environ, DIALOGSMITH_TEST_MARK=mark)
    with log.open("w") as sink:
        driver = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 300
        started: list = []
        while not any("VLLM" in " ".join(_cmdline(p)) for p in started):
            assert driver.poll() is None, f"the job ended early: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "vLLM's workers never started"
            time.sleep(0.5)
            started = _marked(mark, root=driver.pid)
        assert len(started) >= 4, "Ray and vLLM's processes should run beside the driver"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=10)
        time.sleep(10.0)
        left = [p for p in started if _alive(p)] + _marked(mark)
        assert not left, f"alive 10 s after kill -9: {[_cmdline(p)[:3] for p in left]}"
    finally:
        driver.kill()
        for p in started + _marked(mark):
            if _alive(p):
                p.kill()


def test_llama_cpp_job_runs_and_reruns_byte_for_byte(tmp_path):
    """The engine `auto` picks on a CPU without native bf16: a real job, run twice."""
    config = job(**{"script.engine.kind": "llama_cpp", "num_dialogues": 2})
    first = run_job(config, str(tmp_path / "a"), progress=False)
    assert first["kept"] >= 1 and first["llm_tokens"]["requests"] >= 2
    assert first["llm_tokens"]["prompt_tokens_computed"] < first["llm_tokens"]["prompt_tokens"]
    run_job(config, str(tmp_path / "b"), progress=False)
    for part in ("shards/shard-00000.tar", "manifests/turns/shard-00000.parquet"):
        assert (tmp_path / "a" / part).read_bytes() == (tmp_path / "b" / part).read_bytes(), part
