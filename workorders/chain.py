"""Per-order hash chain of events: tamper evidence for the work-order history.

Each event is {seq, at, actor, action, before, after, prev_hash, hash}; `hash` is SHA-256 over
the previous hash followed by the canonical JSON of the event without its `hash`. The head
(last seq + hash) is also kept apart from the list (store `chain:heads`) and in the order itself,
so that deleting the last event is detected too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

GENESIS = "0" * 64


def canonical(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(event: dict) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256((event.get("prev_hash", "") + canonical(body)).encode("utf-8")).hexdigest()


def make_event(prev: dict | None, *, at: str, actor: dict, action: str, before: dict, after: dict) -> dict:
    event = {
        "seq": (prev["seq"] + 1) if prev else 1,
        "at": at,
        "actor": actor,
        "action": action,
        "before": before,
        "after": after,
        "prev_hash": prev["hash"] if prev else GENESIS,
    }
    event["hash"] = event_hash(event)
    return event


@dataclass
class ChainReport:
    order_id: str
    ok: bool = True
    events: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)

    def to_dict(self) -> dict:
        return {"order_id": self.order_id, "ok": self.ok, "events": self.events, "problems": self.problems}


def verify_events(order_id: str, events: list[dict], heads: list[str | None] = ()) -> ChainReport:
    """Check seq continuity, prev-hash links, each hash, and the recorded head(s) "seq:hash"."""
    report = ChainReport(order_id, events=len(events))
    if not events:
        report.fail("没有任何事件记录 (no events)")
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        seq = event.get("seq")
        if seq != expected_seq:
            report.fail(f"事件序号不连续：期望 {expected_seq}，实际 {seq} (event missing or reordered)")
        if event.get("prev_hash") != prev_hash:
            report.fail(f"第 {seq} 条事件的前序哈希不匹配 (prev_hash mismatch)")
        if event_hash(event) != event.get("hash"):
            report.fail(f"第 {seq} 条事件内容被改动 (hash mismatch)")
        prev_hash = event.get("hash", "")
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    last = f"{events[-1].get('seq')}:{events[-1].get('hash')}" if events else None
    for head in heads:
        if head and head != last:
            report.fail(f"链头记录 {head[:20]}… 与最后一条事件不一致 (head mismatch: trailing event deleted or edited)")
    return report
