"""One-time codes that prove a caller holds a phone (sent by SMS before a caller's orders are read
or rated from a channel without a caller id).

    codes = OneTimeCodes(redis, prefix="wo")
    code = await codes.issue(phone)     # the 6 digits to send; raises WorkOrderError 429 when too many
    ok = await codes.check(phone, said) # True once; a wrong code uses up one of MAX_TRIES

Keys (prefix P, id = HMAC of the phone: no phone number in Redis):
  P:otp:code:{id}   hash {mac: HMAC of the code, tries: wrong tries}; expires after TTL s
  P:otp:sent:{id}   present for RESEND s after a code was sent (one SMS per minute)
  P:otp:day:{id}    codes sent today (expires after a day): at most PER_DAY
A check is one Lua script, so parallel guesses cannot get more than MAX_TRIES comparisons.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from common.privacy import derive_key
from workorders.model import WorkOrderError

TTL = 300          # a code is good for five minutes
RESEND = 60
PER_DAY = 5
MAX_TRIES = 3

# KEYS: code hash; ARGV: mac of the said code, max tries. Returns 1 (right, code used up), 0 (wrong),
# -1 (no code, expired or used up).
_CHECK_LUA = """
local mac = redis.call('HGET', KEYS[1], 'mac')
if not mac then return -1 end
if mac == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
"""


class OneTimeCodes:
    def __init__(self, redis, prefix: str = "wo", secret: bytes | None = None):
        self.redis = redis
        self.p = prefix
        self._secret = secret or derive_key("one-time-code")

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:32]

    def _keys(self, phone: str) -> tuple[str, str, str]:
        pid = self._mac("phone:" + phone)
        return f"{self.p}:otp:code:{pid}", f"{self.p}:otp:sent:{pid}", f"{self.p}:otp:day:{pid}"

    async def issue(self, phone: str) -> str:
        code_key, sent_key, day_key = self._keys(phone)
        if not await self.redis.set(sent_key, "1", ex=RESEND, nx=True):
            raise WorkOrderError("otp_too_soon", "验证码刚发过，请一分钟后再试。", 429, retry_after=RESEND)
        sent = await self.redis.incr(day_key)
        if sent == 1:
            await self.redis.expire(day_key, 86400)
        if sent > PER_DAY:
            raise WorkOrderError("otp_too_many", "今天发的验证码太多了，请明天再试。", 429, retry_after=86400)
        code = f"{secrets.randbelow(10 ** 6):06d}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(code_key)
            pipe.hset(code_key, mapping={"mac": self._mac(phone + ":" + code), "tries": 0})
            pipe.expire(code_key, TTL)
            await pipe.execute()
        return code

    async def check(self, phone: str, code: str) -> bool:
        result = await self.redis.eval(_CHECK_LUA, 1, self._keys(phone)[0], self._mac(phone + ":" + code),
                                       MAX_TRIES)
        return int(result) == 1

    async def cancel(self, phone: str) -> None:
        """Tests and resets: forget the code and the resend limit."""
        await self.redis.delete(*self._keys(phone))
