"""The work-order state machine: a transition table plus the rules of each action.

`plan(order, action, data, now, policy)` is pure: it checks the action against the table and the
action's rules and returns the fields to change. The service persists them (one MULTI/EXEC) and
appends the event to the hash chain.
"""
from __future__ import annotations

from datetime import datetime

from workorders.calendar import to_local
from workorders.model import (
    ACCEPTED, ARCHIVED, BAD_LEVELS, CALLBACK_DONE, COMPLETED, DISPATCHED, IN_PROGRESS, MERGED,
    OPEN_STATES, REPLIED, SIGNED, STATE_LABELS, ACTION_LABELS, Conflict, IllegalTransition, WorkOrderError,
)

# action -> (states it is allowed from, resulting state or None = state unchanged)
TRANSITIONS: dict[str, tuple[frozenset, str | None]] = {
    "instant_answer": (frozenset({ACCEPTED}), COMPLETED),
    "dispatch": (frozenset({ACCEPTED}), DISPATCHED),
    "sign": (frozenset({DISPATCHED}), SIGNED),
    "start": (frozenset({SIGNED}), IN_PROGRESS),
    "reply": (frozenset({IN_PROGRESS}), REPLIED),
    "complete": (frozenset({REPLIED}), COMPLETED),
    "return": (frozenset({DISPATCHED, SIGNED}), ACCEPTED),
    "request_extension": (frozenset({DISPATCHED, SIGNED, IN_PROGRESS}), None),
    "approve_extension": (frozenset({DISPATCHED, SIGNED, IN_PROGRESS}), None),
    "refuse_extension": (frozenset({DISPATCHED, SIGNED, IN_PROGRESS}), None),
    "supervise": (frozenset(OPEN_STATES), None),
    "warn": (frozenset(OPEN_STATES), None),
    "callback": (frozenset({COMPLETED}), CALLBACK_DONE),
    "reopen": (frozenset({COMPLETED, CALLBACK_DONE}), IN_PROGRESS),
    "merge": (frozenset({ACCEPTED, DISPATCHED, SIGNED, IN_PROGRESS}), MERGED),
    "archive": (frozenset({CALLBACK_DONE}), ARCHIVED),
    "rate": (frozenset({REPLIED, COMPLETED, CALLBACK_DONE, ARCHIVED}), None),  # bad rating -> IN_PROGRESS
}


def iso(value: datetime | None) -> str | None:
    return to_local(value).isoformat(timespec="seconds") if value else None


