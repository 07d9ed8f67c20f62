"""Redis persistence for work orders (redis.asyncio; every write is one MULTI/EXEC).

Every create/update is a WATCHed MULTI/EXEC followed by WAIT for a replica when Redis runs
under Sentinel (common.redis_conn.durable_pipeline): an acknowledged order is on two nodes.

Keys (prefix P, default "wo"):
  P:order:{id}            JSON of the order (personal fields only as ciphertext under "pii")
  P:events:{id}           list of chain events (JSON)            P:chain:heads  hash id -> "seq:hash"
  P:seq:{yyyymmdd}        daily sequence for reference numbers   P:idem:{client_request_id} -> id
  P:idx:all               zset id -> created epoch
  P:idx:{field}:{value}   zsets id -> created epoch: state, unit, category, type, urgency, township, village,
                          phone (HMAC); a page of the order list is a range of one of them (or of their
                          intersection)
  P:idx:deadline          zset "id|kind" -> deadline epoch (open work only; read by the scheduler)
  P:idx:dup:{place}       zset id -> created epoch (open orders only; duplicate detection)
  P:dup:{place}           hash id -> JSON [category, matter_id, masked text] of the same open orders: what the
                          duplicate search compares, without loading whole orders (orders written before it
                          existed are loaded instead)
  P:supervision           zset "id|trigger" -> epoch;  P:supervision:entry hash "id|trigger" -> JSON
  P:rep:kpi:{g}:{bucket}  hash "{unit or department}|{counter}" -> n: KPI counters of the orders created in
                          the bucket (g = u by unit, d by department; bucket = h{yyyymmddHH}, d{yyyymmdd},
                          m{yyyymm}, y{yyyy} or all; workorders.kpi.contribution)
  P:rep:hot:{yyyy-Www}    hash "{dimension}|{key}" -> n (hot spots of orders created that week)
  P:rep:version           set once the report counters cover every stored order (rebuild_reports)
  P:rep:rebuilding        NX claim (10 min) so that one staff API replica rebuilds, not all of them
  P:idx:version           "2" once the index sets are sorted sets (migrate_indexes)
  P:lease:{name}          holder token, with a TTL: background work run by one process (lease; the scheduler)
Report counters change in the same MULTI/EXEC as the order: new contribution minus old.

Intake (`create_new`) is two round trips: one Lua script reserves the reference number (INCR, skipping numbers
already used) and returns the duplicate candidates of the place, sent together with WATCH of the request id;
then the order's MULTI/EXEC (a concurrent repeat of the request id loses the WATCH and gets the first order).
Inside a MULTI the order's writes are one EVAL (APPLY_LUA, recorded by `Writes`, sent as one JSON string): one
command to pack and one reply to parse instead of ~20 commands of ~100 words.
Reports add their counter hashes up inside Redis (Lua): one JSON string comes back, not every field.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import asyncio
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from workorders import hotspots, kpi
from workorders.calendar import TZ
from workorders.chain import make_event
from workorders.lifecycle import parse_time
from workorders.model import DISPATCHED, OPEN_STATES, WAITING_FOR_UNIT, Conflict, NotFound


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def epoch(value) -> float | None:
    t = parse_time(value)
    return t.timestamp() if t else None


def place_key(order: dict) -> str | None:
    place = order.get("place") or {}
    key = place.get("village") or place.get("township")
    return key or None


def deadline_entries(order: dict) -> dict[str, float]:
    """The deadlines that are running now, as zset members "id|kind" -> epoch."""
    state, oid, out = order.get("state"), order["id"], {}
    if state == DISPATCHED and order.get("sign_deadline"):
        out[f"{oid}|sign"] = epoch(order["sign_deadline"])
    if state in WAITING_FOR_UNIT and order.get("deadline"):
        out[f"{oid}|{order.get('deadline_kind') or 'handle'}"] = epoch(order["deadline"])
    return out


def index_sets(order: dict, prefix: str) -> set[str]:
    keys = {f"{prefix}:idx:state:{order['state']}"}
    for unit in [order.get("lead_unit_id"), *(order.get("co_unit_ids") or [])]:
        if unit:
            keys.add(f"{prefix}:idx:unit:{unit}")
    for name in ("category", "type", "urgency"):
        if order.get(name):
            keys.add(f"{prefix}:idx:{name}:{order[name]}")
    place = order.get("place") or {}
    for name in ("township", "village"):
        if place.get(name):
            keys.add(f"{prefix}:idx:{name}:{place[name]}")
    if order.get("phone_hash"):
        keys.add(f"{prefix}:idx:phone:{order['phone_hash']}")
    return keys


def dup_info(order: dict) -> str:
    """What the duplicate search needs of an open order (P:dup:{place})."""
    return json.dumps([order.get("category"), order.get("matter_id"), order.get("text", "")], ensure_ascii=False,
                      separators=(",", ":"))


# Duplicate candidates: the place's open orders created in [lo, hi], as ONE string of lines "id<TAB>dup_info"
# (dup_info empty for an order written before P:dup existed): one bulk reply parses far faster than two
# strings per candidate. dup_info is JSON, so it has no raw tab or newline. HMGET in chunks: Lua's unpack()
# has a stack limit.
_CANDIDATES_LUA = """
local function candidates(zkey, hkey, lo, hi)
  local ids = redis.call('ZRANGEBYSCORE', zkey, lo, hi)
  local lines = {}
  for i = 1, #ids, 500 do
    local got = redis.call('HMGET', hkey, unpack(ids, i, math.min(i + 499, #ids)))
    for j = 1, #got do lines[#lines + 1] = ids[i + j - 1] .. '\\t' .. (got[j] or '') end
  end
  return table.concat(lines, '\\n')
end
"""
DUP_LUA = _CANDIDATES_LUA + """
return candidates(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
"""
# KEYS: request id key, sequence key, dup zset, dup hash. ARGV: has request id ("1"/"0"), order key prefix,
# reference prefix ("12345yyyymmdd"), sequence ttl, lo, hi ("" = no duplicate search).
# A request id that names a stored order: {that id}, nothing reserved. Otherwise {false, the next free number,
# candidates} (a number whose order key exists is skipped: never overwrite an order, even if the sequence key
# was lost).
INTAKE_LUA = _CANDIDATES_LUA + """
if ARGV[1] == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing and redis.call('EXISTS', ARGV[2] .. existing) == 1 then
    return {existing}
  end
end
local seq
repeat
  seq = redis.call('INCR', KEYS[2])
until redis.call('EXISTS', ARGV[2] .. ARGV[3] .. string.format('%04d', seq)) == 0
redis.call('EXPIRE', KEYS[2], ARGV[4])
local found = ''
if ARGV[5] ~= '' then
  found = candidates(KEYS[3], KEYS[4], ARGV[5], ARGV[6])
end
return {false, seq, found}
"""


# KEYS: hashes of counters; ARGV: their signs (+1/-1). Returns the JSON object field -> sum, zeros left out.
SUM_HASHES_LUA = """
local totals = {}
for i, key in ipairs(KEYS) do
  local sign = tonumber(ARGV[i])
  local flat = redis.call('HGETALL', key)
  for j = 1, #flat, 2 do
    local f = flat[j]
    totals[f] = (totals[f] or 0) + sign * tonumber(flat[j + 1])
  end
end
local out = {}
local any = false
for f, n in pairs(totals) do
  if n ~= 0 then out[f] = n; any = true end
end
if not any then return '{}' end
return cjson.encode(out)
"""

# KEYS: hashes of counters. Returns a JSON array of objects field -> n, one per key: one string to parse.
HASHES_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = tonumber(flat[j + 1]) end
  out[i] = h
end
return cjson.encode(out)
"""


# The writes of one order (value, event, indexes, report counters: ~20 commands, ~100 words) as ONE command
# queued inside the MULTI, its one argument the JSON list of the commands. redis-py packs every word and parses
# every queued command's reply in Python; one EVAL with one string is one of each (json.dumps is C), for the
# same all-or-nothing transaction. (Keys are not declared: the product runs on one primary, not Redis Cluster.)
APPLY_LUA = """
local cmds = cjson.decode(ARGV[1])
for i = 1, #cmds do redis.call(unpack(cmds[i])) end
return #cmds
"""


class Writes:
    """Records the pipeline calls the write helpers make (set, rpush, hset, hdel, hincrby, zadd, zrem) and
    queues them on a pipeline as one EVAL of APPLY_LUA (`queue`)."""

    def __init__(self):
        self.cmds: list[list[str]] = []

    def _add(self, *words) -> None:
        self.cmds.append([w if isinstance(w, str) else str(w) for w in words])

    def set(self, key, value):
        self._add("SET", key, value)

    def rpush(self, key, value):
        self._add("RPUSH", key, value)

    def hset(self, key, field, value):
        self._add("HSET", key, field, value)

    def hdel(self, key, *fields):
        self._add("HDEL", key, *fields)

    def hincrby(self, key, field, delta):
        self._add("HINCRBY", key, field, delta)

    def zadd(self, key, mapping: dict):
        words = []
        for member, score in mapping.items():
            words += (repr(float(score)), member)
        self._add("ZADD", key, *words)

    def zrem(self, key, *members):
        self._add("ZREM", key, *members)

    def queue(self, pipe) -> None:
        # EVAL, not EVALSHA: inside MULTI a NOSCRIPT (fresh or newly promoted primary) would only show after EXEC;
        # Redis keeps the compiled script, so the body costs a hash of ~100 bytes per order.
        pipe.eval(APPLY_LUA, 0, dumps(self.cmds))


# KEYS: the lease; ARGV: holder token, ttl ms. Taken when free, renewed by its holder: 1; held by another: 0.
LEASE_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# KEYS: the lease; ARGV: holder token. Given up by its holder only.
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

REPORTS_VERSION = "1"


def report_deltas(old: dict | None, new: dict | None, prefix: str) -> dict[str, dict[str, int]]:
    """Counter changes when `old` becomes `new` (either may be None): new contribution minus old."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sign, o in ((-1, old), (1, new)):
        if not o:
            continue
        t = parse_time(o["created_at"])
        for field, n in kpi.contribution(o).items():
            tag, _, rest = field.partition("|")
            for bucket in (f"h{t:%Y%m%d%H}", f"d{t:%Y%m%d}", f"m{t:%Y%m}", f"y{t:%Y}", "all"):
                out[f"{prefix}:rep:kpi:{tag}:{bucket}"][rest] += sign * n
        for field, n in hotspots.contribution(o).items():
            out[f"{prefix}:rep:hot:{hotspots.iso_week(t)}"][field] += sign * n
    return {k: {f: d for f, d in v.items() if d} for k, v in out.items() if any(v.values())}


def _day_start(t: datetime) -> datetime:
    return t.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)


def _next_month(t: datetime) -> datetime:
    return (t.replace(day=28) + timedelta(days=4)).replace(day=1)


def _next_year(t: datetime) -> datetime:
    return t.replace(year=t.year + 1, month=1, day=1)


def _buckets(lo: datetime, hi: datetime) -> tuple[list[str], list[tuple[datetime, datetime]]]:
    """Cover [lo, hi) with whole years, months, days and hours (largest first) plus partial-hour ranges."""
    buckets, partial = [], []
    t = lo
    hour = t.replace(minute=0, second=0, microsecond=0)
    if t != hour:
        end = min(hour + timedelta(hours=1), hi)
        partial.append((t, end))
        t = end
    while t < hi:
        midnight = t == _day_start(t)
        if midnight and t.month == 1 and t.day == 1 and _next_year(t) <= hi:
            buckets.append(f"y{t:%Y}")
            t = _next_year(t)
        elif midnight and t.day == 1 and _next_month(t) <= hi:
            buckets.append(f"m{t:%Y%m}")
            t = _next_month(t)
        elif midnight and t + timedelta(days=1) <= hi:
            buckets.append(f"d{t:%Y%m%d}")
            t = t + timedelta(days=1)  # China has no daylight saving time (TZ is a fixed +08:00)
        elif t + timedelta(hours=1) <= hi:
            buckets.append(f"h{t:%Y%m%d%H}")
            t = t + timedelta(hours=1)
        else:
            partial.append((t, hi))
            t = hi
    return buckets, partial


def _signed(buckets: list[str]) -> list[tuple[str, int]]:
    """Fewer hashes to read: when most days of a month are wanted, read the month and subtract the days
    that are not (a partly wanted day is subtracted whole; its wanted hours are separate buckets)."""
    days_by_month: dict[str, set[str]] = defaultdict(set)
    for b in buckets:
        if b.startswith("d"):
            days_by_month[b[1:7]].add(b)
    swapped: dict[str, list[tuple[str, int]]] = {}
    for month, days in days_by_month.items():
        first = datetime.strptime(month + "01", "%Y%m%d")
        all_days = [f"d{first + timedelta(days=i):%Y%m%d}" for i in range((_next_month(first) - first).days)]
        if len(days) > len(all_days) // 2 + 1:
            swapped[month] = [(f"m{month}", 1)] + [(d, -1) for d in all_days if d not in days]
    out: list[tuple[str, int]] = []
    for b in buckets:
        month = b[1:7] if b.startswith("d") else None
        if month in swapped:
            out += swapped.pop(month)  # once, at the month's first wanted day; its other days are covered
        elif month is None or month not in days_by_month or f"m{month}" not in {x for x, _ in out}:
            out.append((b, 1))
    return out


class WorkOrderStore:
    def __init__(self, redis, prefix: str = "wo"):
        self.redis = redis
        self.p = prefix
        self._cfg = None

    def k(self, *parts) -> str:
        return ":".join([self.p, *map(str, parts)])

    # --- reads ------------------------------------------------------------------------------
    async def load(self, order_id: str) -> dict | None:
        raw = await self.redis.get(self.k("order", order_id))
        return json.loads(raw) if raw else None

    async def load_many(self, ids: list[str]) -> list[dict]:
        if not ids:
            return []
        raws = await self.redis.mget([self.k("order", i) for i in ids])
        return [json.loads(r) for r in raws if r]

    async def events(self, order_id: str) -> list[dict]:
        return [json.loads(e) for e in await self.redis.lrange(self.k("events", order_id), 0, -1)]

    async def head(self, order_id: str) -> str | None:
        head = await self.redis.hget(self.k("chain", "heads"), order_id)
        return head.decode() if isinstance(head, bytes) else head

    async def all_ids(self) -> list[str]:
        return [_s(i) for i in await self.redis.zrevrange(self.k("idx", "all"), 0, -1)]

    async def ids_by_time(self, start: float, end: float) -> list[str]:
        return [_s(i) for i in await self.redis.zrevrangebyscore(self.k("idx", "all"), end, start)]

    async def members(self, key: str) -> set[str]:
        return {_s(m) for m in await self.redis.zrange(key, 0, -1)}

    async def intersect(self, keys: list[str]) -> set[str]:
        found: set[str] | None = None
        for key in keys:
            ids = await self.members(key)
            found = ids if found is None else found & ids
        return found or set()

    async def page(self, set_keys: list[str], lo: float, hi: float, offset: int, limit: int) -> tuple[int, list[str]]:
        """Newest first: ids created in [lo, hi] that are in every index set, and how many there are.
        The intersection with the time index is done inside Redis (a temporary sorted set)."""
        if len(set_keys) > 1:
            tmp = self.k("tmp", "page", uuid.uuid4().hex)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zinterstore(tmp, {set_keys[0]: 1, **{k: 0 for k in set_keys[1:]}}, aggregate="SUM")
                pipe.zcount(tmp, lo, hi)
                pipe.zrevrangebyscore(tmp, hi, lo, start=offset, num=limit)
                pipe.delete(tmp)
                _, total, ids, _ = await pipe.execute()
        else:  # one filter (or none: every order) is one sorted set already
            key = set_keys[0] if set_keys else self.k("idx", "all")
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcount(key, lo, hi)
                pipe.zrevrangebyscore(key, hi, lo, start=offset, num=limit)
                total, ids = await pipe.execute()
        return int(total), [_s(i) for i in ids]

    async def _script(self, client, name: str, source: str, keys: list, args: list):
        """EVALSHA, loading the script on NOSCRIPT (a fresh or newly promoted server)."""
        sha = _sha(name, source)
        try:
            return await client.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(source, len(keys), *keys, *args)

    async def dup_candidates(self, place: str, lo: float, hi: float) -> list[tuple[str, bytes]]:
        """[(id, dup_info JSON, b"" when the order predates P:dup)] of the place's open orders created in
        [lo, hi]."""
        return _candidates(await self._script(self.redis, "dup", DUP_LUA,
                                              [self.k("idx", "dup", place), self.k("dup", place)], [lo, hi]))

    async def _watch_and_script(self, pipe, watch: str, name: str, source: str, keys: list, args: list):
        """WATCH `watch` and run a script on the pipeline's connection, sent together: one round trip.
        (redis-py's Pipeline.watch() would send WATCH alone; this sets the same state: connection, watching.)"""
        conn = pipe.connection or await pipe.connection_pool.get_connection("WATCH")
        pipe.connection, pipe.watching = conn, True
        sha = _sha(name, source)
        try:
            await conn.send_packed_command(conn.pack_commands([("WATCH", watch),
                                                               ("EVALSHA", sha, len(keys), *keys, *args)]))
            await conn.read_response()
            try:
                return await conn.read_response()
            except NoScriptError:
                return await pipe.immediate_execute_command("EVAL", source, len(keys), *keys, *args)
        except (RedisConnectionError, RedisTimeoutError):
            await conn.disconnect()
            await pipe.reset()
            raise

    # --- writes -----------------------------------------------------------------------------
    def _index_ops(self, pipe, old: dict | None, new: dict) -> None:
        oid = new["id"]
        old_sets = index_sets(old, self.p) if old else set()
        new_sets = index_sets(new, self.p)
        for key in old_sets - new_sets:
            pipe.zrem(key, oid)
        created = epoch(new["created_at"])
        for key in new_sets - old_sets:
            pipe.zadd(key, {oid: created})
        old_dl = deadline_entries(old) if old else {}
        new_dl = deadline_entries(new)
        stale = [m for m in old_dl if m not in new_dl]
        if stale:
            pipe.zrem(self.k("idx", "deadline"), *stale)
        if new_dl:
            pipe.zadd(self.k("idx", "deadline"), new_dl)
        for key, fields in report_deltas(old, new, self.p).items():
            for field, delta in fields.items():
                pipe.hincrby(key, field, delta)
        old_place, new_place = place_key(old) if old else None, place_key(new)
        is_open = new["state"] in OPEN_STATES
        if old_place and (old_place != new_place or not is_open):
            pipe.zrem(self.k("idx", "dup", old_place), oid)
            pipe.hdel(self.k("dup", old_place), oid)
        if new_place and is_open:
            if not old or old_place != new_place or old["state"] not in OPEN_STATES:
                pipe.zadd(self.k("idx", "dup", new_place), {oid: epoch(new["created_at"])})
            info = dup_info(new)
            if not old or old_place != new_place or dup_info(old) != info:
                pipe.hset(self.k("dup", new_place), oid, info)

    def _write_ops(self, pipe, old: dict | None, new: dict, event: dict) -> None:
        oid = new["id"]
        pipe.set(self.k("order", oid), dumps(new))
        pipe.rpush(self.k("events", oid), dumps(event))
        pipe.hset(self.k("chain", "heads"), oid, f"{event['seq']}:{event['hash']}")
        self._index_ops(pipe, old, new)

    def _tx(self):
        """A MULTI/EXEC pipeline that is acknowledged once a replica holds the write
        (common.redis_conn.durable_pipeline; WAIT is skipped in plain single-server mode)."""
        from common.redis_conn import config, durable_pipeline

        if hasattr(self.redis, "connection_pool") and hasattr(self.redis, "response_callbacks"):
            if self._cfg is None:  # the environment is read once, not at every write
                self._cfg = config()
            return durable_pipeline(self.redis, self._cfg)
        return self.redis.pipeline(transaction=True)

    async def create_new(self, day: date, client_request_id: str | None, dup_place: str | None,
                         window: tuple[float, float], build) -> tuple[dict, bool]:
        """Reserve the day's next reference number, then store the order `await build(order_id, candidates)`
        returns as (order, event) in one MULTI/EXEC; candidates as dup_candidates() gives them. With a
        client_request_id, a repeat (also a concurrent one) returns the first order, created=False.

        Safe to retry across a failover: a lost connection around EXEC comes back here, the request id and
        the order key are WATCHed and re-read: an EXEC that did land is found, not written twice."""
        stamp = day.strftime("%Y%m%d")
        idem_key = self.k("idem", client_request_id) if client_request_id else None
        order = event = None
        retry = None
        async with self._tx() as pipe:
            while True:
                try:
                    if order is None:  # first attempt: one script call (under WATCH of the request id)
                        lo, hi = window if dup_place else ("", "")
                        keys = [idem_key or self.k("idem", "-"), self.k("seq", stamp),
                                self.k("idx", "dup", dup_place or "-"), self.k("dup", dup_place or "-")]
                        args = ["1" if idem_key else "0", self.k("order", ""), f"12345{stamp}", 3 * 86400, lo, hi]
                        if idem_key:
                            reply = await self._watch_and_script(pipe, idem_key, "intake", INTAKE_LUA, keys, args)
                        else:
                            reply = await self._script(self.redis, "intake", INTAKE_LUA, keys, args)
                        existing = reply[0]
                        if existing:
                            await pipe.reset()
                            found = await self.load(_s(existing))
                            if found:
                                return found, False
                            continue  # deleted meanwhile: reserve a number after all
                        order, event = await build(f"12345{stamp}{int(reply[1]):04d}", _candidates(reply[2]))
                    else:  # a repeat won the race (WatchError) or the connection was lost around EXEC
                        order_key = self.k("order", order["id"])
                        await pipe.watch(*([idem_key] if idem_key else []), order_key)
                        if idem_key and (existing := await pipe.get(idem_key)):
                            await pipe.unwatch()
                            found = await self.load(_s(existing))
                            if found:
                                return found, False
                        raw = await pipe.get(order_key)
                        if raw:  # our own earlier attempt landed before its reply was lost
                            await pipe.unwatch()
                            return json.loads(raw), False
                    writes = Writes()
                    if idem_key:
                        writes.set(idem_key, order["id"])
                    writes.zadd(self.k("idx", "all"), {order["id"]: epoch(order["created_at"])})
                    self._write_ops(writes, None, order, event)
                    pipe.multi()
                    writes.queue(pipe)
                    await pipe.execute()
                    return order, True
                except WatchError:
                    continue
                except (RedisConnectionError, RedisTimeoutError):
                    retry = retry or _Failover()
                    await retry.wait()  # primary gone: wait for Sentinel's new one, then re-check

    async def update(self, order_id: str,
                     mutate: Callable[[dict, dict | None], Awaitable | object],
                     extra: Callable | None = None, retries: int = 20) -> tuple[dict, dict | None]:
        """Optimistic update: WATCH the order, let `mutate(order, last_event)` return
        (new_order, action, actor, before, after) or None (no change), then MULTI/EXEC.
        `extra(pipe, new_order, event)` may queue more writes in the same transaction."""
        key = self.k("order", order_id)
        retry = None
        async with self._tx() as pipe:
            for _ in range(retries):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if not raw:
                        await pipe.unwatch()
                        raise NotFound("order_not_found", f"找不到工单 {order_id}。")
                    old = json.loads(raw)
                    last = await pipe.lindex(self.k("events", order_id), -1)
                    last_event = json.loads(last) if last else None
                    result = mutate(old, last_event)
                    if result is None:
                        await pipe.unwatch()
                        return old, None
                    new, action, actor, before, after, at = result
                    event = make_event(last_event, at=at, actor=actor, action=action, before=before, after=after)
                    new["event_count"] = event["seq"]
                    new["chain_head"] = event["hash"]
                    writes = Writes()
                    self._write_ops(writes, old, new, event)
                    if extra:
                        extra(writes, new, event)
                    pipe.multi()
                    writes.queue(pipe)
                    await pipe.execute()
                    return new, event
                except WatchError:
                    continue
                except (RedisConnectionError, RedisTimeoutError):
                    # Unknown outcome of EXEC: the next round re-reads the order and `mutate`
                    # judges the action again on what is stored (lifecycle checks refuse a repeat).
                    retry = retry or _Failover()
                    await retry.wait()
        raise Conflict("busy", "工单正被其他人同时修改，请稍后重试。")

    # --- report counters ---------------------------------------------------------------------
    async def report_totals(self, tag: str, lo: datetime | None, hi: datetime | None,
                            contribution) -> dict[str, int]:
        """KPI counters ("<group>|<counter>" -> n, group tag u or d) summed over orders created in [lo, hi):
        years, months, days and hours from their hashes, a partial first/last hour from the orders themselves
        (`contribution` = workorders.kpi.contribution). No bounds at all: the all-time hash."""
        if lo is None and hi is None:
            return await self._sum_hashes([(self.k("rep", "kpi", tag, "all"), 1)])
        if lo is None or hi is None:
            first = await self.redis.zrange(self.k("idx", "all"), 0, 0, withscores=True)
            last = await self.redis.zrevrange(self.k("idx", "all"), 0, 0, withscores=True)
            if not first:
                return {}
            lo = lo or datetime.fromtimestamp(first[0][1], TZ)
            hi = hi or datetime.fromtimestamp(last[0][1] + 1, TZ)
        buckets, partial = _buckets(lo.astimezone(TZ), hi.astimezone(TZ))
        signed = _signed(buckets)
        totals: dict[str, int] = defaultdict(int)
        if signed:
            totals.update(await self._sum_hashes([(self.k("rep", "kpi", tag, bucket), sign) for bucket, sign in signed]))
        for a, b in partial:
            ids = [_s(i) for i in await self.redis.zrangebyscore(self.k("idx", "all"), a.timestamp(), b.timestamp())]
            for o in await self.load_many(ids):
                if a <= parse_time(o["created_at"]) < b:
                    for field, n in contribution(o).items():
                        if field.startswith(tag + "|"):
                            totals[field[len(tag) + 1:]] += n
        return dict(totals)

    async def _sum_hashes(self, signed: list[tuple[str, int]]) -> dict[str, int]:
        """field -> sum of sign x value over the hashes (zero sums left out), added up inside Redis: one JSON
        string comes back instead of every field of every hash (a month of day hashes is ~35,000 fields,
        which redis-py would parse one by one)."""
        if not signed:
            return {}
        raw = await self._script(self.redis, "sum", SUM_HASHES_LUA, [k for k, _ in signed], [n for _, n in signed])
        return json.loads(raw)

    async def week_counters(self, weeks: list[str]) -> dict[str, dict[str, int]]:
        raw = await self._script(self.redis, "hashes", HASHES_LUA, [self.k("rep", "hot", w) for w in weeks], [])
        return dict(zip(weeks, json.loads(raw)))

    async def lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take or renew the lease P:lease:{name} for `ttl_s`: True while `holder` has it. Background work that
        must run once among several staff API workers and replicas (the deadline scheduler)."""
        return bool(await self._script(self.redis, "lease", LEASE_LUA, [self.k("lease", name)],
                                       [holder, int(ttl_s * 1000)]))

    async def release(self, name: str, holder: str) -> None:
        await self._script(self.redis, "release", RELEASE_LUA, [self.k("lease", name)], [holder])

    async def migrate_indexes(self) -> int:
        """Index sets written before they were sorted sets become sorted sets scored by creation time
        (run at staff API start; idempotent). Returns how many keys were converted."""
        if await self.redis.get(self.k("idx", "version")) == b"2":
            return 0
        converted = 0
        async for key in self.redis.scan_iter(match=self.k("idx", "*"), count=1000):
            if _s(await self.redis.type(key)) != "set":
                continue
            ids = sorted(_s(m) for m in await self.redis.smembers(key))
            scores = await self.redis.zmscore(self.k("idx", "all"), ids) if ids else []
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                mapping = {i: s for i, s in zip(ids, scores) if s is not None}
                if mapping:
                    pipe.zadd(key, mapping)
                await pipe.execute()
            converted += 1
        await self.redis.set(self.k("idx", "version"), "2")
        return converted

    async def reports_ready(self) -> bool:
        return await self.redis.get(self.k("rep", "version")) is not None

    async def rebuild_reports(self, batch: int = 2000) -> int:
        """Recompute every report counter from the stored orders (one-time migration for data written
        before the counters existed; run while nothing else writes orders). Returns the orders counted."""
        async for key in self.redis.scan_iter(match=self.k("rep", "*"), count=1000):
            if _s(key) != self.k("rep", "rebuilding"):
                await self.redis.delete(key)
        ids = await self.all_ids()
        for i in range(0, len(ids), batch):
            async with self.redis.pipeline(transaction=False) as pipe:
                for order in await self.load_many(ids[i:i + batch]):
                    for key, fields in report_deltas(None, order, self.p).items():
                        for field, delta in fields.items():
                            pipe.hincrby(key, field, delta)
                await pipe.execute()
        await self.redis.set(self.k("rep", "version"), REPORTS_VERSION)
        return len(ids)

    # --- supervision queue ---------------------------------------------------------------------
    def queue_supervision(self, pipe, entry: dict, at_epoch: float) -> None:
        member = f"{entry['order_id']}|{entry['trigger']}"
        pipe.zadd(self.k("supervision"), {member: at_epoch})
        pipe.hset(self.k("supervision", "entry"), member, dumps(entry))

    async def supervision_queue(self, limit: int = 200) -> list[dict]:
        members = await self.redis.zrevrange(self.k("supervision"), 0, limit - 1)
        if not members:
            return []
        raws = await self.redis.hmget(self.k("supervision", "entry"), members)
        return [json.loads(r) for r in raws if r]

    async def due_before(self, until: float) -> list[tuple[str, str, float]]:
        rows = await self.redis.zrangebyscore(self.k("idx", "deadline"), "-inf", until, withscores=True)
        out = []
        for member, score in rows:
            oid, _, kind = _s(member).partition("|")
            out.append((oid, kind, score))
        return out


class _Failover:
    """Backoff while Sentinel promotes a replica (bounded by REDIS_RETRY_S, default 15 s)."""

    def __init__(self):
        from common.redis_conn import config

        self.deadline = time.monotonic() + config().retry_s
        self.delay = 0.05

    async def wait(self) -> None:
        if time.monotonic() >= self.deadline:
            raise
        await asyncio.sleep(self.delay)
        self.delay = min(1.0, self.delay * 2)


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_SHAS: dict[str, str] = {}


def _sha(name: str, source: str) -> str:
    import hashlib

    return _SHAS.get(name) or _SHAS.setdefault(name, hashlib.sha1(source.encode()).hexdigest())


def _candidates(blob) -> list[tuple[str, bytes]]:
    if not blob:
        return []
    out = []
    for line in blob.split(b"\n"):
        oid, _, info = line.partition(b"\t")
        out.append((oid.decode(), info))
    return out
