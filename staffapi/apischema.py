"""Request and response schemas of the staff API: one source for input validation and for the OpenAPI
document, so that what the document promises is what the server checks.

Schemas are OpenAPI 3.0 Schema Objects restricted to: type, nullable, enum, minLength, maxLength,
pattern, minimum, maximum, properties, required, additionalProperties, items, minItems, maxItems,
anyOf, default. A node may carry "x-error" / "x-message": the error code and Chinese message used when
validation fails at or below it (otherwise "bad_field" / "字段 … 格式不正确"). `apischema()` drops
the "x-" keys for the document.

    check_body(CREATE_ORDER, data)                  # raises WorkOrderError 400
    q = parse_query(ORDERS_QUERY, request.query)    # typed values (defaults filled in); 400 on bad ones
"""
from __future__ import annotations

import math
import re
from datetime import datetime

from workorders.auth import ROLES
from workorders.model import ACTIONS, CATEGORIES, CHANNELS, EMOTIONS, STATES, TYPES, URGENCIES, WorkOrderError

MAX_DEPTH = 32           # nesting of a JSON body (the schemas need 3)
YEARS = (1970, 2100)     # dates accepted in queries
UNIT_ID = {"type": "string", "minLength": 1, "maxLength": 100}
DIRECTORY_LEVELS = ("prefecture", "county", "township", "village")
_QUERY_INT = re.compile(r"[+-]?[0-9]{1,12}", re.ASCII)


def s(max_length: int, min_length: int | None = None, nullable: bool = True, **kw) -> dict:
    out = {"type": "string", "maxLength": max_length, **kw}
    if min_length is not None:
        out["minLength"] = min_length
    if nullable:
        out["nullable"] = True
    return out


def enum(values, nullable: bool = True, **kw) -> dict:
    out = {"type": "string", "enum": list(values), **kw}
    if nullable:  # OpenAPI 3.0.3: a nullable enum lists null among its values
        out["nullable"] = True
        out["enum"].append(None)
    return out


NON_BLANK = r"\S"

# --- request bodies ------------------------------------------------------------------------------
LOGIN = {
    "type": "object", "required": ["username", "password"], "additionalProperties": False,
    "x-error": "credentials_required", "x-message": "请输入用户名和密码。",
    "properties": {"username": s(64, 1, nullable=False), "password": s(256, 1, nullable=False)},
}

CREATE_ORDER = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {
        "text": s(2000, 1, nullable=False, pattern=NON_BLANK, **{"x-error": "text_required",
                                                                 "x-message": "请填写诉求内容（2000字以内）。"}),
        "channel": enum(CHANNELS),
        "caller": {"type": "object", "nullable": True, "additionalProperties": False, "properties": {
            "name": s(50),
            # 7-15 digits, separators allowed: the service's own rule (phone_digits)
            "phone": s(30, pattern=r"^[^0-9]*([0-9][^0-9]*){7,15}$", **{
                "x-error": "bad_phone", "x-message": "联系电话格式不正确。"}),
            "id_number": s(30), "address_detail": s(200)}},
        "place": {"type": "object", "nullable": True, "additionalProperties": False, "properties": {
            "county": s(50), "township": s(50), "village": s(50)}},
        "category": enum(CATEGORIES), "type": enum(TYPES), "urgency": enum(URGENCIES), "emotion": enum(EMOTIONS),
        "matter_id": s(200), "title": s(200), "client_request_id": s(128),
        "instant_answer": s(2000), "unit_id": {**UNIT_ID, "nullable": True},
        "co_unit_ids": {"type": "array", "nullable": True, "maxItems": 20, "items": UNIT_ID},
    },
}

# 更正登记: the front desk's corrected form replaces text, title, caller and place of an order still 受理.
CORRECT_ORDER = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {k: CREATE_ORDER["properties"][k] for k in ("text", "title", "caller", "place")},
}

QUEUE_TICKET = {"type": "object", "required": ["window"], "additionalProperties": False, "properties": {
    "window": {"type": "string", "enum": ["A", "B", "C"], "x-error": "unknown_window",
               "x-message": "请选择窗口（A 综合受理、B 社保医保、C 户籍证件）。"},
    "elderly": {"type": "boolean", "nullable": True}}}
