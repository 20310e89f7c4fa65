from pathlib import Path

import pytest

from dialogsmith.config import ConfigError, JobConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_demo_config_are_valid():
    assert JobConfig().num_dialogues >= 1
    demo = load_config(ROOT / "configs" / "demo.yaml")
    assert demo.num_dialogues >= 12
    assert demo.script.engine.kind == "auto"


def test_yaml_overrides_defaults_and_dotted_overrides_win(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("seed: 5\nscene:\n  turn_taking:\n    mean_silence: 0.8\n")
    config = load_config(path, seed=9, **{"executor.kind": "ray"})
    assert config.seed == 9
    assert config.scene.turn_taking.mean_silence == 0.8
    assert config.executor.kind == "ray"
    assert config.scene.tail_s == JobConfig().scene.tail_s


@pytest.mark.parametrize(
    ("yaml_text", "field", "value_text", "allowed_text"),
    [
        ("script:\n  temperature: -1\n", "script.temperature", "-1", "greater than or equal to 0"),
        ("executor:\n  kind: slurm\n", "executor.kind", "'slurm'", "'local' or 'ray'"),
        ("plan:\n  attributes: [pitch]\n", "plan.attributes", "['pitch']", "allowed: ('gender'"),
        ("scene:\n  gap_mean: 1\n", "scene.gap_mean", "1", "Extra inputs are not permitted"),
        (
            "voice:\n  assistant_voices: ['flite:zzz']\n",
            "voice.assistant_voices",
            "['flite:zzz']",
            "flite: unknown voice 'zzz'; allowed: awb, kal16, rms, slt",
        ),
        (
            "voice:\n  user_voices: {male: ['hibari:heart']}\n",
            "voice.user_voices",
            "{'male': ['hibari:heart']}",
            "hibari:heart is female, not male",
        ),
    ],
)
def test_invalid_value_names_field_value_and_what_is_allowed(
    tmp_path, yaml_text, field, value_text, allowed_text
):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert f"{field} = {value_text}" in message
    assert allowed_text in message


def test_cross_field_rules_are_refused():
    with pytest.raises(ConfigError, match="min_turns"):
        load_config(None, **{"plan.min_turns": 8, "plan.max_turns": 4})
    with pytest.raises(ConfigError, match="emotion labels without a style"):
        load_config(None, **{"voice.style.emotion_prosody": {"neutral": [1, 0, 0, 1]}})


def test_cluster_config_puts_the_llm_on_gpus():
    from dialogsmith.stages.script import ScriptStage

    config = load_config(ROOT / "configs" / "cluster.yaml")
    assert config.executor.kind == "ray"
    resources = ScriptStage(config, "unused", engine=object()).resources
    assert resources.gpus == config.script.engine.vllm.tensor_parallel_size >= 1
    demo = load_config(ROOT / "configs" / "demo.yaml")
    assert ScriptStage(demo, "unused", engine=object()).resources.gpus == 0
