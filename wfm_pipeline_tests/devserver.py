"""`wfm dev` as a subprocess for tests: start on a free port, wait until it serves, stop it the
way Ctrl-C does, and make sure nothing it started is left running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# The environment a test hands `wfm dev` is built from scratch for these.
WFM_VARIABLES = ("WFM_DATABASE_URL", "WFM_HOME", "WFM_LANDING_DIR", "DAGSTER_HOME")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wfm_env(**values: str) -> dict[str, str]:
    """os.environ without the WFM/Dagster locations, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in WFM_VARIABLES}
    env.update(values)
    return env


def wfm(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a `wfm` command in a subprocess (the checkout's package: PYTHONPATH is inherited)."""
    return subprocess.run([sys.executable, "-m", "wfm_pipeline.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


class DevServer:
    """`wfm dev --port N` in a session (process group) of its own, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.env, self.log, self.port = env, log, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.leftovers: list[str] = []

    def start(self) -> DevServer:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wfm_pipeline.cli.main", "dev", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, timeout: float = 240) -> None:
        """Until the webserver answers /server_info (the daemon and code server start alongside)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"wfm dev exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise AssertionError(f"wfm dev did not serve {self.url} within {timeout:.0f} s:\n{self.output()[-4000:]}")

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = json.load(resp)
        if answer.get("errors"):
            raise AssertionError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def stop(self, timeout: float = 150, drain: float = 60) -> int | None:
        """Ctrl-C: SIGINT to `wfm dev`'s process group, as a terminal sends it (webserver, daemon,
        code server and any run still going get it too); `wfm dev`'s exit status, or None if it
        had to be killed.

        Dagster's code server winds down a few seconds after `wfm dev` returned; what is still in
        the process group ``drain`` seconds later is killed and listed in ``leftovers``.
        """
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        deadline = time.monotonic() + drain
        while code is not None and processes_in_group(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.leftovers = self._kill_group()
        if code is None:
            self.proc.wait(timeout=30)
        return code

    def _kill_group(self) -> list[str]:
        """Kill (and describe) the processes still in the server's process group."""
        pgid = self.proc.pid
        left = [f"{pid}: {cmd}" for pid, cmd in processes_in_group(pgid)]
        if left:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


def processes_in_group(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes in process group ``pgid`` (Linux /proc; elsewhere
    only the group's existence can be checked)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [(pgid, "(process group still exists)")]
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after the last ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append((int(entry.name), cmd[:200]))
        except (OSError, ValueError, IndexError):
            continue
    return found