QUEUE_CALL = {"type": "object", "required": ["window"], "additionalProperties": False,
              "properties": {"window": QUEUE_TICKET["properties"]["window"]}}
DESK_RATING = {"type": "object", "required": ["level"], "additionalProperties": False, "properties": {
    "level": {"anyOf": [s(20), {"type": "integer", "minimum": 1, "maximum": 5}]}}}

ACTION = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "unit_id": {**UNIT_ID, "nullable": True},
        "co_unit_ids": {"type": "array", "nullable": True, "maxItems": 20, "items": UNIT_ID},
        "reply": s(2000), "reason": s(500), "note": s(500), "answer": s(2000),
        "satisfied": {"type": "boolean", "nullable": True},
        "force": {"type": "boolean", "nullable": True},
        "master_id": s(40),
        # rate: 1-5 or a word (好差评); dispatch: the directory level of the suggestion
        "level": {"anyOf": [s(20), {"type": "integer", "minimum": 1, "maximum": 5}]},
        "channel": s(20), "department": s(100),
    },
}

BOT_MESSAGE = {
    "type": "object", "required": ["message", "session"], "additionalProperties": False,
    "properties": {
        "message": s(500, 1, nullable=False, pattern=NON_BLANK, **{
            "x-error": "message_required", "x-message": "请输入要发给机器人的话（500字以内）。"}),
        "session": s(64, 4, nullable=False, pattern=r"^[A-Za-z0-9_-]{4,64}$", **{
            "x-message": "session 必须是 4-64 位字母数字。"}),
    },
}


# --- query parameters ----------------------------------------------------------------------------
def q(name: str, schema: dict, description: str | None = None) -> dict:
    out = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        out["description"] = description
    return out


def q_int(name: str, default: int, lo: int, hi: int) -> dict:
    return q(name, {"type": "integer", "minimum": lo, "maximum": hi, "default": default})


# ISO 8601 date or date-time (local time unless an offset is given), years 1970-2100.
TIME_PATTERN = (r"^(19[7-9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
                r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")


def q_time(name: str) -> dict:
    return q(name, {"type": "string", "maxLength": 40, "pattern": TIME_PATTERN, "x-kind": "time"},
             f"ISO 8601 date or date-time, years {YEARS[0]}-{YEARS[1]}, e.g. 2026-03-01")


def q_enum(name: str, values, default: str | None = None) -> dict:
    schema = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return q(name, schema)


ORDERS_QUERY = [
    q_enum("state", STATES),
    q("action", {"type": "string", "enum": list(ACTIONS)}, "Orders whose state allows this action (a console's queue)"),
    q("unit", s(100, 1, nullable=False)), q_enum("category", CATEGORIES),
    q_enum("type", TYPES), q_enum("urgency", URGENCIES), q("township", s(50, 1, nullable=False)),
    q("village", s(50, 1, nullable=False)), q("overdue", {"type": "boolean"}), q_time("since"), q_time("until"),
    q("q", s(200, nullable=False), "Text in the title or (masked) text, or an order id"),
    q_int("limit", 50, 1, 500), q_int("offset", 0, 0, 10 ** 7),
]
KPI_QUERY = [q_enum("group_by", ("unit", "department"), "unit"), q_time("since"), q_time("until"),
             q("unit", s(100, 1, nullable=False))]
HOTSPOTS_QUERY = [q_int("weeks", 8, 2, 104), q_enum("format", ("json", "csv"), "json")]
SUPERVISION_QUERY = [q_int("limit", 200, 1, 1000)]
UNITS_QUERY = [q("department", s(100, 1, nullable=False)), q_enum("level", DIRECTORY_LEVELS),
               q("place_id", s(100, 1, nullable=False)), q_int("limit", 200, 1, 5000)]
MATERIAL_QUERY = [{"name": "item", "in": "query", "required": True, "description": "the checklist item (材料名称)",
                   "schema": s(60, 1, nullable=False, pattern=NON_BLANK)}]
CATALOGUE_SEARCH_QUERY = [
    {"name": "q", "in": "query", "required": True, "schema": s(200, 1, nullable=False, pattern=NON_BLANK)},
    q_int("k", 5, 1, 20)]


# --- responses -----------------------------------------------------------------------------------
ERROR = {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}
ME = {"type": "object", "required": ["username", "role"], "properties": {
    "username": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)},
    "unit_id": {"type": "string", "nullable": True}, "name": {"type": "string", "nullable": True}}}
