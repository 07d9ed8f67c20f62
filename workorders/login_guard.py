"""Staff login protection: per-username and per-client-IP failure counters with lockout, kept in Redis
(so every staff-API process shares them), and one audit line per login attempt.

    guard = LoginGuard(redis, prefix="wo")
    tries = await guard.attempt(username, ip)   # 429 (+ retry_after) while locked; counts this try
    ... check the password ...
    await guard.failed(username, ip, tries)     # 401 follows; at the limit it locks and raises 429
    await guard.succeeded(username, ip, role)   # clears the username's count, gives the IP its try back

A try is counted *before* its password is checked, so parallel requests cannot get more than the
limit of password checks per window. Keys (prefix P): P:login:fail:{scope}:{id} tries in the
current window (expires `window` s after the last one) and P:login:lock:{scope}:{id} present while
locked (expires after `lockout` s). scope is "user" (id = HMAC of the username: no username, which
may be a phone number, in Redis) or "ip".

Limits (environment, read at start):
  GOVDESK_LOGIN_MAX_FAILURES     failures per username before a lockout (default 5)
  GOVDESK_LOGIN_IP_MAX_FAILURES  failures per client IP before a lockout (default 20: offices share an IP)
  GOVDESK_LOGIN_WINDOW           seconds a failure is remembered (default 900)
  GOVDESK_LOGIN_LOCKOUT          seconds a lockout lasts (default 900)
  GOVDESK_TRUSTED_PROXIES        comma-separated peer addresses whose X-Forwarded-For is believed

Audit lines go to the logger "workorders.audit": event=login_success|login_failure|login_locked,
the username masked when it looks like a phone or ID number (common.privacy), the client IP and the
reason. The password is never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass

from common.privacy import mask_id, mask_phone, mask_text
from common.settings import env_int, env_list
from workorders.model import WorkOrderError

audit = logging.getLogger("workorders.audit")

_ID_LIKE = re.compile(r"[0-9]{14,17}[0-9Xx]")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 \-]{5,}[0-9]")


def _env_int(name: str, default: int) -> int:
    return max(1, env_int(name, default))


def mask_username(username: str) -> str:
    """A username fit for a log line: no phone/ID number in clear, no control characters, bounded."""
    name = str(username)
    name = "".join(ch if ch.isprintable() else "?" for ch in name[:64]) + ("…" if len(name) > 64 else "")
    if _ID_LIKE.fullmatch(name):
        return mask_id(name)
    if _PHONE_LIKE.fullmatch(name):
        return mask_phone(re.sub(r"\D", "", name))
    return mask_text(name)


def client_ip(request, trusted_proxies: frozenset[str] | None = None) -> str:
    """The peer address; behind a trusted proxy, the last X-Forwarded-For hop it added."""
    peer = request.remote or "unknown"
    trusted = trusted_proxies if trusted_proxies is not None else frozenset(env_list("GOVDESK_TRUSTED_PROXIES"))
    if peer in trusted:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        while hops and hops[-1] in trusted:
            hops.pop()
        if hops:
            return hops[-1][:64]
    return peer


@dataclass
class Limits:
    user_failures: int = 5
    ip_failures: int = 20
    window: int = 900
    lockout: int = 900

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(_env_int("GOVDESK_LOGIN_MAX_FAILURES", 5), _env_int("GOVDESK_LOGIN_IP_MAX_FAILURES", 20),
                   _env_int("GOVDESK_LOGIN_WINDOW", 900), _env_int("GOVDESK_LOGIN_LOCKOUT", 900))


def _minutes(seconds: int) -> int:
    return max(1, -(-int(seconds) // 60))


def locked_error(scope: str, retry_after: int) -> WorkOrderError:
    if scope == "user":
        message = f"该账号登录失败次数过多，已临时锁定，请 {_minutes(retry_after)} 分钟后再试。"
    else:
        message = f"本机登录失败次数过多，已暂停登录，请 {_minutes(retry_after)} 分钟后再试。"
    return WorkOrderError("login_locked", message, 429, retry_after=int(retry_after), scope=scope)


# KEYS: user counter, user lock, ip counter, ip lock; ARGV: user limit, ip limit, window, lockout.
# Returns {scope, ttl, 0} when locked (scope 0 = user, 1 = ip) or {-1, user count, ip count}.
_ATTEMPT_LUA = """
for i = 0, 1 do
  local ttl = redis.call('TTL', KEYS[2 * i + 2])
  if ttl ~= -2 then return {i, ttl, 0} end