def parse_time(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return to_local(value)
    return to_local(datetime.fromisoformat(str(value)))


def allowed_actions(state: str) -> list[str]:
    return [a for a, (sources, _) in TRANSITIONS.items() if state in sources]


def states_allowing(action: str) -> tuple[str, ...]:
    """The states an action may start from (a console's queue for that action)."""
    return tuple(sorted(TRANSITIONS[action][0]))


def available_actions(order: dict, max_extensions: int, now: datetime | None = None) -> list[str]:
    """Actions the order's state and history allow now (before who asks and what they send).

    The consoles render their buttons from this (through the API's `actions` field), so a button is
    never offered for an action plan() would refuse for the order's own sake.
    """
    ext = (order.get("extension_request") or {}).get("status")
    used = int(order.get("extensions_used") or 0)
    deadline = _deadline_of(order)
    in_time = now is None or deadline is None or now <= deadline
    preconditions = {
        "request_extension": ext != "pending" and used < max_extensions and in_time,
        "approve_extension": ext == "pending",
        "refuse_extension": ext == "pending",
        "reopen": (order.get("callback") or {}).get("satisfied") is False,
        "warn": False,  # raised by the deadline watcher only
    }
    return [a for a in allowed_actions(order["state"]) if preconditions.get(a, True)]


def check(order: dict, action: str) -> str | None:
    """Raise IllegalTransition unless `action` is allowed now; return the target state."""
    if action not in TRANSITIONS:
        raise WorkOrderError("unknown_action", f"不支持的操作：{action}", 400,
                             allowed=sorted(TRANSITIONS))
    sources, target = TRANSITIONS[action]
    state = order["state"]
    if state not in sources:
        raise IllegalTransition(
            "illegal_transition",
            f"工单当前状态为“{STATE_LABELS.get(state, state)}”，不能执行“{ACTION_LABELS.get(action, action)}”。",
            state=state, action=action, allowed=allowed_actions(state))
    return target


def _text(data: dict, key: str, label: str, minimum: int = 2) -> str:
    value = str(data.get(key) or "").strip()
    if len(value) < minimum:
        raise WorkOrderError(f"{key}_required", f"请填写{label}。", 400)
    return value


def _deadline_of(order: dict) -> datetime | None:
    return parse_time(order.get("deadline"))


def plan(order: dict, action: str, data: dict, now: datetime, policy, actor: dict | None = None) -> dict:
    """Return the changed fields for `action` (including "state" when it changes)."""
    target = check(order, action)
    actor = actor or {}
    ch: dict = {}
    if target and target != order["state"]:
        ch["state"] = target
    t = iso(now)

    if action == "instant_answer":
        ch.update(reply=_text(data, "answer", "答复内容"), replied_at=t, completed_at=t, on_time=True,
                  instant=True)
    elif action == "dispatch":
        unit = str(data.get("unit_id") or "").strip()
        if not unit:
            raise WorkOrderError("unit_required", "请指定承办单位。", 400)
        co = [str(u) for u in (data.get("co_unit_ids") or []) if u and str(u) != unit]
        ch.update(lead_unit_id=unit, co_unit_ids=co, dispatched_at=t,
                  sign_deadline=iso(policy.sign_deadline(now)),
                  dispatch_level=data.get("level"), dispatch_reason=data.get("reason"),
                  lead_department=data.get("department") or order.get("lead_department"))
    elif action == "sign":
        sd = parse_time(order.get("sign_deadline"))
        ch.update(signed_at=t, sign_on_time=bool(sd is None or now <= sd))
    elif action == "start":
        ch.update(started_at=t)
    elif action == "reply":
        dl = _deadline_of(order)
        ch.update(reply=_text(data, "reply", "答复内容"), replied_at=t, on_time=bool(dl is None or now <= dl))
        rect = order.get("rectification") or {}
        if rect.get("status") == "open":
            ch["rectification"] = {**rect, "status": "replied", "replied_at": t}
    elif action == "complete":
        ch.update(completed_at=t)
    elif action == "return":
        reason = _text(data, "reason", "退单理由")
        history = list(order.get("returns") or [])
        history.append({"unit_id": order.get("lead_unit_id"), "reason": reason, "at": t,
                        "by": actor.get("username")})
        ch.update(returns=history, return_reason=reason, lead_unit_id=None, co_unit_ids=[],
                  sign_deadline=None, signed_at=None, started_at=None)
    elif action == "request_extension":
        reason = _text(data, "reason", "延期理由")
        dl = _deadline_of(order)
        if dl is not None and now > dl:
            raise WorkOrderError("deadline_passed", "已超过办理期限，不能再申请延期，请尽快办理。", 409)
        if (order.get("extension_request") or {}).get("status") == "pending":
            raise Conflict("extension_pending", "已有延期申请正在审批中。")
        if int(order.get("extensions_used") or 0) >= policy.max_extensions:
            raise Conflict("extension_limit", f"每件工单最多延期{policy.max_extensions}次，已用完。")
        ch.update(extension_request={"status": "pending", "reason": reason, "requested_at": t,
                                     "by": actor.get("username")})
    elif action in ("approve_extension", "refuse_extension"):
        req = dict(order.get("extension_request") or {})
        if req.get("status") != "pending":
            raise Conflict("no_pending_extension", "没有待审批的延期申请。")
        req.update(decided_at=t, decided_by=actor.get("username"), note=data.get("note"))
        if action == "approve_extension":
            dl = _deadline_of(order) or now
            req["status"] = "approved"
            new = policy.extended_deadline(dl)
            req["new_deadline"] = iso(new)
            ch.update(deadline=iso(new), extensions_used=int(order.get("extensions_used") or 0) + 1)
        else:
            req["status"] = "refused"
        ch["extension_request"] = req
    elif action in ("supervise", "warn"):
        entries = list(order.get("supervision") or [])
        entries.append({"kind": action, "at": t, "by": actor.get("username"),
                        "note": data.get("note"), "trigger": data.get("trigger")})
        ch["supervision"] = entries
        if action == "supervise":
            ch["supervised"] = True
    elif action == "callback":
        if "satisfied" not in data or not isinstance(data.get("satisfied"), bool):
            raise WorkOrderError("satisfied_required", "请填写回访结果（满意或不满意）。", 400)
        ch.update(callback={"satisfied": data["satisfied"], "note": data.get("note"), "at": t,
                            "by": actor.get("username")},
                  callback_at=t, callback_required=False)
        rect = order.get("rectification") or {}
        if rect.get("status") == "replied":
            ch["rectification"] = {**rect, "status": "closed", "closed_at": t}
    elif action == "reopen":
        cb = order.get("callback") or {}
        if cb.get("satisfied") is not False:
            raise Conflict("reopen_needs_unsatisfied", "只有回访不满意的工单才能重办。")
        # the resident's reason goes with the order back to the unit (the callback itself is reset)
        ch.update(reopen_reason=cb.get("note") or "回访不满意", reopened_count=int(order.get("reopened_count") or 0) + 1,
                  reopened_at=t,
                  deadline=iso(policy.reopen_deadline(now)), deadline_kind="reopen",
                  reply=None, replied_at=None, completed_at=None, callback=None, on_time=None,
                  callback_required=True)
    elif action == "merge":
        master = str(data.get("master_id") or "").strip()
        if not master:
            raise WorkOrderError("master_required", "请指定要并入的主工单。", 400)
        if master == order["id"]:
            raise WorkOrderError("merge_self", "不能把工单并入它自己。", 400)
        ch.update(merged_into=master, closed_at=t)
    elif action == "archive":
        cb = order.get("callback") or {}
        if cb.get("satisfied") is False and not data.get("force"):
            raise Conflict("archive_needs_reopen", "回访不满意的工单应先重办；确需归档请由督办人员强制归档并说明理由。")
        if data.get("force"):
            ch["archive_note"] = _text(data, "note", "强制归档理由")
        ch.update(archived_at=t)
    elif action == "rate":
        level = data["level"]
        ratings = list(order.get("ratings") or [])
        ratings.append({"level": level, "channel": data.get("channel"), "at": t})
        ch.update(ratings=ratings, rating=level)
        if level in BAD_LEVELS:
            ch.update(state=IN_PROGRESS, deadline=iso(policy.rectification_deadline(now)),
                      deadline_kind="rectification", rectification={"status": "open", "opened_at": t,
                                                                    "level": level},
                      callback_required=True, reply=None, replied_at=None, completed_at=None,
                      callback=None, on_time=None, reopened_count=int(order.get("reopened_count") or 0) + 1)
            if order["state"] == IN_PROGRESS:
                ch.pop("state")
    return ch