TOKEN = {"type": "object", "required": ["token", "token_type", "expires_at", "user"], "properties": {
    "token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
    "expires_at": {"type": "integer"}, "user": ME}}
ORDER = {"type": "object", "required": ["id", "state", "state_label", "created_at", "category", "type", "urgency",
                                        "caller", "actions"], "properties": {
    "id": {"type": "string"}, "state": {"type": "string", "enum": list(STATES)}, "state_label": {"type": "string"},
    "created_at": {"type": "string"}, "category": {"type": "string", "enum": list(CATEGORIES)},
    "type": {"type": "string", "enum": list(TYPES)}, "urgency": {"type": "string", "enum": list(URGENCIES)},
    "caller": {"type": "object"}, "overdue": {"type": "boolean"},
    # What the viewer may do now (the state machine filtered by role and unit): consoles draw buttons from it.
    "actions": {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)}}}}
CREATED_ORDER = {**ORDER, "required": ORDER["required"] + ["created"],
                 "properties": {**ORDER["properties"], "created": {"type": "boolean"}}}
ORDER_LIST = {"type": "object", "required": ["total", "items"], "properties": {
    "total": {"type": "integer"}, "items": {"type": "array", "items": ORDER}}}
UNIT = {"type": "object", "required": ["id", "name", "level"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string", "enum": list(DIRECTORY_LEVELS)}}}
UNIT_LIST = {"type": "object", "required": ["total", "items"], "properties": {
    "total": {"type": "integer"}, "items": {"type": "array", "items": UNIT}}}
OBJECT = {"type": "object"}


# --- validation ----------------------------------------------------------------------------------
class _Invalid(Exception):
    def __init__(self, path: list, problem: str, nodes: list[dict]):
        super().__init__(problem)
        self.path, self.problem, self.nodes = path, problem, nodes


def _label(path: list) -> str:
    return ".".join(str(p) for p in path) or "请求内容"


_TYPE_ZH = {"object": "对象", "array": "列表", "string": "文字", "integer": "整数", "number": "数字",
            "boolean": "true 或 false"}


def _walk(schema: dict, value, path: list, nodes: list[dict]) -> None:
    nodes = nodes + [schema]
    if "anyOf" in schema:
        for alt in schema["anyOf"]:
            try:
                _walk(alt, value, path, nodes)
                return
            except _Invalid:
                continue
        raise _Invalid(path, "格式不正确", nodes)
    if value is None:
        if schema.get("nullable"):
            return
        raise _Invalid(path, "不能为空", nodes)
    kind = schema.get("type")
    ok = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
          "string": lambda v: isinstance(v, str),
          "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
          "boolean": lambda v: isinstance(v, bool)}
    if kind and not ok[kind](value):
        raise _Invalid(path, f"应为{_TYPE_ZH[kind]}", nodes)
    if "enum" in schema and value not in schema["enum"]:
        raise _Invalid(path, f"只能是：{'、'.join(map(str, schema['enum']))}", nodes)
    if kind == "string":
        if len(value) < schema.get("minLength", 0):
            raise _Invalid(path, "不能为空" if schema.get("minLength") == 1 else f"至少 {schema['minLength']} 个字", nodes)
        if len(value) > schema.get("maxLength", math.inf):
            raise _Invalid(path, f"不能超过 {schema['maxLength']} 个字", nodes)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise _Invalid(path, "格式不正确", nodes)
    elif kind in ("integer", "number"):
        if value < schema.get("minimum", -math.inf) or value > schema.get("maximum", math.inf):
            raise _Invalid(path, f"应在 {schema.get('minimum')} 到 {schema.get('maximum')} 之间", nodes)
    elif kind == "array":
        if len(value) > schema.get("maxItems", math.inf) or len(value) < schema.get("minItems", 0):
            raise _Invalid(path, f"最多 {schema.get('maxItems')} 项", nodes)
        for i, item in enumerate(value):
            _walk(schema.get("items", {}), item, path + [i], nodes)
    elif kind == "object":
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise _Invalid(path + [name], "必须填写", nodes + [props.get(name, {})])
        if schema.get("additionalProperties") is False:
            unknown = sorted(set(value) - set(props))
            if unknown:
                raise _Invalid(path, f"含有不认识的字段：{'、'.join(map(str, unknown))}", nodes)
        for name, item in value.items():
            if name in props:
                _walk(props[name], item, path + [name], nodes)


def check_body(schema: dict, data) -> None:
    """Raise WorkOrderError(400) unless `data` matches `schema`."""
    try:
        _walk(schema, data, [], [])
    except _Invalid as exc:
        code, message = "bad_field", None
        for node in reversed(exc.nodes):
            if "x-error" in node or "x-message" in node:
                code = node.get("x-error", code)
                message = node.get("x-message")
                break
        label = _label(exc.path)
        raise WorkOrderError(code, message or f"字段 {label} {exc.problem}。", 400, field=label) from None


def json_depth_ok(data, limit: int = MAX_DEPTH) -> bool:
    """True if `data` nests at most `limit` containers deep (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return False
            children = value.values() if isinstance(value, dict) else value
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def parse_time_param(name: str, value: str) -> str:
    from workorders.lifecycle import parse_time

    bad = WorkOrderError("bad_query", f"参数 {name} 应为 {YEARS[0]}–{YEARS[1]} 年间的日期，如 2026-03-01。", 400)
    try:
        t = datetime.fromisoformat(value)
    except (ValueError, TypeError):
        raise bad from None
    if not YEARS[0] <= t.year <= YEARS[1]:
        raise bad
    try:
        return parse_time(t).isoformat()
    except (ValueError, OverflowError):
        raise bad from None


def parse_query(params: list[dict], query) -> dict:
    """Typed values of the documented query parameters (missing ones get their default or None)."""
    out = {}
    for p in params:
        name, schema = p["name"], p["schema"]
        raw = query.get(name)
        if raw is None:
            if p.get("required"):
                raise WorkOrderError("bad_query", f"缺少参数 {name}。", 400, field=name)
            out[name] = schema.get("default")
            continue
        kind = schema.get("type")
        if kind == "integer":
            if not _QUERY_INT.fullmatch(raw):
                raise WorkOrderError("bad_query", f"参数 {name} 必须是整数。", 400, field=name)
            value = int(raw)
            if not schema["minimum"] <= value <= schema["maximum"]:
                raise WorkOrderError("bad_query", f"参数 {name} 应在 {schema['minimum']} 到 {schema['maximum']} 之间。",
                                     400, field=name)
        elif kind == "boolean":
            if raw not in ("true", "false"):
                raise WorkOrderError("bad_query", f"参数 {name} 只能是 true 或 false。", 400, field=name)
            value = raw == "true"
        else:
            if "enum" in schema and raw not in schema["enum"]:
                raise WorkOrderError("bad_query", f"参数 {name} 只能是：{'、'.join(schema['enum'])}。", 400,
                                     field=name, allowed=list(schema["enum"]))
            if not schema.get("minLength", 0) <= len(raw) <= schema.get("maxLength", math.inf):
                raise WorkOrderError("bad_query", f"参数 {name} 长度应在 {schema.get('minLength', 0)} 到 "
                                     f"{schema.get('maxLength')} 个字之间。", 400, field=name)
            if schema.get("x-kind") == "time":
                if not re.search(schema["pattern"], raw):
                    raise WorkOrderError("bad_query", f"参数 {name} 应为 {YEARS[0]}–{YEARS[1]} 年间的日期，如 2026-03-01。",
                                         400, field=name)
                value = parse_time_param(name, raw)
            elif "pattern" in schema and not re.search(schema["pattern"], raw):
                raise WorkOrderError("bad_query", f"参数 {name} 格式不正确。", 400, field=name)
            else:
                value = raw
        out[name] = value
    return out


def apischema(schema):
    """A copy without the "x-" keys used only by the validator."""
    if isinstance(schema, dict):
        return {k: apischema(v) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [apischema(v) for v in schema]
    return schema
