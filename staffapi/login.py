"""Health, staff login and "who am I": POST /api/login -> {"token", "token_type": "Bearer", "expires_at", "user"}.
Per-username and per-IP lockout kept in Redis (workorders/login_guard.py), one audit line per attempt; staff
accounts from workorders/auth.py (demo accounts only with GOVDESK_DEMO=1).
"""
from __future__ import annotations

import asyncio
import logging

from staffapi import apischema
from staffapi.base import DUMMY_HASH, GUARD, SIGNER, USERS, json_body, ok, requires
from workorders import auth
from workorders.login_guard import audit, client_ip, mask_username
from workorders.model import WorkOrderError

log = logging.getLogger(__name__)


async def health(request):
    return ok({"status": "ok"})


async def login(request):
    ip = client_ip(request)
    try:
        data = await json_body(request)
        apischema.check_body(apischema.LOGIN, data)
    except WorkOrderError as exc:
        audit.warning("event=login_failure user=- ip=%s reason=%s", ip, exc.code)
        raise
    username, password = data["username"], data["password"]
    users = request.app[USERS]
    if not users:
        audit.error("event=login_failure user=%s ip=%s reason=no_accounts", mask_username(username), ip)
        raise WorkOrderError("no_accounts", "系统尚未配置工作人员账号，请联系系统管理员。", 503, retry_after=300)
    guard = request.app[GUARD]
    tries = await guard.attempt(username, ip)  # 429 while the username or this IP is locked: no password check
    user = users.get(username)
    loop = asyncio.get_running_loop()
    stored = user.password_hash if user else request.app[DUMMY_HASH]  # same cost for unknown users
    good = await loop.run_in_executor(None, auth.check_password, password, stored)
    if not user or not good:
        left = await guard.failed(username, ip, tries, "unknown_user" if user is None else "bad_password")
        raise WorkOrderError("bad_credentials", f"用户名或密码错误，还可尝试 {left} 次。" if left <= 3
                             else "用户名或密码错误。", 401, attempts_left=left)
    await guard.succeeded(username, ip, user.role)
    token, exp = request.app[SIGNER].issue(user)
    return ok({"token": token, "token_type": "Bearer", "expires_at": exp, "user": _me(user)})


def _me(user) -> dict:
    return {"username": user.username, "role": user.role, "unit_id": user.unit_id, "name": user.name}


@requires()
async def me(request):
    return ok(_me(request["user"]))
