"""Staff accounts, scrypt password hashes, HMAC-signed bearer tokens and role permissions.

Users come from (first match wins):
  GOVDESK_STAFF_USERS       JSON list of {username, password | password_hash, role, unit_id?, name?}
  GOVDESK_STAFF_USERS_FILE  the same as a YAML/JSON file
  GOVDESK_DEMO=1            explicit local demo mode: the demo accounts below (documented in
                            docs/benchmarks/workorders.md and the README):
    dispatcher/dispatcher123  unit_handler: handler/handler123 (unit from GOVDESK_DEMO_UNIT, default
    "C01T01-minzheng", 城关镇社会事务办公室)  supervisor/supervisor123  clerk/clerk123  admin/admin123  police/police123  centre/centre123
  otherwise no account at all (every login is refused and the staff API logs why): the demo
  passwords are public, so they never exist unless demo mode is asked for.
Token secret: GOVDESK_TOKEN_SECRET, else derived from the at-rest key (common.privacy).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.privacy import derive_key
from common.settings import env_flag, env_int, env_str
from workorders.model import Forbidden, WorkOrderError

log = logging.getLogger(__name__)

ROLES = ("dispatcher", "unit_handler", "supervisor", "clerk", "admin")
SYSTEM = {"username": "system", "role": "system"}
TOKEN_TTL = env_int("GOVDESK_TOKEN_TTL", 8 * 3600)

# Who may perform each lifecycle action ("system" = bot actions and the scheduler: always allowed).
ACTION_ROLES: dict[str, frozenset] = {
    "instant_answer": frozenset({"clerk", "dispatcher", "admin"}),
    "dispatch": frozenset({"dispatcher", "supervisor", "admin"}),
    "sign": frozenset({"unit_handler", "admin"}),
    "start": frozenset({"unit_handler", "admin"}),
    "reply": frozenset({"unit_handler", "admin"}),
    "return": frozenset({"unit_handler", "admin"}),
    "request_extension": frozenset({"unit_handler", "admin"}),
    "complete": frozenset({"dispatcher", "supervisor", "admin"}),
    "approve_extension": frozenset({"supervisor", "admin"}),
    "refuse_extension": frozenset({"supervisor", "admin"}),
    "supervise": frozenset({"supervisor", "admin"}),
    "warn": frozenset({"supervisor", "admin"}),
    "callback": frozenset({"dispatcher", "supervisor", "admin"}),
    "reopen": frozenset({"dispatcher", "supervisor", "admin"}),
    "merge": frozenset({"dispatcher", "supervisor", "admin"}),
    "archive": frozenset({"dispatcher", "supervisor", "admin"}),
    "rate": frozenset({"clerk", "dispatcher", "admin"}),
}
UNIT_BOUND_ACTIONS = frozenset({"sign", "start", "reply", "return", "request_extension"})
CREATE_ROLES = frozenset({"clerk", "dispatcher", "admin"})
ANALYTICS_ROLES = frozenset({"dispatcher", "supervisor", "admin"})
VERIFY_ROLES = frozenset({"supervisor", "admin"})
# Who sees the caller's full phone / name / address (besides the assigned unit handler).
FULL_CONTACT_ROLES = frozenset({"supervisor", "system"})

DEMO_USERS = [
    {"username": "dispatcher", "password": "dispatcher123", "role": "dispatcher", "name": "派单员"},
    {"username": "handler", "password": "handler123", "role": "unit_handler", "name": "承办人",
     "unit_id": env_str("GOVDESK_DEMO_UNIT", "C01T01-minzheng")},
    {"username": "supervisor", "password": "supervisor123", "role": "supervisor", "name": "督办员"},
    {"username": "clerk", "password": "clerk123", "role": "clerk", "name": "前台"},
    {"username": "admin", "password": "admin123", "role": "admin", "name": "管理员"},
    # Handlers bound to real units of the shipped directory (workorders/data/directory.yaml).
    {"username": "police", "password": "police123", "role": "unit_handler", "name": "城关派出所承办人",
     "unit_id": "C01T01-gongan"},
    {"username": "centre", "password": "centre123", "role": "unit_handler", "name": "城关镇便民服务中心承办人",
     "unit_id": "C01T01-zhengwu"},
]

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


@dataclass
class User:
    username: str
    role: str
    password_hash: str
    unit_id: str | None = None
    name: str = ""

    def actor(self) -> dict:
        out = {"username": self.username, "role": self.role}
        if self.unit_id:
            out["unit_id"] = self.unit_id
        return out


def demo_mode() -> bool:
    """GOVDESK_DEMO=1 (or true/yes/on): the local demo with its public demo accounts."""
    return env_flag("GOVDESK_DEMO")


def load_users(entries: list[dict] | None = None) -> dict[str, User]:
    if entries is None:
        if env_str("GOVDESK_STAFF_USERS"):
            entries = json.loads(env_str("GOVDESK_STAFF_USERS"))
        elif env_str("GOVDESK_STAFF_USERS_FILE"):
            entries = yaml.safe_load(Path(env_str("GOVDESK_STAFF_USERS_FILE")).read_text(encoding="utf-8"))
        elif demo_mode():
            log.warning("GOVDESK_DEMO is on: the public demo staff accounts (clerk/clerk123 ...) are active; "
                        "never expose this instance to a network")
            entries = DEMO_USERS
        else:
            log.error("no staff accounts configured: every staff login is refused. Set GOVDESK_STAFF_USERS or "
                      "GOVDESK_STAFF_USERS_FILE, or GOVDESK_DEMO=1 for the local demo accounts")
            entries = []
    users = {}
    for e in entries:
        role = e.get("role")
        if role not in ROLES:
            raise ValueError(f"user {e.get('username')!r}: unknown role {role!r}")
        if role == "unit_handler" and not e.get("unit_id"):
            raise ValueError(f"user {e.get('username')!r}: a unit_handler needs unit_id")
        pw_hash = e.get("password_hash") or hash_password(e["password"])
        users[e["username"]] = User(e["username"], role, pw_hash, e.get("unit_id"), e.get("name", ""))
    return users


def _token_secret() -> bytes:
    given = env_str("GOVDESK_TOKEN_SECRET")
    if given:
        return given.encode()
    return derive_key("staff-api-token")


class TokenSigner:
    def __init__(self, secret: bytes | None = None, ttl: int = TOKEN_TTL):
        self.secret = secret or _token_secret()
        self.ttl = ttl

    def issue(self, user: User, now: float | None = None) -> tuple[str, int]:
        exp = int((now or time.time()) + self.ttl)
        payload = _b64(json.dumps({"sub": user.username, "role": user.role, "unit": user.unit_id, "exp": exp},
                                  separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())
        return f"{payload}.{sig}", exp

    def verify(self, token: str, now: float | None = None) -> dict:
        try:
            payload, sig = token.split(".")
            expected = _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(sig, expected):
                raise ValueError("signature")
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError, json.JSONDecodeError):
            raise WorkOrderError("bad_token", "登录凭证无效，请重新登录。", 401) from None
        if claims.get("exp", 0) < (now or time.time()):
            raise WorkOrderError("token_expired", "登录已过期，请重新登录。", 401)
        return claims


# --- permissions ---------------------------------------------------------------------------------
def actor_of(actor: dict | None) -> dict:
    return dict(actor) if actor else dict(SYSTEM)


def authorize_action(actor: dict, action: str, order: dict) -> None:
    role = actor.get("role")
    if role == "system":
        return
    allowed = ACTION_ROLES.get(action, frozenset())
    if role not in allowed:
        raise Forbidden("forbidden", "您的岗位无权执行此操作。", role=role, action=action)
    if role == "unit_handler" and action in UNIT_BOUND_ACTIONS and order.get("lead_unit_id") != actor.get("unit_id"):
        raise Forbidden("not_your_unit", "该工单不是派给本单位的，无权操作。")


def may(actor: dict, action: str, order: dict) -> bool:
    try:
        authorize_action(actor, action, order)
    except Forbidden:
        return False
    return True


def can_view(actor: dict, order: dict) -> bool:
    if actor.get("role") != "unit_handler":
        return True
    unit = actor.get("unit_id")
    return bool(unit) and (order.get("lead_unit_id") == unit or unit in (order.get("co_unit_ids") or []))


def sees_full_contact(actor: dict | None, order: dict) -> bool:
    if actor is None:
        return True
    role = actor.get("role")
    if role in FULL_CONTACT_ROLES:
        return True
    return role == "unit_handler" and bool(actor.get("unit_id")) and order.get("lead_unit_id") == actor.get("unit_id")
