"""N copies of each service behind HAProxy, on Redis under Sentinel - as processes on one machine.

    Cluster(replicas=2).start()      # or `make cluster` / `python -m cluster`

Processes (each a common.launcher.Service, so the launcher's start/stop/wait_healthy and its
Supervisor restart whatever dies):
  redis0..2 + sentinel0..2      cluster/redis_ha.py (one primary, two replicas, quorum 2)
  actions1..N                   rasa-sdk action servers
  rasa1..N                      `rasa run` on loopback, Redis tracker + lock stores via Sentinel
  staff-api1..N                 python -m staffapi, each STAFF_API_WORKERS=staff_workers (default 1: the replicas
                                are the processes here) worker processes on its port; the deadline scheduler runs
                                in whichever holds the Redis lease
  voice1..N                     python -m voice.gateway (optional: with_voice)
  haproxy                       one process, config generated into <data_dir>/haproxy.cfg:

HAProxy frontends (public ones bind EDGE_BIND, internal ones 127.0.0.1):
  public      :edge     edge/haproxy.cfg's frontend verbatim (allow-lists, body/header limits,
                        rate limits); its `backend rasa` becomes N servers, round robin, health
                        check GET / - REST and WeChat webhooks are stateless per request (state
                        in Redis), a WebSocket stays on the server it was opened on.
  rasa_api    :internal Rasa's HTTP API (token) for staff API / voice / benches, round robin.
  actions     :internal action server webhook for the Rasa servers, round robin, GET /health.
  staff       :public   staff API + consoles, round robin (tokens are signed, state in Redis).
  voice_http  :public   voice gateway HTTP/WebSocket: hashed on the call id in /calls/<id>, so
                        the dialplan's POST /calls/<id> reaches the gateway that will take the call.
  audiosocket :public   TCP: hashed on the AudioSocket UUID (bytes 3..18 of the first frame),
                        the same key and ring as voice_http, so a call is pinned to one gateway.
Only `retry-on conn-failure` is set for Rasa, the staff API and voice: a request that reached a
server is never re-sent by HAProxy (a turn is not answered twice); action calls are also re-sent
when the action server died mid-call (empty-response): actions are idempotent; a dead server (connection refused) is taken out within ~2 s and requests meanwhile are re-dispatched;
a stuck one after 3 checks of 10 s. When every Rasa server is marked down (all busy), turns still go
to them (backend rasa_all) rather than get a 503.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.redis_ha import RedisHA
from common.launcher import Service, free_port, service_env, start, stop, train_model, wait_healthy
from common.privacy import rasa_token
from common.settings import DATA_DIR, ROOT, Ports, env_int, env_str


@dataclass
class Endpoints:
    edge: int = field(default_factory=free_port)          # public: Rasa channels (edge limits)
    staff: int = field(default_factory=free_port)         # public: staff API
    voice: int = field(default_factory=free_port)         # public: voice gateway HTTP/WS
    audiosocket: int = field(default_factory=free_port)   # public: AudioSocket (TCP)
    rasa_api: int = field(default_factory=free_port)      # internal: Rasa HTTP API
    actions: int = field(default_factory=free_port)       # internal: action servers
    stats: int = field(default_factory=free_port)         # internal: HAProxy stats (CSV)


def _servers(servers: list[tuple[str, int]]) -> list[str]:
    return [f"server {name} 127.0.0.1:{port} check" for name, port in servers]


def _backend(name: str, server_lines: list[str], check: str | None, balance: str = "roundrobin",
             extra: tuple[str, ...] = (), retry_on: str = "conn-failure") -> str:
    lines = [f"backend {name}", f"    balance {balance}"]
    if check:
        lines += [f"    option httpchk {check}", "    http-check expect status 200"]
    lines += ["    retries 2", f"    retry-on {retry_on}", "    option redispatch 1",
              # A busy server (a long first request) is not a dead one: in-flight requests are never cut.
              "    timeout check 10s",
              "    default-server inter 1s fastinter 500ms fall 3 rise 2",
              *(f"    {e}" for e in extra)]
    lines += [f"    {line}" for line in server_lines]
    return "\n".join(lines) + "\n"


def _failopen(name: str, server_lines: list[str]) -> str:
    """`<name>_all`: the same servers without health checks, used only when every server of
    <name> is marked down - on a saturated box a busy Rasa misses its checks, and a slow answer
    beats a 503. A dead server still fails fast (connection refused) and is retried elsewhere."""
    lines = [f"backend {name}_all", "    balance roundrobin", "    retries 2", "    retry-on conn-failure",
             "    option redispatch 1"]
    lines += [f"    {line.replace(' check', '')}" for line in server_lines]
    return "\n".join(lines) + "\n"


def haproxy_config(ep: Endpoints, rasa: list[str], actions: list[str], staff: list[str], voice: list[str],
                   audiosocket: list[str], internal_bind: str = "127.0.0.1", extra_global: str = "") -> str:
    """edge/haproxy.cfg (limits kept verbatim) with its single-server backend replaced by N servers,
    plus the internal and other public frontends. Each server list holds HAProxy `server` lines:
    one per local process here, a `server-template` resolved by Docker's DNS in compose."""
    edge = (ROOT / "edge" / "haproxy.cfg").read_text()
    edge = re.sub(r"\nbackend rasa\n(    .*\n?)*", "\n", edge)
    failopen = "    use_backend rasa_all if { nbsrv(rasa) eq 0 }\n    default_backend rasa\n"
    assert "    default_backend rasa\n" in edge
    edge = edge.replace("    default_backend rasa\n", failopen)
    parts = [edge.rstrip() + "\n",
             "# ---- cluster (generated by cluster/topology.py) ----",
             _backend("rasa", rasa, "GET /", extra=("http-response set-header X-Govdesk-Replica %[srv_name]",)),
             _failopen("rasa", rasa),
             "frontend rasa_api\n    bind %s:%d\n    use_backend rasa_all if { nbsrv(rasa_api) eq 0 }\n"
             "    default_backend rasa_api\n" % (internal_bind, ep.rasa_api),
             _backend("rasa_api", rasa, "GET /"),
             "frontend actions\n    bind %s:%d\n    default_backend actions\n" % (internal_bind, ep.actions),
             # Action calls are safe to repeat (the work-order create is keyed by conversation + turn),
             # so a call cut by a dying action server is re-sent to the other one.
             _backend("actions", actions, "GET /health", retry_on="conn-failure empty-response"),
             "frontend staff\n    bind \"${EDGE_BIND}:%d\"\n    default_backend staff\n" % ep.staff,
             _backend("staff", staff, "GET /health",
                      extra=("http-response set-header X-Govdesk-Replica %[srv_name]",)),
             "listen stats\n    bind %s:%d\n    stats enable\n    stats uri /stats\n" % (internal_bind, ep.stats)]
    if extra_global:
        parts.append(extra_global)
    if voice:
        # The call id in /calls/<id> (a UUID from the PBX): dashes removed, upper case = the same
        # 32 hex digits as the AudioSocket UUID below, hashed on the same consistent ring.
        parts += [
            "frontend voice_http\n    bind \"${EDGE_BIND}:%d\"\n    default_backend voice_http\n" % ep.voice,
            # The key goes through a variable on both sides: hashing the sample expressions directly
            # picked different servers for the same call (checked against HAProxy 2.6 here).
            _backend("voice_http", voice, "GET /health", balance="hash var(txn.callkey)",
                     extra=("hash-type consistent",
                            "http-request set-var(txn.callkey) path,field(3,/),regsub(-,,g),upper",
                            "http-response set-header X-Govdesk-Replica %[srv_name]")),
            "frontend audiosocket\n    mode tcp\n    no option http-buffer-request\n    bind \"${EDGE_BIND}:%d\"\n"
            # Only the PBX may open calls (space-separated addresses/networks; default loopback).
            "    tcp-request connection reject unless { src \"${AUDIOSOCKET_ALLOW[*]}\" }\n"
            "    tcp-request inspect-delay 5s\n"
            "    tcp-request content set-var(txn.callkey) req.payload(3,16),hex if { req.len ge 19 }\n"
            "    tcp-request content accept if { req.len ge 19 }\n"
            "    default_backend audiosocket\n" % ep.audiosocket,
            "backend audiosocket\n    mode tcp\n    no option http-buffer-request\n    balance hash var(txn.callkey)\n    hash-type consistent\n"
            "    default-server inter 1s fall 3 rise 2\n" + "".join(f"    {line}\n" for line in audiosocket),
        ]
    return "\n".join(parts)


