"""`make cluster` / `python -m cluster [--replicas 2] [--voice] [--no-rasa] [--staff-workers 1]`: the cluster topology
(cluster/topology.py) on this machine, kept serving by the launcher's Supervisor (a process that
dies is restarted; a Redis node that comes back rejoins as a replica, Sentinel reconfigures it)."""
from __future__ import annotations

import argparse
import sys

from cluster.topology import Cluster, Endpoints
from common.launcher import demo_mode, stop_requested, supervise_until
from common.settings import DATA_DIR, PORTS, env_flag, env_int, env_str


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cluster")
    ap.add_argument("--replicas", type=int, default=env_int("CLUSTER_REPLICAS", 2))
    ap.add_argument("--voice", action="store_true", default=env_flag("CLUSTER_VOICE"),
                    help="also N voice gateways (loads the ASR model in each)")
    ap.add_argument("--no-rasa", action="store_true", help="Redis HA + staff API only")
    ap.add_argument("--staff-workers", type=int, default=env_int("CLUSTER_STAFF_WORKERS", 1),
                    help="worker processes of each staff API replica (STAFF_API_WORKERS)")
    ap.add_argument("--data-dir", default=str(DATA_DIR / "cluster"))
    args = ap.parse_args(argv)
    cluster = Cluster(replicas=args.replicas, data_dir=args.data_dir, with_rasa=not args.no_rasa,
                      with_voice=args.voice, extra_env={"GOVDESK_DEMO": demo_mode()},
                      staff_workers=args.staff_workers,
                      redis_password=env_str("REDIS_PASSWORD") or None,
                      # The public ports of `make run` and docker-compose.yml; internal ones are free ports.
                      endpoints=Endpoints(edge=PORTS.rasa, staff=PORTS.staff_api, voice=PORTS.voice,
                                          audiosocket=PORTS.audiosocket))
    stopped = stop_requested()
    try:
        cluster.start()
        print("\n政务智能前台 cluster is up / 集群已启动:", flush=True)
        print(cluster.describe(), flush=True)
        print("Ctrl-C to stop / 按 Ctrl-C 停止", flush=True)
        supervise_until(stopped, cluster)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
