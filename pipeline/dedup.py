"""Job-level near-duplicate removal, run once every shard is complete.

Dialogues are compared in id order with MinHash over their scripts; a later near-duplicate of an
earlier one moves from the `dialogues`/`turns` manifests to `rejects` (stage `dedup`, reason
`near_duplicate`) and its samples leave the shard tar. Running it again changes nothing, and
the result does not depend on which shards finished first.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

from dialogsmith import manifests
from dialogsmith.qa.diversity import NearDuplicateIndex, diversity_report
from dialogsmith.storage import OutputStore, shard_name

REPORT = "dedup.json"


def script_text(record: dict) -> str:
    return " ".join(turn["text"] for turn in record["script"]["turns"])


def deduplicate(store: OutputStore, threshold: float) -> dict:
    records = _kept_records(store)
    index, duplicates = NearDuplicateIndex(threshold=threshold), {}
    for did in sorted(records):
        record = records[did]
        earlier = index.add(did, script_text(record), record["spec"]["language"])
        if earlier:
            duplicates[did] = earlier
    by_shard: dict[int, dict[str, str]] = defaultdict(dict)
    for did, earlier in duplicates.items():
        by_shard[records[did]["_shard"]][did] = earlier
    for shard, dups in sorted(by_shard.items()):
        _drop_from_shard(store, shard, dups)
    previous = store.read_json(REPORT)["near_duplicates"] if store.exists(REPORT) else 0
    unique = {d: script_text(r) for d, r in records.items() if d not in duplicates}
    diversity = diversity_report(unique, len(duplicates) + previous)
    total = len(records) + previous
    report = {
        "threshold": threshold,
        "scripts_compared": total,
        "near_duplicates": len(duplicates) + previous,
        "duplicate_rate": round((len(duplicates) + previous) / max(total, 1), 4),
        "distinct_1": round(diversity.distinct_1, 4),
        "distinct_2": round(diversity.distinct_2, 4),
    }
    store.write_json(REPORT, report)
    return report


def _kept_records(store: OutputStore) -> dict[str, dict]:
    records = {}
    for path in store.list("manifests/dialogues", ".parquet"):
        table = pq.read_table(io.BytesIO(store.read_bytes(path)), columns=["shard", "record_json"])
        for shard, text in zip(*table.to_pydict().values(), strict=True):
            record = json.loads(text)
            record["_shard"] = shard
            records[record["spec"]["dialogue_id"]] = record
    return records


def _drop_from_shard(store: OutputStore, shard: int, dups: dict[str, str]) -> None:
    name = shard_name(shard)
    tables = {
        t: _read(store, f"manifests/{t}/shard-{name}.parquet") for t in ("dialogues", "turns")
    }
    rejects = _read(store, f"manifests/rejects/shard-{name}.parquet")
    moved = [r for r in tables["dialogues"] if r["dialogue_id"] in dups]
    for row in moved:
        rejects.append(
            {
                "dialogue_id": row["dialogue_id"],
                "shard": shard,
                "stage": "dedup",
                "reason": "near_duplicate",
                "detail": f"near-duplicate of {dups[row['dialogue_id']]}",
                "target_attribute": row["target_attribute"],
                "target_value": row["target_value"],
                "record_json": row["record_json"],
            }
        )
    store.write_atomic(f"shards/shard-{name}.tar", _filtered_tar(store, name, set(dups)))
    for table, schema in (("dialogues", manifests.DIALOGUES), ("turns", manifests.TURNS)):
        rows = [r for r in tables[table] if r["dialogue_id"] not in dups]
        store.write_atomic(
            f"manifests/{table}/shard-{name}.parquet", manifests.to_parquet(rows, schema)
        )
    store.write_atomic(
        f"manifests/rejects/shard-{name}.parquet", manifests.to_parquet(rejects, manifests.REJECTS)
    )


def _read(store: OutputStore, path: str) -> list[dict]:
    return pq.read_table(pa.BufferReader(store.read_bytes(path))).to_pylist()


def _filtered_tar(store: OutputStore, name: str, drop: set[str]) -> bytes:
    data = io.BytesIO(store.read_bytes(f"shards/shard-{name}.tar"))
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=data) as source,
        tarfile.open(fileobj=out, mode="w", format=source.format) as target,
    ):
        for member in source.getmembers():
            if member.name.split(".", 1)[0] not in drop:
                target.addfile(member, source.extractfile(member))
    return out.getvalue()