COMPOSE_CFG = ROOT / "cluster" / "haproxy.compose.cfg"


def compose_haproxy_config(replicas: int = 2) -> str:
    """The same front for docker-compose.yml: servers found by Docker's DNS (`deploy.replicas`)."""
    ep = Endpoints(edge=5005, staff=8000, voice=8765, audiosocket=9092, rasa_api=5006, actions=5055, stats=8404)

    def tmpl(name, host, port):
        return [f"server-template {name} {replicas} {host}:{port} check resolvers docker init-addr none"]

    resolvers = ("resolvers docker\n    nameserver dns 127.0.0.11:53\n    hold valid 5s\n"
                 "    accepted_payload_size 8192\n")
    head = ("# GENERATED by `python -m cluster.topology --compose` from edge/haproxy.cfg; do not edit.\n"
            "# Used by docker-compose.yml's edge service; tests/cluster/test_config.py checks it is current.\n")
    return head + haproxy_config(ep, tmpl("rasa", "rasa", 5005), tmpl("actions", "actions", 5055),
                                 tmpl("staff-api", "staff-api", 8000), tmpl("voice", "voice", 8765),
                                 tmpl("voice-as", "voice", 9092), internal_bind="0.0.0.0", extra_global=resolvers)


class Cluster:
    """Start/stop the whole topology; `kill(name)` is kill -9 of one process (for the benches)."""

    def __init__(self, replicas: int = 2, data_dir: Path | None = None, with_rasa: bool = True,
                 with_voice: bool = False, with_staff: bool = True, model: Path | None = None,
                 log_dir: Path | None = None, extra_env: dict | None = None, redis_password: str | None = None,
                 endpoints: Endpoints | None = None, rasa_threads: int | None = None,
                 staff_workers: int | None = None):
        self.replicas = replicas
        self.data_dir = Path(data_dir or DATA_DIR / "cluster")
        self.with_rasa, self.with_voice, self.with_staff = with_rasa, with_voice, with_staff
        self.model = model
        self.log_dir = log_dir or self.data_dir / "logs"
        self.extra_env = extra_env or {}
        self.password = redis_password if redis_password is not None else secrets.token_hex(16)
        self.ep = endpoints or Endpoints()
        self.rasa_threads = rasa_threads or env_int("CLUSTER_RASA_THREADS", 1)
        self.staff_workers = staff_workers or env_int("CLUSTER_STAFF_WORKERS", 1)
        self.redis = RedisHA(self.data_dir / "redis", password=self.password)
        self.services: list[Service] = []
        self.app_services: list[Service] = []
        self.haproxy: Service | None = None
        self.redis_proc = None  # the launcher Supervisor's embedded-Redis slot: unused here

    # --- environment ---------------------------------------------------------------------------
    def env(self) -> dict:
        ports = Ports(rasa=self.ep.edge, rasa_internal=self.ep.rasa_api, actions=self.ep.actions,
                      staff_api=self.ep.staff, voice=self.ep.voice, audiosocket=self.ep.audiosocket, redis=0)
        redis_env = self.redis.env()
        env = service_env(redis_env["REDIS_URL"], ports, self.extra_env)
        env.update(redis_env)
        env.update(
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.ep.actions}/webhook",
            RASA_URL=f"http://127.0.0.1:{self.ep.rasa_api}",
            STAFF_API_URL=f"http://127.0.0.1:{self.ep.staff}",
            VOICE_URL=f"http://127.0.0.1:{self.ep.voice}",
            EDGE_RATE_10S=self.extra_env.get("EDGE_RATE_10S", env.get("EDGE_RATE_10S", "200")),
            CLUSTER_DIR=str(self.data_dir),
            # Rasa's ticket lock of a conversation held by a replica that died is freed when it
            # expires: 20 s instead of Rasa's 60 s, so the caller's next turn on the other replica
            # waits at most that long (a turn here takes a few seconds even under load).
            TICKET_LOCK_LIFETIME=env_str("TICKET_LOCK_LIFETIME", "20"),
            AUDIOSOCKET_ALLOW=env_str("AUDIOSOCKET_ALLOW", "127.0.0.1"),
        )
        return env

    def rasa_threads_env(self) -> dict:
        """One core per Rasa replica: TensorFlow and BLAS otherwise spread one process's inference
        over every core of the box, and a second replica only competes with the first."""
        n = str(self.rasa_threads)
        return {"TF_INTRA_OP_PARALLELISM_THREADS": n, "TF_INTER_OP_PARALLELISM_THREADS": n,
                "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}

    def _app_services(self) -> list[Service]:
        py, out = sys.executable, []
        for i in range(1, self.replicas + 1):
            if self.with_rasa:
                ap = free_port()
                out.append(Service(f"actions{i}", [py, "-m", "bot.action_server", "--port", str(ap)],
                                   f"http://127.0.0.1:{ap}/health", ap))
                rp = free_port()
                out.append(Service(f"rasa{i}", [py, "-m", "rasa", "run", "--enable-api", "--auth-token", rasa_token(),
                                                "--interface", "127.0.0.1", "--port", str(rp), "--model", str(self.model),
                                                "--endpoints", str(ROOT / "endpoints.yml"),
                                                "--credentials", str(ROOT / "credentials.yml")],
                                   f"http://127.0.0.1:{rp}/", rp, env=self.rasa_threads_env()))
            if self.with_staff:
                sp = free_port()
                out.append(Service(f"staff-api{i}", [py, "-m", "staffapi"], f"http://127.0.0.1:{sp}/health", sp,
                                   env={"STAFF_API_PORT": str(sp), "STAFF_API_HOST": "127.0.0.1",
                                        "STAFF_API_WORKERS": str(self.staff_workers)}))
            if self.with_voice:
                vp, asp = free_port(), free_port()
                out.append(Service(f"voice{i}", [py, "-m", "voice.gateway"], f"http://127.0.0.1:{vp}/health", vp,
                                   env={"VOICE_PORT": str(vp), "AUDIOSOCKET_PORT": str(asp),
                                        "VOICE_AUDIOSOCKET_PORT": str(asp), "VOICE_HOST": "127.0.0.1"}))
                out[-1].audiosocket_port = asp  # type: ignore[attr-defined]
        return out

    def _haproxy(self) -> Service:
        def named(prefix):
            return _servers([(s.name, s.port) for s in self.app_services if s.name.startswith(prefix)])

        audio = _servers([(s.name, s.audiosocket_port) for s in self.app_services  # type: ignore[attr-defined]
                          if s.name.startswith("voice")])
        runtime = "global\n    stats socket \"${CLUSTER_DIR}/haproxy.sock\" mode 600 level admin\n"
        cfg = self.data_dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(self.ep, named("rasa"), named("actions"), named("staff-api"), named("voice"),
                                      audio, extra_global=runtime))
        check = f"http://127.0.0.1:{self.ep.stats}/stats"
        return Service("haproxy", [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(cfg)], check,
                       self.ep.edge)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 600.0) -> "Cluster":
        if self.with_rasa and self.model is None:
            self.model = train_model(self.data_dir)
        try:
            env = self.env()
            for svc in self.redis.services:
                self.services.append(start(svc, env, self.log_dir))
            self.redis.wait_ready()
            self.app_services = self._app_services()
            # Action servers first (Rasa checks them), then the rest; all load in parallel.
            for svc in self.app_services:
                self.services.append(start(svc, env, self.log_dir))
            self.haproxy = self._haproxy()
            self.services.append(start(self.haproxy, env, self.log_dir))
            for svc in self.app_services + [self.haproxy]:
                wait_healthy(svc, timeout)
            self.wait_balanced()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_balanced(self, timeout: float = 30.0) -> None:
        """Until HAProxy's health checks see every app server UP."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(st == "UP" for st in self.server_states().values()):
                return
            time.sleep(0.2)
        raise TimeoutError(f"HAProxy servers not all UP: {self.server_states()}")

    def server_states(self) -> dict[str, str]:
        """{"backend/server": "UP"|"DOWN"|...} from HAProxy's stats CSV."""
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ep.stats}/stats;csv", timeout=2) as resp:
                rows = resp.read().decode().splitlines()
        except OSError:
            return {"haproxy": "DOWN"}
        out = {}
        for row in rows[1:]:
            cols = row.split(",")
            if (len(cols) > 17 and cols[1] not in ("FRONTEND", "BACKEND") and cols[0] != "stats"
                    and not cols[0].endswith("_all")):  # fail-open backends have no checks
                out[f"{cols[0]}/{cols[1]}"] = cols[17].split(" ")[0]
        return out

    def haproxy_command(self, command: str) -> str:
        """One command on HAProxy's runtime API (e.g. "disable server rasa/rasa2")."""
        import socket

        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.data_dir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
        return out.decode()

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def kill(self, name: str) -> None:
        """kill -9 of one process (its process group: rasa's workers too)."""
        svc = self.service(name)
        os.killpg(svc.proc.pid, signal.SIGKILL)
        svc.proc.wait()

    def restart(self, name: str, healthy: bool = True) -> None:
        svc = self.service(name)
        stop(svc, grace=3.0)
        start(svc, self.env(), self.log_dir)
        if healthy and svc.health_url:
            wait_healthy(svc)

    def stop(self) -> None:
        for svc in reversed(self.services):
            stop(svc, grace=5.0)
        self.services.clear()

    def describe(self) -> str:
        lines = [f"  Rasa channels (edge) : http://127.0.0.1:{self.ep.edge}/webhooks/rest/webhook",
                 f"  Staff API            : http://127.0.0.1:{self.ep.staff}/",
                 f"  Rasa HTTP API (LB)   : http://127.0.0.1:{self.ep.rasa_api}/  (token)",
                 f"  HAProxy stats        : http://127.0.0.1:{self.ep.stats}/stats",
                 f"  Redis Sentinel       : {self.redis.env()['REDIS_SENTINELS']} (master {self.redis.master})"]
        if self.with_voice:
            lines += [f"  Voice HTTP/WS        : http://127.0.0.1:{self.ep.voice}/",
                      f"  AudioSocket          : 127.0.0.1:{self.ep.audiosocket}"]
        lines.append(f"  Processes            : {', '.join(s.name for s in self.services)}")
        lines.append(f"  Logs                 : {self.log_dir}")
        return "\n".join(lines)


if __name__ == "__main__":
    import sys as _sys

    if "--compose" in _sys.argv:
        COMPOSE_CFG.write_text(compose_haproxy_config())
        print(f"wrote {COMPOSE_CFG}")