end
local n = {}
for i = 0, 1 do
  n[i + 1] = redis.call('INCR', KEYS[2 * i + 1])
  redis.call('EXPIRE', KEYS[2 * i + 1], ARGV[3])
end
for i = 0, 1 do
  if n[i + 1] > tonumber(ARGV[i + 1]) then
    redis.call('SET', KEYS[2 * i + 2], '1', 'EX', ARGV[4])
    redis.call('DEL', KEYS[2 * i + 1])
    return {i, tonumber(ARGV[4]), 0}
  end
end
return {-1, n[1], n[2]}
"""


class LoginGuard:
    def __init__(self, redis, prefix: str = "wo", limits: Limits | None = None, secret: bytes | None = None):
        self.redis = redis
        self.p = prefix
        self.limits = limits or Limits.from_env()
        self._secret = secret

    def _user_id(self, username: str) -> str:
        if self._secret is None:
            from common.privacy import derive_key

            self._secret = derive_key("login-throttle")
        return hmac.new(self._secret, username.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]

    def _keys(self, username: str, ip: str) -> dict[str, tuple[str, str, int]]:
        """scope -> (counter key, lock key, limit)."""
        uid = self._user_id(username)
        return {"user": (f"{self.p}:login:fail:user:{uid}", f"{self.p}:login:lock:user:{uid}",
                         self.limits.user_failures),
                "ip": (f"{self.p}:login:fail:ip:{ip}", f"{self.p}:login:lock:ip:{ip}", self.limits.ip_failures)}

    async def _lock(self, keys: dict, scopes: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for scope in scopes:
                pipe.set(keys[scope][1], "1", ex=self.limits.lockout)
                pipe.delete(keys[scope][0])
            await pipe.execute()

    async def attempt(self, username: str, ip: str) -> dict[str, int]:
        """Raise 429 while the username or the client IP is locked; otherwise count this try and
        return the counts {"user": n, "ip": n}. A try beyond a limit locks at once (no password check).
        The lock check, the count and the lock are one Lua script: a try that read "not locked" just
        before a parallel try locked and reset the counter could otherwise start again from 1."""
        keys = self._keys(username, ip)
        lim = self.limits
        code, a, b = await self.redis.eval(
            _ATTEMPT_LUA, 4, keys["user"][0], keys["user"][1], keys["ip"][0], keys["ip"][1],
            lim.user_failures, lim.ip_failures, lim.window, lim.lockout)
        code, a, b = int(code), int(a), int(b)
        if code >= 0:  # locked (before this try, or by it)
            scope = ("user", "ip")[code]
            retry = a if a > 0 else lim.lockout
            audit.warning("event=login_locked user=%s ip=%s scope=%s retry_after=%d",
                          mask_username(username), ip, scope, retry)
            raise locked_error(scope, retry)
        return {"user": a, "ip": b}

    async def failed(self, username: str, ip: str, tries: dict[str, int], reason: str = "bad_credentials") -> int:
        """Audit a failed try; returns the tries left for the username. Raises 429 when this
        failure reaches a limit (the lock is set first)."""
        keys = self._keys(username, ip)
        locked = [scope for scope in ("user", "ip") if tries[scope] >= keys[scope][2]]
        if locked:
            await self._lock(keys, locked)
        audit.warning("event=login_failure user=%s ip=%s reason=%s user_failures=%d ip_failures=%d%s",
                      mask_username(username), ip, reason, tries["user"], tries["ip"],
                      f" locked={','.join(locked)}" if locked else "")
        if locked:
            raise locked_error(locked[0], self.limits.lockout)
        return max(0, self.limits.user_failures - tries["user"])

    async def succeeded(self, username: str, ip: str, role: str | None = None) -> None:
        """Clear the username's count; the IP gets this try back (a successful login is no guess),
        but keeps its other failures: one valid account must not reset the budget for guessing others."""
        keys = self._keys(username, ip)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys["user"][0])
            pipe.decr(keys["ip"][0])
            _, n_ip = await pipe.execute()
        if n_ip <= 0:
            await self.redis.delete(keys["ip"][0])
        audit.info("event=login_success user=%s ip=%s role=%s", mask_username(username), ip, role)
