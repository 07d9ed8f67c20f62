"""Work-order vocabulary: states, actions, categories, rating levels and the error type.

The ONE home of the state vocabulary: a new state is an entry here (code, label, the words the
bot tells a resident), its transitions in lifecycle.py and who may act in auth.py; the API returns
each order's label and allowed actions, so no other file (bot, consoles, reports) lists states.
"""
from __future__ import annotations

from common.settings import CHANNELS as CONVERSATION_CHANNELS

# --- states (English code -> Chinese label) --------------------------------------------------
ACCEPTED, DISPATCHED, SIGNED, IN_PROGRESS = "accepted", "dispatched", "signed", "in_progress"
REPLIED, COMPLETED, CALLBACK_DONE, ARCHIVED, MERGED = "replied", "completed", "callback_done", "archived", "merged"

STATE_LABELS = {
    ACCEPTED: "受理",
    DISPATCHED: "派单",
    SIGNED: "签收",
    IN_PROGRESS: "办理",
    REPLIED: "反馈",
    COMPLETED: "办结",
    CALLBACK_DONE: "回访",
    ARCHIVED: "归档",
    MERGED: "已并单",
}
STATES = tuple(STATE_LABELS)
# How the bot tells a resident where the order stands ({unit}: the unit handling it).
STATE_PROGRESS = {
    ACCEPTED: "已经受理了，正在安排部门办理",
    DISPATCHED: "已经交给{unit}办理了",
    SIGNED: "{unit}已经接手，正在办",
    IN_PROGRESS: "{unit}正在办",
    REPLIED: "{unit}已经办好并答复了",
    COMPLETED: "已经办完了",
    CALLBACK_DONE: "已经办完了",
    ARCHIVED: "已经办完了",
    MERGED: "和别人反映的同一件事合在一起办",
}
SOME_UNIT = "有关部门"   # {unit} before an order has a unit
OPEN_STATES = frozenset({ACCEPTED, DISPATCHED, SIGNED, IN_PROGRESS, REPLIED})
CLOSED_STATES = frozenset({COMPLETED, CALLBACK_DONE, ARCHIVED, MERGED})
DONE_STATES = frozenset({COMPLETED, CALLBACK_DONE, ARCHIVED})          # 办结 or later; a resident may rate
RATEABLE_STATES = DONE_STATES
REPLIED_OR_LATER = frozenset({REPLIED}) | DONE_STATES
CALLED_BACK_STATES = frozenset({CALLBACK_DONE, ARCHIVED})
WAITING_FOR_UNIT = frozenset({ACCEPTED, DISPATCHED, SIGNED, IN_PROGRESS})  # the unit's deadline runs

# --- actions (English code -> Chinese label) --------------------------------------------------
ACTION_LABELS = {
    "create": "受理",
    "instant_answer": "即时答复",
    "dispatch": "派单",
    "sign": "签收",
    "start": "办理",
    "reply": "反馈",
    "complete": "办结",
    "return": "退单",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "refuse_extension": "驳回延期",
    "supervise": "督办",
    "warn": "预警",
    "callback": "回访",
    "reopen": "重办",
    "merge": "并单",
    "archive": "归档",
    "rate": "评价",
}
ACTIONS = tuple(a for a in ACTION_LABELS if a != "create")

# --- classification vocabulary (shared with workorders.classify) ------------------------------
CATEGORIES = ("政务类", "警务类", "咨询类", "意见建议类", "投诉类", "综治类")
TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
URGENCIES = ("特急", "紧急", "一般")
EMOTIONS = ("平静", "焦虑", "愤怒")
# What the caller's own words say about the order ("我要投诉" -> a complaint), over the text model's guess.
KIND_CLASSIFICATION = {
    "complain": {"type": "投诉", "category": "投诉类"},
    "suggest": {"type": "建议", "category": "意见建议类"},
    "praise": {"type": "表扬", "category": "意见建议类"},
}
# Where an order came from: a conversation channel, a hotline agent, or another system through the API.
CHANNELS = CONVERSATION_CHANNELS + ("hotline", "api")

# --- 好差评 ------------------------------------------------------------------------------------
RATING_LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
SATISFIED_LEVELS = frozenset(RATING_LEVELS[:3])
BAD_LEVELS = frozenset(RATING_LEVELS[3:])

# Personal fields: stored only encrypted (common.privacy.encrypt).
PII_FIELDS = ("caller_name", "caller_phone", "caller_id_number", "address_detail")


class WorkOrderError(Exception):
    """A refused request: `code` is a stable English code, `message` plain Chinese for people."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, **details):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(WorkOrderError):
    status = 404


class IllegalTransition(WorkOrderError):
    status = 409


class Conflict(WorkOrderError):
    status = 409


class Forbidden(WorkOrderError):
    status = 403
