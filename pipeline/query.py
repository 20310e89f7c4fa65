"""DuckDB over an output folder's manifests: views `dialogues`, `turns`, `rejects`."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import duckdb

from dialogsmith.manifests import AUDIO_CHANNELS
from dialogsmith.storage import OutputStore, shard_name

TABLES = ("dialogues", "turns", "rejects")


def connect(output: str) -> duckdb.DuckDBPyConnection:
    root = Path(output)
    con = duckdb.connect()
    for table in TABLES:
        files = sorted((root / "manifests" / table).glob("*.parquet"))
        if not files:
            raise FileNotFoundError(
                f"no {table} manifests under {root / 'manifests' / table}; "
                "is this the --out folder of a finished `dialogsmith generate`?"
            )
        paths = ", ".join(f"'{p.as_posix()}'" for p in files)
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{paths}])")
    return con


def locate(output: str, dialogue_id: str) -> dict:
    """The record of a dialogue (kept or rejected) and where its audio is."""
    con = connect(output)
    kept = con.execute(
        "SELECT shard, key, record_json FROM dialogues WHERE dialogue_id = ?", [dialogue_id]
    ).fetchone()
    if kept:
        shard, key, record = kept
        tar = f"shards/shard-{shard_name(shard)}.tar"
        members = [f"{key}.json", *(f"{key}.{name}.flac" for name in AUDIO_CHANNELS)]
        return {
            "status": "kept",
            "shard_tar": tar,
            "members": members,
            "record": json.loads(record),
        }
    rejected = con.execute(
        "SELECT stage, reason, detail, record_json FROM rejects WHERE dialogue_id = ?",
        [dialogue_id],
    ).fetchone()
    if rejected:
        stage, reason, detail, record = rejected
        return {
            "status": "rejected",
            "rejection": {"stage": stage, "reason": reason, "detail": detail},
            "record": json.loads(record),
        }
    raise KeyError(f"{dialogue_id!r} is in neither the dialogues nor the rejects manifest")


def read_member(output: str, shard_tar: str, member: str) -> bytes:
    data = OutputStore(output).read_bytes(shard_tar)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise KeyError(f"{member} not in {shard_tar}")
        return handle.read()
