"""Shared by the benchmarks: peak memory of the process tree, and the CPU every figure was
measured on (the CPU kind decides the engines' speed, so every report names it)."""

from __future__ import annotations

import datetime
import threading
import time

import psutil

from dialogsmith.cpu import cpu_info


class PeakMemory(threading.Thread):
    """Largest summed RSS of this process and its children, sampled every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_bytes = 0
        self.running = True

    def run(self) -> None:
        me = psutil.Process()
        while self.running:
            try:
                procs = [me, *me.children(recursive=True)]
                total = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                continue
            self.peak_bytes = max(self.peak_bytes, total)
            time.sleep(0.2)

    @property
    def peak_gib(self) -> float:
        return round(self.peak_bytes / 1024**3, 2)


def machine() -> dict:
    info = cpu_info()
    return {
        "date": datetime.date.today().isoformat(),
        "cpu_model": info.model,
        "cores": info.cores,
        "capability": info.capability,
        "detected_capability": info.detected,
        "flags": info.relevant_flags,
    }
