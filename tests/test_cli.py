import json

import pytest
from click.testing import CliRunner

from dialogsmith.cli import main
from dialogsmith.executors.local import LocalExecutor
from dialogsmith.runner import run_job
from support import small_config, stage_factories


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    out = tmp_path_factory.mktemp("job")
    config = small_config(num_dialogues=2)
    run_job(config, str(out), LocalExecutor(), stage_factories(config, str(out)), progress=False)
    return out


def test_generate_refuses_a_bad_config_before_any_work(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_dialogues: 0\nscene:\n  sample_rate: fast\n")
    result = CliRunner().invoke(
        main, ["generate", "--config", str(bad), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "num_dialogues = 0" in result.output and "greater than or equal to 1" in result.output
    assert "scene.sample_rate = 'fast'" in result.output
    assert not (tmp_path / "o").exists()


def test_query_runs_sql_over_the_manifest_views(finished_job):
    result = CliRunner().invoke(
        main, ["query", "--out", str(finished_job), "SELECT count(*) AS n_turns FROM turns"]
    )
    assert result.exit_code == 0, result.output
    assert "n_turns" in result.output and "8" in result.output


def test_query_on_a_folder_without_manifests_says_what_is_wrong(tmp_path):
    result = CliRunner().invoke(main, ["query", "--out", str(tmp_path), "SELECT 1"])
    assert result.exit_code != 0 and "no dialogues manifests" in result.output


def test_inspect_shows_the_record_and_extracts_its_audio(finished_job, tmp_path):
    result = CliRunner().invoke(
        main, ["inspect", "dlg-0000001", "--out", str(finished_job), "--extract", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output[: result.output.rindex("}") + 1])
    assert found["status"] == "kept" and found["shard_tar"] == "shards/shard-00000.tar"
    assert found["record"]["spec"]["dialogue_id"] == "dlg-0000001"
    assert (tmp_path / "dlg-0000001.mix.flac").read_bytes()[:4] == b"fLaC"


def test_rebuild_renders_a_sample_again_from_its_manifest_row_byte_for_byte(finished_job):
    result = CliRunner().invoke(main, ["rebuild", "dlg-0000001", "--out", str(finished_job)])
    assert result.exit_code == 0, result.output
    identical = json.loads(result.output)["identical"]
    assert identical == {"mix": True, "user": True, "assistant": True, "background": True}


def test_inspect_unknown_id_names_it(finished_job):
    result = CliRunner().invoke(main, ["inspect", "dlg-9999999", "--out", str(finished_job)])
    assert result.exit_code != 0 and "'dlg-9999999' is in neither" in result.output


def test_log_lines_are_json(capsys):
    import logging

    from dialogsmith import logs

    logs.configure()
    logging.getLogger("dialogsmith.test").info('shard "3" done')
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["message"] == 'shard "3" done'
