"""No orphans: a watcher process ends everything a job started once the job's driver is gone.

However the driver ends (normal exit, exception, Ctrl-C, SIGTERM, `kill -9`), the processes it
started (engine workers, Ray's raylet and workers, servers) must not outlive it. `guard()` tags
the driver's environment with a job token, which every process it starts inherits, and starts
a watcher in a session of its own. The watcher also records the driver's descendants every
half second, for any child that does not inherit the environment. When the driver is gone it
sends SIGTERM to each one still alive, then SIGKILL to those alive 3 s later.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from contextlib import suppress

import psutil

TOKEN_ENV = "DIALOGSMITH_JOB_TOKEN"
POLL_S = 0.5
GRACE_S = 3.0

_watcher: subprocess.Popen | None = None


def guard() -> str:
    """Start the watcher for this process (once); return the job token its children carry."""
    global _watcher
    if _watcher is not None and _watcher.poll() is None:
        return os.environ[TOKEN_ENV]
    token = uuid.uuid4().hex
    os.environ[TOKEN_ENV] = token
    _watcher = subprocess.Popen(
        [sys.executable, "-m", "dialogsmith.reaper", str(os.getpid()), token],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to the job's process group must not stop it first
        env={k: v for k, v in os.environ.items() if k != TOKEN_ENV},
    )
    return token


def carries_token(process: psutil.Process, token: str) -> bool:
    try:
        return process.environ().get(TOKEN_ENV) == token
    except (psutil.Error, OSError):
        return False


def tagged(token: str) -> list[psutil.Process]:
    """Live processes started under this job token (the watcher itself carries none)."""
    return [p for p in psutil.process_iter() if p.pid != os.getpid() and carries_token(p, token)]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def end_all(processes: list[psutil.Process]) -> int:
    """SIGTERM, then SIGKILL after GRACE_S; return how many were alive."""
    alive = [p for p in processes if is_alive(p)]
    for p in alive:
        with suppress(psutil.Error):
            p.terminate()
    _, still = psutil.wait_procs(alive, timeout=GRACE_S)
    for p in still:
        with suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(still, timeout=GRACE_S)
    return len(alive)


def watch(driver_pid: int, token: str) -> None:
    try:
        driver = psutil.Process(driver_pid)
    except psutil.Error:
        driver = None
    seen: dict[int, psutil.Process] = {}
    while driver is not None and is_alive(driver):
        for child in descendants(driver_pid):
            if child.pid != os.getpid():  # the watcher is the driver's child too
                seen.setdefault(child.pid, child)
        time.sleep(POLL_S)
    for _ in range(3):  # processes may start others while they are being stopped
        victims = {p.pid: p for p in [*seen.values(), *tagged(token)] if is_alive(p)}
        if not end_all(list(victims.values())):
            break
        seen = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("driver_pid", type=int)
    parser.add_argument("token")
    args = parser.parse_args(argv)
    watch(args.driver_pid, args.token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
