"""The whole job on the real embedded models: vLLM (CPU) scripts, neural and flite voices,
faster-whisper verification, on both executors. Slow: loads the LLM once per executor."""

import json

import pytest
from click.testing import CliRunner

from dialogsmith.cli import main
from dialogsmith.config import load_config
from dialogsmith.query import connect
from dialogsmith.runner import run_job

pytestmark = pytest.mark.slow


def job(**overrides):
    return load_config("configs/demo.yaml", num_dialogues=4, shard_size=2, **overrides)


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
