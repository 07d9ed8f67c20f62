"""Start and stop the product's processes; shared by `make run` and the tests.

Each service is a child process in its own process group so that stopping the
launcher (Ctrl-C / SIGTERM) stops everything it started and nothing else.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common.children import die_with_parent
from common.redis_embedded import embedded_password, start_embedded_redis
from common.privacy import action_token, rasa_token
from common.settings import DATA_DIR, PORTS, ROOT, env_str, environment, parse_redis_url


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    cmd: list[str]
    health_url: str | None = None
    port: int | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)
    env: dict | None = field(default=None, repr=False)  # per-process overrides (cluster replicas)


def service_env(redis_url: str, ports=PORTS, extra: dict | None = None) -> dict:
    """Environment for children: endpoints.yml reads REDIS_* and ACTION_ENDPOINT_URL."""
    target = parse_redis_url(redis_url)
    env = environment()
    env.update(
        REDIS_URL=redis_url,
        REDIS_HOST=target.host,
        REDIS_PORT=str(target.port),
        REDIS_DB=str(target.db),
        REDIS_PASSWORD=target.password,
        RASA_PORT=str(ports.rasa),
        RASA_INTERNAL_PORT=str(ports.rasa_internal),
        RASA_TOKEN=rasa_token(),
        ACTION_TOKEN=action_token(),  # endpoints.yml sends it to the action server
        # rasa-sdk's Sanic binds here: the action server is reachable from this host only.
        SANIC_HOST=env_str("ACTION_HOST", "127.0.0.1"),
        EDGE_DIR=str(ROOT / "edge"),
        EDGE_BIND=env_str("EDGE_BIND", "127.0.0.1"),
        RASA_BACKEND=f"127.0.0.1:{ports.rasa_internal}",
        EDGE_MAX_BODY=env_str("EDGE_MAX_BODY", "8192"),
        EDGE_MAX_VOICE_BODY=env_str("EDGE_MAX_VOICE_BODY", str(2 * 1024 * 1024)),
        EDGE_RATE_10S=env_str("EDGE_RATE_10S", "200"),
        ACTION_PORT=str(ports.actions),
        STAFF_API_PORT=str(ports.staff_api),
        VOICE_PORT=str(ports.voice),
        AUDIOSOCKET_PORT=str(ports.audiosocket),
        ACTION_ENDPOINT_URL=f"http://localhost:{ports.actions}/webhook",
        RASA_URL=f"http://127.0.0.1:{ports.rasa_internal}",
        RASA_PUBLIC_URL=f"http://localhost:{ports.rasa}",
        STAFF_API_URL=f"http://localhost:{ports.staff_api}",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        # Rasa must not phone home (no internet here) and must not prompt.
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    if extra:
        env.update(extra)
    return env


def core_services(model: Path, ports=PORTS) -> list[Service]:
    py = sys.executable
    services = [
        Service("actions", [py, "-m", "bot.action_server", "--port", str(ports.actions)],
                f"http://localhost:{ports.actions}/health", ports.actions),
        # Rasa on loopback with a token on its HTTP API (conversations, model, training);
        # callers and WeChat reach its channels only through the edge below.
        Service("rasa", [py, "-m", "rasa", "run", "--enable-api", "--auth-token", rasa_token(),
                         "--interface", "127.0.0.1", "--port", str(ports.rasa_internal), "--model", str(model),
                         "--endpoints", str(ROOT / "endpoints.yml"),
                         "--credentials", str(ROOT / "credentials.yml")],
                f"http://127.0.0.1:{ports.rasa_internal}/status?token={rasa_token()}", ports.rasa_internal),
        # The public edge: HAProxy with path/method allow-lists, body and header limits,
        # a sane Content-Length and per-client rate limits (edge/haproxy.cfg).
        Service("edge", [shutil.which("haproxy") or "haproxy", "-db", "-f", str(ROOT / "edge" / "haproxy.cfg")],
                f"http://localhost:{ports.rasa}/", ports.rasa),
    ]
    return services


def optional_services(ports=PORTS) -> list[Service]:
    """The staff API and the voice gateway (tests that need only the bot leave them out)."""
    py = sys.executable
    return [
        Service("staff-api", [py, "-m", "staffapi"], f"http://localhost:{ports.staff_api}/health", ports.staff_api),
        Service("voice", [py, "-m", "voice.gateway"], f"http://localhost:{ports.voice}/health", ports.voice),
    ]


def train_model(data_dir: Path) -> Path:
    """Train (or reuse) the Rasa model in a child process: the build step lives in bot/, above common/."""
    path_file = data_dir / "model-path.txt"
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "bot.training", "--path-file", str(path_file)], cwd=ROOT, check=True)
    return Path(path_file.read_text().strip())


def wait_healthy(service: Service, timeout: float = 420.0) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if service.proc is not None and service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited with code {service.proc.returncode}")
        try:
            with urllib.request.urlopen(service.health_url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last_error = exc
        time.sleep(0.3)
    raise TimeoutError(f"{service.name} not healthy after {timeout}s: {last_error}")


def start(service: Service, env: dict, log_dir: Path | None = None) -> Service:
    stdout = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        stdout = open(log_dir / f"{service.name}.log", "ab")
    if service.env:
        env = {**env, **service.env}
    service.proc = subprocess.Popen(service.cmd, env=env, cwd=ROOT, stdout=stdout,
                                    stderr=subprocess.STDOUT if stdout else None,
                                    start_new_session=True, preexec_fn=die_with_parent)
    return service


def stop(service: Service, grace: float = 10.0) -> None:
    proc = service.proc
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class Stack:
    """Redis (embedded unless REDIS_URL is set) + actions + Rasa + optional services."""

    def __init__(self, ports=PORTS, data_dir: Path = DATA_DIR, model: Path | None = None,
                 with_optional: bool = True, log_dir: Path | None = None, extra_env: dict | None = None):
        self.ports = ports
        self.data_dir = Path(data_dir)
        self.model = model
        self.with_optional = with_optional
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.redis_proc: subprocess.Popen | None = None
        self.services: list[Service] = []
        self.redis_url = env_str("REDIS_URL")
        self.redis_password: str | None = None

    def start_redis(self) -> None:
        if self.redis_url:
            return
        self.redis_password = embedded_password()
        self.redis_proc = start_embedded_redis(self.data_dir / "redis", self.ports.redis, self.redis_password)
        self.redis_url = f"redis://:{self.redis_password}@localhost:{self.ports.redis}/0"

    def env(self) -> dict:
        return service_env(self.redis_url, self.ports, self.extra_env)

    def start(self) -> "Stack":
        if not self.ports.rasa_internal:
            self.ports = dataclasses.replace(self.ports, rasa_internal=free_port())
        self.start_redis()
        if self.model is None:
            self.model = train_model(self.data_dir)
        env = self.env()
        wanted = core_services(self.model, self.ports)
        if self.with_optional:
            wanted += optional_services(self.ports)
        try:
            for service in wanted:
                self.services.append(start(service, env, self.log_dir))
            for service in self.services:
                wait_healthy(service)
        except BaseException:
            self.stop()  # never leave half a stack running
            raise
        return self

    def restart(self, name: str) -> None:
        service = next(s for s in self.services if s.name == name)
        stop(service)
        start(service, self.env(), self.log_dir)
        wait_healthy(service)

    def stop(self) -> None:
        for service in reversed(self.services):
            stop(service)
        self.services.clear()
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)


class Supervisor:
    """Keeps a started stack serving: a child that exits, or stops answering its health check
    (HEALTH_FAILURES in a row, each with a timeout), is restarted with exponential backoff
    while the others keep serving; embedded Redis too. Restarts are logged and counted."""

    HEALTH_EVERY_S = 5.0
    HEALTH_TIMEOUT_S = 3.0
    HEALTH_FAILURES = 3
    BACKOFF_S = (0.5, 1, 2, 5, 10, 30)

    def __init__(self, stack: Stack, log=print):
        self.stack = stack
        self.log = log
        self.restarts: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.next_check: dict[str, float] = {}
        self.not_before: dict[str, float] = {}

    def _healthy(self, service: Service) -> bool:
        try:
            with urllib.request.urlopen(service.health_url, timeout=self.HEALTH_TIMEOUT_S) as resp:
                return resp.status == 200
        except Exception:  # noqa: BLE001 - any failure is a failed check
            return False

    def _restart(self, service: Service, why: str) -> None:
        now = time.monotonic()
        if now < self.not_before.get(service.name, 0):
            return
        count = self.restarts.get(service.name, 0) + 1
        self.restarts[service.name] = count
        self.log(f"[run] {service.name} {why}; restart #{count}", flush=True)
        stop(service, grace=3.0)
        start(service, self.stack.env(), self.stack.log_dir)
        self.failures[service.name] = 0
        delay = self.BACKOFF_S[min(count - 1, len(self.BACKOFF_S) - 1)]
        self.not_before[service.name] = now + delay
        # A restarted service gets time to load (Rasa loads its model) before health counts.
        self.next_check[service.name] = now + delay + 30.0

    def tick(self) -> None:
        stack, now = self.stack, time.monotonic()
        if stack.redis_proc is not None and stack.redis_proc.poll() is not None:
            count = self.restarts.get("redis", 0) + 1
            self.restarts["redis"] = count
            self.log(f"[run] redis exited ({stack.redis_proc.returncode}); restart #{count}", flush=True)
            stack.redis_proc = start_embedded_redis(stack.data_dir / "redis", stack.ports.redis,
                                                    stack.redis_password)
        for service in stack.services:
            if service.proc.poll() is not None:
                self._restart(service, f"exited ({service.proc.returncode})")
                continue
            if not service.health_url or now < self.next_check.get(service.name, 0):
                continue
            self.next_check[service.name] = now + self.HEALTH_EVERY_S
            if self._healthy(service):
                self.failures[service.name] = 0
                continue
            self.failures[service.name] = self.failures.get(service.name, 0) + 1
            if self.failures[service.name] >= self.HEALTH_FAILURES:
                self._restart(service, f"failed {self.HEALTH_FAILURES} health checks")


def demo_mode() -> str:
    """`make run` / `make cluster` are local demonstrations: demo staff accounts are on unless the operator
    configured real ones (GOVDESK_STAFF_USERS/_FILE) or said GOVDESK_DEMO=0."""
    configured = env_str("GOVDESK_STAFF_USERS") or env_str("GOVDESK_STAFF_USERS_FILE")
    return env_str("GOVDESK_DEMO") or ("0" if configured else "1")


def stop_requested():
    """Install SIGTERM/SIGINT handlers; returns a function telling whether a stop was asked."""
    asked = []
    signal.signal(signal.SIGTERM, lambda *_: asked.append(True))
    signal.signal(signal.SIGINT, lambda *_: asked.append(True))
    return lambda: bool(asked)


def supervise_until(stopped, stack) -> None:
    """Restart whatever dies (Supervisor) until `stopped()` says so."""
    supervisor = Supervisor(stack)
    while not stopped():
        supervisor.tick()
        time.sleep(0.5)


def main() -> int:
    demo = demo_mode()
    stack = Stack(log_dir=DATA_DIR / "logs", extra_env={"GOVDESK_DEMO": demo})
    stopped = stop_requested()
    try:
        stack.start()
        print("\n政务智能前台 is up / 已启动:", flush=True)
        print(f"  Rasa REST channel : POST http://localhost:{stack.ports.rasa}/webhooks/rest/webhook  "
              '{"sender": "u1", "message": "你好"}')
        print(f"  Rasa HTTP API     : http://127.0.0.1:{stack.ports.rasa_internal}/  (loopback, ?token=$RASA_TOKEN)")
        for s in stack.services:
            if s.name in ("staff-api", "voice"):
                print(f"  {s.name:<17} : http://localhost:{s.port}/")
        print(f"  Redis             : {parse_redis_url(stack.redis_url).host}:{parse_redis_url(stack.redis_url).port}"
              + ("  (password derived from the secret key)" if stack.redis_password else ""))
        print(f"  Logs              : {stack.log_dir}")
        if demo == "1":
            print("  演示账号已开启 / demo staff accounts ON (GOVDESK_DEMO=1; set GOVDESK_STAFF_USERS for real ones)")
        print("Ctrl-C to stop / 按 Ctrl-C 停止", flush=True)
        supervise_until(stopped, stack)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
