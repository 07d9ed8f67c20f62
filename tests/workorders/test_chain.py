"""Hash chain: verify detects edited, deleted and reordered events (editing Redis directly)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from common.settings import ROOT
from tests.workorders.conftest import CLERK, DISPATCHER, HANDLER


async def make(svc):
    o = await svc.create("红旗村水渠堵塞，农田灌不上水", category="政务类", type="求助", urgency="一般",
                         place={"village": "红旗村"}, actor=CLERK)
    await svc.transition(o["id"], "dispatch", DISPATCHER, unit_id="U1")
    await svc.transition(o["id"], "sign", HANDLER)
    await svc.transition(o["id"], "start", HANDLER)
    return o["id"]


def run_cli(redis_url, prefix, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "workorders.cli", "verify", "--redis-url", redis_url,
                           "--prefix", prefix, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


async def test_intact_chain_verifies(svc):
    oid = await make(svc)
    report = await svc.verify(oid)
    assert report.ok and report.events == 4 and report.problems == []
    events = await svc.events(oid)
    assert events[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(events, events[1:]))


async def test_edited_event_detected(svc, aredis, prefix, redis_server):
    oid = await make(svc)
    key = f"{prefix}:events:{oid}"
    ev = json.loads(await aredis.lindex(key, 1))
    ev["after"]["lead_unit_id"] = "U9"  # someone re-points the dispatch
    await aredis.lset(key, 1, json.dumps(ev, ensure_ascii=False))
    report = await svc.verify(oid)
    assert not report.ok and any("hash mismatch" in p for p in report.problems)
    cli = run_cli(redis_server.url, prefix, "--all")
    assert cli.returncode == 1 and oid in cli.stdout and "BROKEN" in cli.stdout


async def test_deleted_middle_event_detected(svc, aredis, prefix):
    oid = await make(svc)
    key = f"{prefix}:events:{oid}"
    victim = await aredis.lindex(key, 2)
    await aredis.lrem(key, 1, victim)
    report = await svc.verify(oid)
    assert not report.ok and any("missing" in p for p in report.problems)


async def test_deleted_last_event_detected(svc, aredis, prefix):
    oid = await make(svc)
    await aredis.rpop(f"{prefix}:events:{oid}")
    report = await svc.verify(oid)
    assert not report.ok and any("head mismatch" in p for p in report.problems)


async def test_recomputed_hash_still_detected_by_links(svc, aredis, prefix):
    """An editor who also recomputes the edited event's hash breaks the next link and the head."""
    from workorders.chain import event_hash

    oid = await make(svc)
    key = f"{prefix}:events:{oid}"
    ev = json.loads(await aredis.lindex(key, 1))
    ev["actor"] = {"username": "someone-else", "role": "dispatcher"}
    ev["hash"] = event_hash(ev)
    await aredis.lset(key, 1, json.dumps(ev, ensure_ascii=False))
    report = await svc.verify(oid)
    assert not report.ok and any("prev_hash" in p for p in report.problems)


async def test_cli_all_ok(svc, redis_server, prefix):
    await make(svc)
    await make(svc)
    cli = run_cli(redis_server.url, prefix, "--all", "--json")
    assert cli.returncode == 0, cli.stderr
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(lines) == 2 and all(r["ok"] for r in lines)
