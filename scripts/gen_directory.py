"""Generate a full-size (fictional) prefecture directory for dispatch benchmarks and tests.

Defaults match a real mid-size prefecture's 12345 network: 755 functional bodies
(职能部门 = prefecture- and county-level units, incl. public-service enterprises),
10,520 executing units in all (bodies + township stations + village committees) and
23,219 staff accounts. The output is deterministic for a given seed.

    .venv/bin/python scripts/gen_directory.py                       # -> var/directory/full.jsonl.gz
    .venv/bin/python scripts/gen_directory.py --seed 7 --out /tmp/d.jsonl.gz

Units reuse workorders/data/departments.yaml (core departments everywhere, extra
bureaux added round-robin until the body count is reached); villages fill up the
unit count; staff accounts are counts per role (no personal data), distributed so
that the totals are exact.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workorders.directory import Directory, expand_spec, load_departments  # noqa: E402

FIRST = list("青白红黄金银石玉松柏杨柳桃李杏梅竹兰清明长安永宁平和太康福寿新高东西南北上下中大小龙凤云山河湖溪泉")
SECOND = list("山河水溪岭坪湾川口源泉林桥塘庄营集店坝沟洼岗冲寨堡台湖田园峰阳城关门原坡滩洲")
THIRD = list("家王李张刘陈杨赵黄周吴孙马胡朱高林何郭罗宋谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏")


def _unique_name(rng: random.Random, used: set[str], suffix: str, three: bool = False) -> str:
    for _ in range(10_000):
        if three:
            core = rng.choice(THIRD) + rng.choice(["家", "庄", "湾", "坪", "沟"]) + rng.choice(SECOND)
        else:
            core = rng.choice(FIRST) + rng.choice(SECOND)
        if core not in used:
            used.add(core)
            return core + suffix
    raise RuntimeError("name pool exhausted; lower the sizes")


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    rest = total - sum(out)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[:rest]:
        out[i] += 1
    return out


def generate(bodies: int = 755, units: int = 10_520, staff: int = 23_219, counties: int = 20,
             townships_per_county: tuple[int, int] = (8, 16), seed: int = 12345,
             name: str = "江川市") -> Directory:
    """Build the directory in memory; raises ValueError when the sizes cannot be met."""
    if counties < 1:
        raise ValueError("counties must be >= 1")
    lo, hi = townships_per_county
    if not 1 <= lo <= hi:
        raise ValueError(f"bad townships_per_county {townships_per_county!r}")
    rng = random.Random(seed)
    depts = load_departments()
    core = [d for d in depts if d.get("core", True)]
    extra = [d["id"] for d in depts if not d.get("core", True)]
    base_bodies = sum(1 for d in core if "prefecture" in d["units"]) + \
        counties * sum(1 for d in core if "county" in d["units"])
    n_levels = counties + 1
    extra_needed = bodies - base_bodies
    if not 0 <= extra_needed <= len(extra) * n_levels:
        raise ValueError(f"{bodies} bodies impossible with {counties} counties: "
                         f"need between {base_bodies} and {base_bodies + len(extra) * n_levels}")
    per_level = [extra_needed // n_levels + (1 if i < extra_needed % n_levels else 0) for i in range(n_levels)]
    # rotate the extra list so that different counties get different bureaux
    picks = [[extra[(i + k) % len(extra)] for k in range(per_level[i])] for i in range(n_levels)]

    town_units = sum(1 for d in core if "township" in d["units"])
    town_counts = [rng.randint(lo, hi) for _ in range(counties)]
    n_towns = sum(town_counts)
    n_villages = units - bodies - town_units * n_towns
    if n_villages < n_towns:
        raise ValueError(f"{units} units too few: {bodies} bodies + {n_towns} townships x {town_units} "
                         f"stations leave {n_villages} villages for {n_towns} townships")
    village_counts = [1 + k for k in _apportion(n_villages - n_towns, [rng.uniform(0.4, 1.6) for _ in range(n_towns)])]

    used_c, spec_counties, t_index = set(), [], 0
    for ci in range(counties):
        cname = _unique_name(rng, used_c, "县")
        used_t, towns = set(), []
        for ti in range(town_counts[ci]):
            tname = _unique_name(rng, used_t, rng.choice("镇乡"))
            used_v = set()
            villages = [_unique_name(rng, used_v, "村", three=rng.random() < 0.5)
                        for _ in range(village_counts[t_index])]
            t_index += 1
            towns.append({"id": f"C{ci + 1:02d}T{ti + 1:02d}", "name": tname, "short": tname[:-1],
                          "villages": villages})
        spec_counties.append({"id": f"C{ci + 1:02d}", "name": cname, "short": cname[:-1],
                              "townships": towns, "extra_departments": picks[ci + 1]})
    spec = {"prefecture": {"id": "P", "name": name, "short": name[:-1]}, "counties": spec_counties,
            "extra_departments": picks[0]}
    places, unit_recs = expand_spec(spec, depts)
    assert len(unit_recs) == units, (len(unit_recs), units)

    # staff: minimum per unit, the rest as extra handlers weighted by level
    minimum = {"prefecture": {"dispatcher": 1, "handler": 1, "reviewer": 1},
               "county": {"dispatcher": 1, "handler": 1, "reviewer": 1},
               "township": {"handler": 1}, "village": {"handler": 1}}
    base_staff = sum(sum(minimum[u["level"]].values()) for u in unit_recs)
    if staff < base_staff:
        raise ValueError(f"{staff} staff accounts too few: every unit needs at least one ({base_staff})")
    level_weight = {"prefecture": 6.0, "county": 3.0, "township": 1.0, "village": 0.0}
    weights = [level_weight[u["level"]] * rng.uniform(0.5, 1.5) for u in unit_recs]
    extra_staff = _apportion(staff - base_staff, weights)
    for u, more in zip(unit_recs, extra_staff):
        s = dict(minimum[u["level"]])
        s["handler"] = s.get("handler", 0) + more
        u["staff"] = s
    return Directory(places, unit_recs, depts, {"name": name, "source": "gen_directory", "seed": seed})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bodies", type=int, default=755)
    ap.add_argument("--units", type=int, default=10_520)
    ap.add_argument("--staff", type=int, default=23_219)
    ap.add_argument("--counties", type=int, default=20)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", type=Path, default=None, help="default: var/directory/full.jsonl.gz")
    args = ap.parse_args(argv)
    out = args.out
    if out is None:
        from common.settings import DATA_DIR
        out = DATA_DIR / "directory" / "full.jsonl.gz"
    t0 = time.perf_counter()
    try:
        d = generate(args.bodies, args.units, args.staff, args.counties, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    d.dump_jsonl(out)
    c = d.counts()
    print(f"wrote {out} in {time.perf_counter() - t0:.2f}s: {c['functional_bodies']} bodies, {c['units']} units, "
          f"{c['staff_accounts']} staff accounts, {c['counties']} counties, {c['townships']} townships, "
          f"{c['villages']} villages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
