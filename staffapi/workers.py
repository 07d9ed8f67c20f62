"""The staff API as N worker processes on one port, with one report worker shared by all of them.

`python -m staffapi` with STAFF_API_WORKERS=N (common.settings.staff_api_workers: default the box's CPUs, at
most 8) > 1 runs this supervisor instead of serving itself:
  - one report process (`python -m staffapi --reports`, niced like staffapi.base.ReportWorker): the order
    list, KPIs and hot spots of every worker are computed there, one at a time, over a local socket
    (multiprocessing.connection: pickled calls, authenticated with a key made for this run);
  - N workers (`python -m staffapi --worker`), each its own event loop binding the same port with
    SO_REUSEPORT (aiohttp's `reuse_port=True`): the kernel spreads connections over them. One event loop tops
    out near one core; N use N.
A worker or the report process that dies is started again; SIGTERM/SIGINT stop them all. Work that must run
once, not once per worker: the deadline scheduler holds a Redis lease (workorders.scheduler), the report
counter rebuild a Redis claim (staffapi.app), whichever worker or replica gets there first.
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener

from common.children import die_with_parent
from common.settings import ROOT, env_str, environment, staff_api_workers
from workorders.model import WorkOrderError

log = logging.getLogger(__name__)
SOCKET_ENV, KEY_ENV = "STAFF_API_REPORTS_SOCKET", "STAFF_API_REPORTS_KEY"


def _address(name: str) -> str:
    return "\0" + name  # Linux abstract socket: no file to clean up, gone with the process


# --- the shared report process ---------------------------------------------------------------------
def serve_reports() -> None:
    """`python -m staffapi --reports`: answer (prefix, fn, args) with staffapi.base._worker_call's tuple."""
    from staffapi import base

    name, key = env_str(SOCKET_ENV), env_str(KEY_ENV)
    base.lower_priority()
    services: dict[str, object] = {}
    lock = threading.Lock()  # one report at a time, on the one event loop of this process

    def call(prefix: str, fn, args: tuple):
        with lock:
            if prefix not in services:
                services[prefix] = base.worker_service(prefix)
            base._WORKER["svc"] = services[prefix]
            return base._worker_call(fn, args)

    def connection(conn) -> None:
        with conn:
            while True:
                try:
                    prefix, fn, args = conn.recv()
                except (EOFError, OSError):
                    return
                conn.send(call(prefix, fn, args))

    base.worker_loop()
    with Listener(_address(name), family="AF_UNIX", authkey=key.encode()) as listener:
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError, AuthenticationError) as exc:  # e.g. a client without the key
                log.warning("report connection refused: %s", exc)
                continue
            threading.Thread(target=connection, args=(conn,), daemon=True).start()


class SharedReports:
    """A worker's handle on the shared report process: `await run(fn, *args)` like ReportWorker.run.
    Each thread of the event loop's default executor keeps its own connection."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.address, self.key = _address(env_str(SOCKET_ENV)), env_str(KEY_ENV).encode()
        self.local = threading.local()

    def _call(self, fn, args: tuple):
        for attempt in (1, 2):  # a connection left over from a report process that was restarted
            conn = getattr(self.local, "conn", None)
            try:
                if conn is None:
                    conn = self.local.conn = Client(self.address, family="AF_UNIX", authkey=self.key)
                conn.send((self.prefix, fn, args))
                return conn.recv()
            except (OSError, EOFError):
                self.local.conn = None
                if attempt == 2:
                    return ("down",)
                time.sleep(0.2)

    async def run(self, fn, *args) -> bytes:
        from staffapi.base import worker_result

        out = await asyncio.get_running_loop().run_in_executor(None, self._call, fn, args)
        if out[0] == "down":
            raise WorkOrderError("reports_unavailable", "报表服务正在重启，请稍后重试。", 503, retry_after=5)
        return worker_result(out)

    def close(self) -> None:
        pass  # the connections close with the worker


# --- the supervisor --------------------------------------------------------------------------------
def supervise(workers: int | None = None) -> int:
    """Run the report process and `workers` API workers until SIGTERM/SIGINT; restart any that dies."""
    workers = workers or staff_api_workers()
    env = environment()
    env.update({SOCKET_ENV: f"govdesk-staffapi-reports-{os.getpid()}", KEY_ENV: secrets.token_hex(16),
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")})
    cmds = {"reports": [sys.executable, "-m", "staffapi", "--reports"]}
    cmds.update({f"worker{i}": [sys.executable, "-m", "staffapi", "--worker"] for i in range(1, workers + 1)})
    procs: dict[str, subprocess.Popen] = {}
    stopping = []

    def start(name: str) -> None:
        procs[name] = subprocess.Popen(cmds[name], cwd=ROOT, env={**env, "STAFF_API_WORKER_NAME": name},
                                       preexec_fn=die_with_parent)

    def stop(signum, _frame) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name in cmds:
        start(name)
    log.info("staff API: %d workers on one port (SO_REUSEPORT), one shared report process", workers)
    restarts: dict[str, float] = {}
    while not stopping:
        time.sleep(0.5)
        for name, proc in list(procs.items()):
            if proc.poll() is not None and not stopping:
                wait = 1.0 if time.monotonic() - restarts.get(name, 0) > 10 else 5.0  # no busy crash loop
                log.error("staff API %s exited with %s; starting it again in %.0f s", name, proc.returncode, wait)
                time.sleep(wait)
                restarts[name] = time.monotonic()
                start(name)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0
