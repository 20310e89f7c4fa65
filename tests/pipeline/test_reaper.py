"""The job's watcher: whatever way the driver ends, what it started is gone 10 s later."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

# A driver that starts what jobs start: a plain child, a child in a session of its own (as a
# server or Ray's raylet is), and a grandchild whose parent exits at once (reparented to init).
DRIVER = textwrap.dedent(
    """
    import subprocess, sys, time
    from dialogsmith import reaper
    reaper.guard()
    sleep = ["sleep", "300"]
    kids = [subprocess.Popen(sleep), subprocess.Popen(sleep, start_new_session=True)]
    orphan = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!"], stdout=subprocess.PIPE)
    pids = [k.pid for k in kids] + [int(orphan.stdout.readline())]
    print(" ".join(map(str, pids)), flush=True)
    if sys.argv[1] == "exit":
        sys.exit(0)
    if sys.argv[1] == "raise":
        raise RuntimeError("a bug in the job")
    time.sleep(300)
    """
)


def started(how: str) -> tuple[subprocess.Popen, list[psutil.Process]]:
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, how], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    pids = [int(p) for p in driver.stdout.readline().split()]
    assert len(pids) == 3, "the driver did not start its children"
    return driver, [psutil.Process(p) for p in pids]


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone_within(processes: list[psutil.Process], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in processes):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("how", ["exit", "raise", "sigterm", "sigint", "sigkill"])
def test_nothing_the_driver_started_outlives_it(how: str) -> None:
    driver, children = started(how)
    try:
        if how.startswith("sig"):
            driver.send_signal(getattr(signal, how.upper()))
        driver.wait(timeout=10)
        assert gone_within(children, 10.0), f"children alive 10 s after the driver's {how}"
    finally:
        for p in children:
            if alive(p):
                p.kill()
        driver.kill()


def test_the_watcher_does_not_stop_itself_before_the_rest() -> None:
    """The watcher is the driver's child too: were it among its own victims it would stop
    at its turn and leave the processes after it running (Ray's agents and vLLM's workers,
    whose renamed titles hide the job token, did)."""
    many = DRIVER.replace(
        "kids = [subprocess.Popen(sleep), subprocess.Popen(sleep, start_new_session=True)]",
        "kids = [subprocess.Popen(sleep, start_new_session=True) for _ in range(12)]",
    ).replace(
        "pids = [k.pid for k in kids] + [int(orphan.stdout.readline())]",
        "pids = [k.pid for k in kids]",
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", many, "sigkill"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    children = [psutil.Process(int(p)) for p in driver.stdout.readline().split()]
    try:
        assert len(children) == 12
        time.sleep(1.0)  # the watcher has seen them
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=10)
        assert gone_within(children, 10.0), "children alive 10 s after kill -9"
    finally:
        for p in children:
            if alive(p):
                p.kill()
        driver.kill()
