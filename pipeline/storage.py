"""The output folder, through `pyarrow.fs` so a job can write locally or to shared storage.

Every file is written under a temporary name and renamed when whole; a shard's completion
marker is written last, so a reader never sees half a shard and a rerun skips finished ones.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

COMPLETIONS = "completions"


def shard_name(shard: int) -> str:
    return f"{shard:05d}"


class OutputStore:
    def __init__(self, uri: str) -> None:
        if "://" in uri:
            self.fs, self.root = pafs.FileSystem.from_uri(uri)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(uri).resolve())
        self.uri = uri

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def local_path(self, relative: str) -> str | None:
        return self.path(relative) if isinstance(self.fs, pafs.LocalFileSystem) else None

    def write_atomic(self, relative: str, data: bytes) -> None:
        final = self.path(relative)
        self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        temporary = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
        with self.fs.open_output_stream(temporary) as stream:
            stream.write(data)
        self.fs.move(temporary, final)

    def write_json(self, relative: str, value: Any) -> None:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
        self.write_atomic(relative, text.encode())

    def read_bytes(self, relative: str) -> bytes:
        with self.fs.open_input_stream(self.path(relative)) as stream:
            return stream.read()

    def read_json(self, relative: str) -> Any:
        return json.loads(self.read_bytes(relative))

    def exists(self, relative: str) -> bool:
        return self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def list(self, directory: str, suffix: str = "") -> list[str]:
        """Relative paths of the finished files in `directory` (temporaries left out), sorted."""
        selector = pafs.FileSelector(self.path(directory), allow_not_found=True)
        names = [
            f"{directory}/{info.base_name}"
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File and ".tmp-" not in info.base_name
        ]
        return sorted(n for n in names if n.endswith(suffix))

    def is_complete(self, shard: int) -> bool:
        return self.exists(f"{COMPLETIONS}/{shard_name(shard)}")

    def mark_complete(self, shard: int) -> None:
        self.write_atomic(f"{COMPLETIONS}/{shard_name(shard)}", b"")
