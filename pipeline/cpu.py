"""What this CPU can do, read once at start, so engines never emulate an instruction set.

`DIALOGSMITH_CPU_CAPABILITY` lowers what is detected (e.g. `avx2` on an AVX-512 machine) to
exercise the path another CPU kind takes; it never claims more than the CPU has.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FORCE_ENV = "DIALOGSMITH_CPU_CAPABILITY"
# Best first; each level needs every flag listed for it.
LEVELS: dict[str, tuple[str, ...]] = {
    "avx512_bf16": ("avx512f", "avx512bw", "avx512vl", "avx512_bf16"),
    "avx512": ("avx512f", "avx512bw", "avx512vl"),
    "avx2": ("avx2", "fma", "f16c"),
    "baseline": (),
}
# The flags that decide which kernels an engine can run; printed by every benchmark.
RELEVANT_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset[str]
    detected: str
    capability: str
    cores: int

    @property
    def native_bf16(self) -> bool:
        return self.capability == "avx512_bf16"

    @property
    def relevant_flags(self) -> list[str]:
        return [f for f in RELEVANT_FLAGS if f in self.flags]

    def describe(self) -> str:
        forced = f" (forced from {self.detected} by {FORCE_ENV})" if self.forced else ""
        return (
            f"{self.model}, {self.cores} cores, capability {self.capability}{forced}; "
            f"flags: {' '.join(self.relevant_flags) or 'none of ' + ' '.join(RELEVANT_FLAGS)}"
        )

    @property
    def forced(self) -> bool:
        return self.capability != self.detected

    def build_key(self) -> str:
        """Names a native build: the capability plus a digest of every flag the CPU has."""
        digest = hashlib.sha256(" ".join(sorted(self.flags)).encode()).hexdigest()[:8]
        return f"{self.capability}-{digest}" if not self.forced else self.capability


def _proc_cpuinfo() -> tuple[str, frozenset[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    model, flags = platform.machine(), frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == platform.machine():
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


def level_of(flags: frozenset[str]) -> str:
    return next(name for name, need in LEVELS.items() if all(f in flags for f in need))


def _forced_level(detected: str) -> str:
    wanted = os.environ.get(FORCE_ENV, "").strip().lower()
    if not wanted:
        return detected
    if wanted not in LEVELS:
        raise ValueError(f"{FORCE_ENV}={wanted!r} is not one of {', '.join(LEVELS)}")
    order = list(LEVELS)
    if order.index(wanted) < order.index(detected):
        raise ValueError(
            f"{FORCE_ENV}={wanted!r} asks for more than this CPU has ({detected}); "
            "it can only lower the capability"
        )
    return wanted


@cache
def cpu_info() -> CpuInfo:
    model, flags = _proc_cpuinfo()
    detected = level_of(flags)
    return CpuInfo(
        model=model,
        flags=flags,
        detected=detected,
        capability=_forced_level(detected),
        cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    )


def main(argv: list[str]) -> int:
    """`python -m dialogsmith.cpu [capability|build-key|describe]` for setup scripts."""
    info = cpu_info()
    what = argv[0] if argv else "describe"
    print({"capability": info.capability, "build-key": info.build_key()}.get(what, info.describe()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
